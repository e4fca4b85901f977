"""Where the service's time goes: py-spy samples the ``sksync run`` process during the initial
load (``--profile``), and the collapsed stacks are summed per function and per stage.

Idle samples are recorded too (``--idle``): the service's thread waiting in the event loop's
``select()`` for the database or the broker is where a loop that waits for round trips spends
its time, and a profile without it would show only the busy part."""

from __future__ import annotations

import collections
import contextlib
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["Sampler", "summarize"]

#: A frame in these files belongs to that stage (the innermost one found wins).
STAGES = (("relay", "sync/producers/relay.py"), ("apply", "sync/consumers/apply.py"),
          ("map", "sync/consumers/source.py"), ("map+apply", "sync/consumers/map_apply.py"))


class Sampler:
    """``py-spy record`` attached to a running process (a no-op without py-spy)."""

    def __init__(self, pid: int, output: Path, rate: int = 100) -> None:
        self.output = output
        self._process: subprocess.Popen[bytes] | None = None
        spy = str(Path(sys.executable).parent / "py-spy")
        if not Path(spy).exists():
            spy = shutil.which("py-spy") or ""
        if not spy:
            return
        self._process = subprocess.Popen(  # noqa: S603 - a fixed command line
            [spy, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw",
             "--output", str(output), "--nonblocking", "--idle"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @property
    def active(self) -> bool:
        return self._process is not None

    def stop(self, timeout: float = 30) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(10)


def summarize(raw: Path, top: int = 25) -> dict[str, Any]:
    """Self time per function and total time per stage, in % of samples, from collapsed
    stacks (``frame;frame;... count``)."""
    own: collections.Counter[str] = collections.Counter()
    stages: collections.Counter[str] = collections.Counter()
    total = 0
    with contextlib.suppress(OSError):
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            samples = int(count)
            frames = stack.split(";")
            if frames and _parked(frames[-1]):
                continue
            if frames and "select" in frames[-1] and "selectors" in frames[-1]:
                own["(idle: waiting in the event loop)"] += samples
                stages["idle"] += samples
                total += samples
                continue
            total += samples
            own[_short(frames[-1])] += samples
            stage = "other"
            for frame in reversed(frames):
                found = next((name for name, path in STAGES if path in frame), None)
                if found:
                    stage = found
                    break
            stages[stage] += samples
    if not total:
        return {}
    return {
        "samples": total,
        "stages_pct": {k: round(100 * v / total, 1) for k, v in stages.most_common()},
        "top_self_pct": [(name, round(100 * v / total, 1)) for name, v in own.most_common(top)],
    }


def _parked(frame: str) -> bool:
    """Whether the innermost frame is a thread of the default executor waiting for work
    (sampled too with ``--idle``): not the service's loop, so left out of the shares."""
    name = frame.partition(" (")[0]
    return (name.rpartition(".")[2] == "wait" and "threading.py" in frame) or (
        name == "_worker" and "futures/thread.py" in frame)


def _short(frame: str) -> str:
    """``function (path/to/file.py:123)`` -> ``function (file.py)``."""
    name, _, place = frame.partition(" (")
    path = place.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({'/'.join(path.split('/')[-2:])})"
