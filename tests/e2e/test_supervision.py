"""The relay never stops while the service runs (real Kafka and PostgreSQL): a failure it did
not foresee ends its task, and the service starts it again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY

import sync.producers.relay as relay_module
from sync.settings import Settings
from tests.support.builders import nihii, professional
from tests.support.service import fiche_event_of, running_service

pytestmark = pytest.mark.slow


async def test_a_relay_that_failed_unexpectedly_is_started_again_and_publishes(
    settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The relay's first session fails with an error its retry does not catch (a defect):
    before, the relay task ended for good and nothing reached sk.fiche.event again."""
    original = relay_module.retry_transient
    calls = 0

    async def defect_once(operation: Callable[[], Awaitable[Any]], **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a defect in the relay")
        return await original(operation, **kwargs)

    monkeypatch.setattr(relay_module, "retry_transient", defect_once)
    labels = {"task": "relay"}
    before = REGISTRY.get_sample_value("sksync_task_restarts_total", labels) or 0.0
    async with running_service(settings) as service:
        event = await fiche_event_of(settings, professional(nihii("1"), code="DENTIST"))
        assert event["data"]["snapshot"]["professions"][0]["code"] == "DENTIST"
        assert REGISTRY.get_sample_value("sksync_task_restarts_total", labels) == before + 1
        assert (await service.readiness())["tasks"] is None
