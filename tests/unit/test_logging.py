"""What the service's logs say while the broker starts or is away (the logs of a real
process): calm while it starts, each kind of library line once per window while it is away."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from sync.observability.logging import QuietRepeats

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


def _record(msg: str, *args: object, name: str = "aiokafka.conn",
            level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_a_library_line_repeated_is_printed_once_per_window_with_its_count() -> None:
    """A broker away: aiokafka's retries repeat a few lines every few milliseconds. The first
    of each kind is printed, the repeats counted, the first after the window says how many."""
    now = [0.0]
    quiet = QuietRepeats(window_s=30, clock=lambda: now[0])
    unable = "Unable connect to node with id %s: %s"
    assert quiet.filter(_record(unable, 1, "refused"))
    for step in range(1, 200):
        now[0] = step * 0.1
        assert not quiet.filter(_record(unable, 1, f"refused {step}"))
    assert quiet.filter(_record("Failed fetch messages from %s: %s", 1, "closed"))  # another kind
    assert quiet.filter(_record(unable, 1, "refused", level=logging.WARNING))  # another level
    now[0] = 30.0
    after = _record(unable, 1, "refused again")
    assert quiet.filter(after)
    assert after.getMessage() == ("Unable connect to node with id 1: refused again "
                                  "(and 199 more like it in the 30 s before)")
    now[0] = 31.0
    assert not quiet.filter(_record(unable, 1, "refused"))


def test_lines_formatted_before_logging_do_not_grow_the_filter_without_bound() -> None:
    now = [0.0]
    quiet = QuietRepeats(window_s=1, clock=lambda: now[0])
    for n in range(5000):
        now[0] = n * 0.01
        assert quiet.filter(_record(f"topic t{n} not found"))
    assert len(quiet._seen) <= 1000


def test_the_service_logs_a_burst_of_library_errors_once() -> None:
    """Through the configured handler of a real process: 500 repeats, one line."""
    script = (
        "import logging, sys\n"
        "from sync.observability.logging import configure_logging\n"
        "configure_logging('json', 'INFO')\n"
        "log = logging.getLogger('aiokafka.client')\n"
        "for n in range(500):\n"
        "    log.error('Unable to update metadata from %s', [1])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True,  # noqa: S603 -- our own script
                          text=True, timeout=60, check=True)
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert [line["event"] for line in lines] == ["Unable to update metadata from [1]"]
