"""What the service's logs say while the broker starts (the logs of a real process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SCRIPT = """
import logging, sys
from aiokafka.errors import GroupCoordinatorNotAvailableError, KafkaConnectionError
from sync.observability.logging import configure_logging
configure_logging("json", sys.argv[1])
log = logging.getLogger("aiokafka.consumer.group_coordinator")
# The very calls aiokafka makes when a coordinator lookup fails:
log.error("Group Coordinator Request failed: %s", GroupCoordinatorNotAvailableError())
log.error("Group Coordinator Request failed: %s", KafkaConnectionError("broker gone"))
"""


def logged(level: str) -> list[dict[str, str]]:
    """The JSON log lines of a process configured at ``level`` that hits both failures."""
    done = subprocess.run([sys.executable, "-c", SCRIPT, level], capture_output=True,  # noqa: S603 -- our own script
                          text=True, timeout=60, check=True)
    return [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]


def test_a_coordinator_not_yet_available_at_start_up_is_an_info_line_not_an_error() -> None:
    """GroupCoordinatorNotAvailableError is retried by aiokafka: a calm line saying so."""
    first, second = logged("INFO")
    assert first["level"] == "info"
    assert "waiting for the consumer group's coordinator" in first["event"]
    assert "GroupCoordinatorNotAvailableError" in first["event"]
    assert second["level"] == "error"  # other lookup failures stay errors
    assert "broker gone" in second["event"]


@pytest.mark.parametrize("level", ["WARNING", "ERROR"])
def test_above_info_the_coordinator_wait_is_not_shown_at_all(level: str) -> None:
    [only] = logged(level)
    assert only["level"] == "error"
    assert "broker gone" in only["event"]
