"""The indexer's own settings (``SKSYNC_SEARCH_*``); Kafka comes from the service's settings."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from sync.settings import Settings

__all__ = ["SearchSettings", "index_group"]


class SearchSettings(BaseSettings):
    """Where the index lives and how the indexer runs: ``SKSYNC_SEARCH_URL`` etc."""

    model_config = SettingsConfigDict(env_prefix="SKSYNC_SEARCH_", extra="ignore", frozen=True)

    #: The OpenSearch node or cluster (credentials in the URL when it needs them).
    url: str = "http://127.0.0.1:9200"
    #: The alias searches use; the index behind it is ``<alias>-<n>``.
    index: str = "sociale-kaart"
    replicas: int = 0
    #: Fiche events written to OpenSearch in one bulk request (and one offset commit).
    batch_size: int = 500
    #: Port of the indexer's ``/metrics`` (0: none).
    http_port: int = 8081
    #: How often the consumer lag gauge is refreshed.
    lag_interval_s: float = 5.0


def index_group(settings: Settings) -> str:
    """The indexer's consumer group: its own, beside the service's ``.map`` and ``.apply``."""
    return f"{settings.consumer_group}.index"
