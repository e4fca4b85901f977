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
    #: How long starting a Kafka client (the producer, the subscribers) may take before it is
    #: abandoned and started afresh: a client whose first metadata came from a broker still
    #: starting (naming no broker) would otherwise wait for ever.
    kafka_start_timeout_s: float = Field(default=20.0, gt=0)
    database_url: str = "postgresql://postgres@127.0.0.1:5432/sksync"
    #: The schema owner's URL, for migrations only (``sksync migrate`` and the start); the
    #: service then works as ``database_url``'s role, which cannot change the schema. Unset:
    #: migrations use ``database_url`` (docs/security.md).
    migration_database_url: str | None = None
    database_pool_size: int = 8
    #: How long one statement of the service's pool may go unanswered before its connection
    #: is given up (and the pool's others replaced): a failover, or a firewall that dropped
    #: the connection's state, answers neither with rows nor with an error.
    database_command_timeout_s: float = Field(default=60.0, gt=0)
    topics: Topics = Field(default_factory=Topics)
    consumer_group: str = "sksync"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    ssin_secret: SecretStr = SecretStr("change-me-in-production")
    apply_batch_size: int = 500
    #: How long a poll waits for messages; an empty poll then sleeps as long again (FastStream's
    #: batch subscriber), so at a trickle this adds up to twice as much to each stage's latency.
    apply_batch_timeout_ms: int = 10
    #: What one fetch brings per partition of the topics the apply stage reads (about a hundred
    #: canonical updates on ``sk.fiche.update``; the source topics too, when the process maps
    #: and applies). A batch takes whole fetched chunks, partition after partition: with a chunk
    #: smaller than a batch, a batch spans several partitions, whose transactions then run at
    #: the same time (with aiokafka's 1 MiB, a batch of 500 came from one partition).
    apply_partition_fetch_bytes: int = 128 * 1024
    #: A batch of fewer records than this is applied in one transaction, whatever partitions it
    #: spans; a larger one in a transaction per partition, at once. The partitions'
    #: transactions overlap each other's round trips, which pays under load; each costs its
    #: own nine statements and commit, which a batch of a few events at a steady rate only
    #: waits for. 0: always per partition.
    apply_one_transaction_below: int = 64
    #: A larger batch's records of one partition are split by key over transactions of about
    #: this many (a key's records stay together, in order), which run at the same time: while
    #: some wait for the database, the service prepares the others. 0: one per partition.
    apply_records_per_transaction: int = Field(default=125, ge=0)
    #: The subscribers commit their consumers' offsets at most this often: the batches done
    #: meanwhile go in one commit. At a steady rate a batch holds an event or a few, and a
    #: commit per batch cost the broker a tenth of a core at 100 events/s. A process that
    #: dies, or a partition that moves, has at most this much delivered again, which applying
    #: again leaves as it was. 0: a commit per batch (one at a time).
    offset_commit_interval_ms: int = Field(default=200, ge=0)
    relay_batch_size: int = 1000
    relay_poll_interval_s: float = 0.5
    retry_max_backoff_s: float = 30.0
    #: Attempts at an update whose failure is not an outage yet repeats identically (a unique
    #: violation, a row-count mismatch): then the update is dead-lettered as
    #: ``repeated-failure`` rather than stall its partition. Outages are waited out for ever.
    retry_max_attempts_deterministic: int = Field(default=10, ge=2)
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
    #: When this process maps *and* applies, it applies the updates it maps itself (one hop,
    #: :mod:`sync.consumers.map_apply`) and writes nothing to ``sk.fiche.update``; with this set
    #: it writes them there too, as an audit stream (marked copies the apply stage skips).
    audit_updates: bool = False
    #: ``local`` on the project's own stack (``sksync stack env``, the demo, the tests, the
    #: benchmark and the chaos runs): only there may the SSIN key be the public default and
    #: topics have fewer than three replicas. Anything else is ``production``, where the start
    #: refuses such a configuration with one line (:mod:`sync.startup`).
    environment: Literal["production", "local"] = "production"
    #: Partitions of each topic the service creates; existing topics are left as they are.
    topic_partitions: int = Field(default=3, ge=1)
    #: Replicas of each topic the service creates: at least 3 in production. In the local
    #: environment it is capped at the number of brokers (1 on the single-node stack).
    topic_replication_factor: int = Field(default=3, ge=1)
    #: ``min.insync.replicas`` of each topic the service creates: at least 2 in production, so
    #: that an acknowledged write survives the loss of a broker. Capped like the replicas.
    topic_min_insync_replicas: int = Field(default=2, ge=1)

    #: The console (web pages for operators and editors, docs/console.md): served by
    #: ``sksync run`` on its own port when enabled, or alone by ``sksync console``.
    console_enabled: bool = False
    console_host: str = "127.0.0.1"
    console_port: int = 8081
    #: A console session ends after this long without a request, and in any case after
    #: ``console_session_max_hours``.
    console_session_idle_minutes: int = 30
    console_session_max_hours: int = 12
    #: Send the session cookie over HTTPS only: set it when a TLS proxy is in front.
    console_secure_cookies: bool = False
    #: How often the operators' page samples lag, event age and readiness.
    console_sample_interval_s: float = 10.0
    #: Sign-in through an OpenID Connect provider as well, when an issuer is set: the
    #: console's client id and secret there, the claim that lists a person's console roles
    #: (``operator``, ``editor``), and the console's public address (its callback is
    #: ``<public url>/oidc/callback``; default ``http://console_host:console_port``).
    console_oidc_issuer: str | None = None
    console_oidc_client_id: str | None = None
    console_oidc_client_secret: SecretStr | None = None
    console_oidc_roles_claim: str = "roles"
    console_public_url: str | None = None

    #: The provider pages (a provider keeps their own fiche, docs/providers.md): served by
    #: ``sksync run`` on their own port when enabled.
    provider_enabled: bool = False
    provider_host: str = "127.0.0.1"
    provider_port: int = 8082
    #: The provider pages' address as providers reach it (``https://...``): sign-in links in
    #: mails and the link in VerificationDue notices. Unset: no link in the notices, and mails
    #: link to ``http://provider_host:provider_port``.
    provider_public_url: str | None = None
    #: A sign-in link works once, within this many minutes.
    provider_link_minutes: int = 30
    provider_session_idle_minutes: int = 30
    provider_session_max_hours: int = 8
    #: Sign-in links asked within a window of ``provider_limit_window_minutes``: at most this
    #: many per identifier, per e-mail address, and per client (IP address).
    provider_limit_window_minutes: int = 15
    provider_limit_per_identifier: int = 3
    provider_limit_per_address: int = 3
    provider_limit_per_client: int = 20
    #: Proxies whose ``X-Forwarded-For`` names the client (comma-separated addresses, ``*``
    #: for any): behind a proxy, the limit per client must count the browser, not the proxy.
    provider_trusted_proxies: str = "127.0.0.1"
    #: How sign-in mails leave: ``smtp`` (``provider_smtp_*``) or ``file`` (appended to
    #: ``provider_mail_file`` as JSON Lines: a local outbox for development and tests).
    provider_mail: Literal["smtp", "file"] = "smtp"
    provider_mail_file: str = ".provider-outbox.jsonl"
    provider_mail_from: str = "Sociale Kaart <noreply@socialekaart.be>"
    provider_smtp_host: str = "127.0.0.1"
    provider_smtp_port: int = 25
    provider_smtp_starttls: bool = False
    provider_smtp_username: str | None = None
    provider_smtp_password: SecretStr | None = None
    #: Send the provider session cookie over HTTPS only: set it when a TLS proxy is in front.
    provider_secure_cookies: bool = False
    #: Sign-in by OpenID Connect as well, when an issuer is set (its discovery document at
    #: ``ISSUER/.well-known/openid-configuration``). ``provider_oidc_claims``: which ID token
    #: claims carry the number, as ``claim=kind`` pairs, comma-separated, first found wins;
    #: kind ``nihii``, ``cbe`` or ``establishment``.
    provider_oidc_issuer: str | None = None
    provider_oidc_client_id: str | None = None
    provider_oidc_client_secret: SecretStr | None = None
    provider_oidc_scope: str = "openid"
    provider_oidc_claims: str = "nihii=nihii,cbe=cbe,establishment=establishment"

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

    @property
    def one_hop(self) -> bool:
        """Whether this process applies what it maps itself, with no hop through Kafka."""
        return self.runs("map") and self.runs("apply")

    # -- the outbox relay: size limit, inbox retention, lock ---------------------------------
    #: An event whose published JSON would pass this many bytes is written parked, not sent
    #: (docs/architecture.md): the broker's default ``message.max.bytes`` less headroom for key,
    #: headers and framing. Keep it below the limit of the topics the relay writes to.
    outbox_max_event_bytes: int = Field(default=1_000_000, ge=1024)
    #: Inbox rows (what was applied, for deduplication) are deleted this long after they were
    #: written: a source event redelivered later is no longer recognised by its id, only by its
    #: ``sourceVersion`` (docs/architecture.md, "Retention").
    inbox_retention_days: float = Field(default=30.0, gt=0)
    #: How often the relaying process deletes inbox rows past retention, and at most how many
    #: rows one delete statement takes (each is its own short transaction).
    retention_interval_s: float = Field(default=300.0, gt=0)
    retention_batch_size: int = Field(default=5000, ge=1)
    #: The relay's database session ends when it has said nothing for this long (its server
    #: side ``idle_session_timeout``, TCP keepalives and user timeout, and its command timeout):
    #: a relaying process that hangs, freezes or loses its network then releases the relay
    #: lock within about this time, and another instance takes over.
    relay_session_timeout_s: float = Field(default=15.0, ge=2)


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
