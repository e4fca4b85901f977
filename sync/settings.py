"""Configuration, read from ``SKSYNC_*`` environment variables (pydantic-settings).

Nothing here connects to anything: settings are plain values that the composition root
(:mod:`sync.app`) turns into a pool, a broker and a relay.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sync import sources

__all__ = ["KafkaSecurity", "Settings", "Topics", "as_environment", "source_topic_keys"]

#: The stages of the flow, in its order.
STAGES = ("map", "apply", "relay")


def source_topic_keys() -> tuple[str, ...]:
    """The settings keys of the source topics, one per registered source (:mod:`sync.sources`)."""
    return tuple(spec.topic_key for spec in sources.specs())


class Topics(BaseModel):
    """Topic names; each can be overridden, and ``prefix`` is put before all of them.

    A source topic's default name comes from its source's entry in :mod:`sync.sources`; it is
    overridden like the others (``SKSYNC_TOPICS__KBO_ENTITY``, ``Topics(kbo_entity=...)``)."""

    model_config = {"frozen": True, "extra": "allow"}

    prefix: str = ""
    fiche_update: str = "sk.fiche.update"
    fiche_event: str = "sk.fiche.event"
    notification: str = "sk.notification"
    dlq_suffix: str = ".dlq"

    def name(self, key: str) -> str:
        """The full name of topic ``key`` (an attribute name such as ``fiche_update``, or a
        source's topic key such as ``kbo_entity``)."""
        given = getattr(self, key, None)
        if given is None:
            spec = next((s for s in sources.specs() if s.topic_key == key), None)
            if spec is None:
                raise AttributeError(f"no topic {key!r}")
            given = spec.default_topic
        return self.prefix + str(given)

    def sources(self) -> list[str]:
        """Full names of every source topic, in registration order."""
        return [self.name(key) for key in source_topic_keys()]

    def dlq(self, topic: str) -> str:
        """The dead-letter topic of ``topic``."""
        return topic + self.dlq_suffix


class KafkaSecurity(BaseModel):
    """SASL / TLS options for a real cluster; all empty for the local broker."""

    model_config = {"frozen": True}

    protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None


class Settings(BaseSettings):
    """Every knob of the service. Nested values use ``__``: ``SKSYNC_TOPICS__PREFIX``."""

    model_config = SettingsConfigDict(
        env_prefix="SKSYNC_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security: KafkaSecurity = Field(default_factory=KafkaSecurity)
    database_url: str = "postgresql://postgres@127.0.0.1:5432/sksync"
    #: The schema owner's URL, for migrations only (``sksync migrate`` and the start); the
    #: service then works as ``database_url``'s role, which cannot change the schema. Unset:
    #: migrations use ``database_url`` (docs/security.md).
    migration_database_url: str | None = None
    database_pool_size: int = 8
    topics: Topics = Field(default_factory=Topics)
    consumer_group: str = "sksync"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    ssin_secret: SecretStr = SecretStr("change-me-in-production")
    apply_batch_size: int = 500
    #: How long a poll waits for messages; an empty poll then sleeps as long again (FastStream's
    #: batch subscriber), so at a trickle this adds up to twice as much to each stage's latency.
    apply_batch_timeout_ms: int = 10
    #: What one fetch brings per partition of ``sk.fiche.update`` (about a hundred canonical
    #: updates). A batch takes whole fetched chunks, partition after partition: with a chunk
    #: smaller than a batch, a batch spans several partitions, whose transactions then run at
    #: the same time (with aiokafka's 1 MiB, a batch of 500 came from one partition).
    apply_partition_fetch_bytes: int = 128 * 1024
    relay_batch_size: int = 1000
    relay_poll_interval_s: float = 0.5
    retry_max_backoff_s: float = 30.0
    verification_period_days: int = 3 * 365
    verification_check_interval_s: float = 3600.0
    gauges_interval_s: float = 5.0
    #: Fault injection for crash tests: after this many committed apply batches, the process
    #: kills itself with SIGKILL *before* committing the Kafka offsets (0: never).
    fault_kill_after_apply_batches: int = 0
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"
    #: What this process runs, comma-separated: ``map`` (source topics to canonical updates),
    #: ``apply`` (canonical updates to PostgreSQL, with the periodic verification check) and
    #: ``relay`` (outbox to Kafka). Every stage somewhere, each as often as wanted: running them
    #: in separate processes gives each its own core and event loop (docs/scaling.md).
    stages: str = ",".join(STAGES)

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, value: str) -> str:
        named = [part.strip() for part in value.split(",") if part.strip()]
        unknown = sorted(set(named) - set(STAGES))
        if unknown or not named:
            raise ValueError(f"stages are {', '.join(STAGES)} (comma-separated), "
                             f"not {value!r}")
        return ",".join(stage for stage in STAGES if stage in named)

    def runs(self, stage: str) -> bool:
        """Whether this process runs ``stage`` (``map``, ``apply`` or ``relay``)."""
        return stage in self.stages.split(",")


def _as_text(value: object) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


def as_environment(settings: Settings) -> dict[str, str]:
    """The ``SKSYNC_*`` variables that make another process (``sksync run``, a CLI command)
    read exactly ``settings``. Holds secrets: pass it to a child process, never log it."""
    out: dict[str, str] = {}
    for name, value in settings:
        key = f"SKSYNC_{name.upper()}"
        if isinstance(value, BaseModel):
            out.update({f"{key}__{sub.upper()}": _as_text(item)
                        for sub, item in value if item is not None})
        elif value is not None:
            out[key] = _as_text(value)
    return out
