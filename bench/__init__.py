"""The benchmark of ``make bench``: the service against the limits of its tools and against
Kafka Connect, on the same local Kafka and PostgreSQL. Run ``python -m bench.run --help``."""
