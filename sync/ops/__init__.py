"""What operators read and do, shared by the CLI, the console and the service: the status
figures and their gauges, consumer lag, topic creation, dead-letter listing and replay,
conflict and match decisions (published as events), ids as operators type them. Above the
store and the producers; below the service (:mod:`sync.app`), the console and the CLI."""
