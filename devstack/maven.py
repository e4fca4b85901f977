"""Fetching artifacts of a POM with Maven's dependency plugin, bounded, with a short error."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

from devstack.procs import MAVEN_DEPENDENCY_PLUGIN, StackError

__all__ = ["copy_dependencies", "maven"]

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: How long one fetch may take (a first fetch downloads a few hundred MB on a slow line).
TIMEOUT_S = 900


def maven(what: str, hint: str) -> str:
    """The ``mvn`` on PATH; none: a :class:`StackError` saying ``hint`` (what to do instead)."""
    found = shutil.which("mvn")
    if found is None:
        raise StackError(f"mvn not found on PATH: install Maven to fetch {what}, or {hint}")
    return found


def copy_dependencies(
    mvn: str, pom: Path, out: Path, what: str, options: list[str], expect: tuple[str, ...],
) -> None:
    """``copy-dependencies`` of ``pom`` into ``out``, where each glob of ``expect`` must then
    match. A failure or timeout removes ``out`` and raises a :class:`StackError` naming the
    command with the first lines Maven printed."""
    cmd = [mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(pom),
           f"{MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies", *options, f"-DoutputDirectory={out}"]
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        shutil.rmtree(out, ignore_errors=True)
        raise StackError(f"mvn did not fetch {what} within {TIMEOUT_S}s") from exc
    if result.returncode != 0 or not all(any(out.glob(glob)) for glob in expect):
        shutil.rmtree(out, ignore_errors=True)
        text = _ANSI_ESCAPE.sub("", result.stdout + result.stderr)
        output = [ln for ln in text.splitlines() if ln.strip() not in ("", "[ERROR]")][:15]
        raise StackError(
            f"mvn failed to fetch {what} (exit {result.returncode}): {shlex.join(cmd)}",
            "\n".join(f"  | {line}" for line in output) or None,
        )
