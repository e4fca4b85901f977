"""The service as a real process (``sksync run``), to kill it for real."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from sync.settings import Settings, as_environment

__all__ = ["ServiceProcesses", "service_env"]


def service_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that makes ``sksync run`` use ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKSYNC_")}
    return {**env, **as_environment(settings), "SKSYNC_LOG_FORMAT": "json", **extra}


class ServiceProcesses:
    """Starts and kills ``sksync run`` processes; their logs go to files for inspection."""

    def __init__(self, settings: Settings, logdir: Path | None = None) -> None:
        self.settings = settings
        self.logdir = logdir or Path(tempfile.gettempdir())
        self.running: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self, **extra: str) -> subprocess.Popen[bytes]:
        log = self.logdir / f"sksync-{self.settings.topics.prefix}{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as handle:
            process = subprocess.Popen(  # noqa: S603 - our own entry point
                [str(Path(sys.executable).parent / "sksync"), "run"],
                env=service_env(self.settings, **extra), stdout=handle, stderr=handle)
        self.running.append(process)
        return process

    def wait_exit(self, process: subprocess.Popen[bytes], timeout: float) -> int:
        """Wait (bounded) for ``process`` to end by itself; its exit code."""
        return process.wait(timeout=timeout)

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)

    def stop(self, process: subprocess.Popen[bytes], timeout: float = 30) -> int:
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout=timeout)

    def kill_all(self) -> None:
        for process in self.running:
            self.kill(process)

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON lines the processes wrote, in order."""
        return [json.loads(line) for line in self.log_text().splitlines()
                if line.startswith("{")]
