"""Fault injection for sociale-kaart-sync: ``python -m chaos.run`` (``make chaos``).

A seeded stream of mixed source events goes once through a fault-free service (the reference)
and once through ``sksync run`` processes that are SIGKILLed, rebalanced and cut off from a
restarted Kafka broker and PostgreSQL server; the two final states are then compared, and the
downstream topics, dead-letter topics and outbox are checked. See ``chaos/README.md``.
"""
