"""What the service tells about itself: Prometheus metrics, structured logs, the health and
metrics endpoint. The lowest layer: it imports nothing of the service, so every package may
count, log and answer a probe through it."""
