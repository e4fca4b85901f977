"""Settings travel to child processes through the environment unchanged."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from sync.settings import KafkaSecurity, Settings, Topics, as_environment


def test_the_environment_of_some_settings_reads_back_as_the_same_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nested values (topics, security) and secrets survive the round trip."""
    original = Settings(
        kafka_bootstrap_servers="127.0.0.1:19092", database_url="postgresql://u@/db?host=/s",
        topics=Topics(prefix="t1.", fiche_event="custom.events"), consumer_group="g1",
        kafka_security=KafkaSecurity(protocol="SASL_PLAINTEXT", sasl_username="sksync",
                                     sasl_password=SecretStr("s3cret")),
        http_port=0, apply_batch_size=17, ssin_secret=SecretStr("key"))
    for name, value in as_environment(original).items():
        monkeypatch.setenv(name, value)
    assert Settings() == original


def test_stages_are_named_in_flow_order_and_unknown_ones_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``SKSYNC_STAGES`` / ``sksync run --stages``: any order and spacing, stored in the
    flow's order; an unknown or empty list is a configuration error."""
    monkeypatch.delenv("SKSYNC_STAGES", raising=False)
    assert Settings().stages == "map,apply,relay"
    split = Settings(stages=" relay , apply")
    assert split.stages == "apply,relay"
    assert split.runs("apply")
    assert not split.runs("map")
    for bad in ("mop", "", "map,,sink"):
        with pytest.raises(ValidationError, match="stages are map, apply, relay"):
            Settings(stages=bad)
