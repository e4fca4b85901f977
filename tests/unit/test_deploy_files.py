"""The files users deploy with agree with the code."""

from __future__ import annotations

from pathlib import Path

import yaml

from sync.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_docker_compose_starts_kafka_postgres_and_the_service_with_known_settings() -> None:
    """Every SKSYNC_* variable the compose file sets is a setting the service reads."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert set(compose["services"]) == {"kafka", "postgres", "sksync"}
    assert "broker,controller" in compose["services"]["kafka"]["environment"][
        "KAFKA_PROCESS_ROLES"]
    known = {f"SKSYNC_{name.upper()}" for name in Settings.model_fields}
    used = {key for key in compose["services"]["sksync"]["environment"]}
    assert used <= known, used - known
    assert set(compose["services"]["sksync"]["depends_on"]) == {"kafka", "postgres"}
