"""The files users deploy with agree with the code."""

from __future__ import annotations

from pathlib import Path

import yaml

from sync.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_docker_compose_starts_kafka_postgres_and_the_service_with_known_settings() -> None:
    """Every SKSYNC_* variable the compose file sets is a setting the service reads."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert set(compose["services"]) == {"kafka", "postgres", "sksync", "opensearch",
                                        "sksync-index"}
    assert "broker,controller" in compose["services"]["kafka"]["environment"][
        "KAFKA_PROCESS_ROLES"]
    known = {f"SKSYNC_{name.upper()}" for name in Settings.model_fields}
    used = {key for key in compose["services"]["sksync"]["environment"]}
    assert used <= known, used - known
    assert set(compose["services"]["sksync"]["depends_on"]) == {"kafka", "postgres"}


def test_docker_compose_runs_the_search_indexer_against_its_opensearch() -> None:
    """The indexer reads only Kafka and writes to the compose file's OpenSearch, with known
    settings; the engine is single-node without the security plugin, like the local stack's."""
    from sync.search.settings import SearchSettings

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    engine, indexer = services["opensearch"], services["sksync-index"]
    assert engine["image"].startswith("opensearchproject/opensearch:2.19")
    assert engine["environment"]["discovery.type"] == "single-node"
    assert indexer["command"] == ["sksync", "index"]
    assert set(indexer["depends_on"]) == {"kafka", "opensearch"}
    known = {f"SKSYNC_{name.upper()}" for name in Settings.model_fields} | {
        f"SKSYNC_SEARCH_{name.upper()}" for name in SearchSettings.model_fields}
    assert set(indexer["environment"]) <= known
    assert indexer["environment"]["SKSYNC_SEARCH_URL"] == "http://opensearch:9200"
