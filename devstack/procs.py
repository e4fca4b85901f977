"""Shared helpers of the local stack: its error, ports, processes, pid and state files.

Every wait is bounded; progress goes to stderr, so stdout stays for ``export`` lines.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

from devstack.endpoints import ENV_STACK_DIR

__all__ = [
    "CACHE_NAME",
    "MAVEN_DEPENDENCY_PLUGIN",
    "StackError",
    "cache_home",
    "default_stack_dir",
    "file_lock",
    "free_port",
    "java_binary",
    "port_accepts",
    "port_is_free",
    "proc_cmdline",
    "process_alive",
    "read_json",
    "read_pid",
    "repo_root",
    "run_coro",
    "say",
    "tail",
    "terminate",
    "wait_gone",
    "write_atomic",
]

MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
CACHE_NAME = "sociale-kaart-sync"
_T = TypeVar("_T")


class StackError(RuntimeError):
    """A local stack component could not be fetched, started or stopped.

    ``str(error)`` is a one-line summary, followed by ``detail`` (for instance the last lines of a
    server log) on the next lines when there is one.
    """

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message if not self.detail else f"{self.message}\n{self.detail}"


def say(message: str) -> None:
    """A progress line on stderr (stdout is kept for ``export`` lines)."""
    print(f"[stack] {message}", file=sys.stderr, flush=True)


def repo_root() -> Path:
    """The checkout this module lives in (the folder holding ``sync/`` and ``deploy/``)."""
    return Path(__file__).resolve().parents[1]


def default_stack_dir() -> Path:
    """``$SKSYNC_STACK_DIR`` when set, else ``<repo>/.stack``."""
    override = os.environ.get(ENV_STACK_DIR)
    return Path(override).expanduser().absolute() if override else repo_root() / ".stack"


def cache_home() -> Path:
    """``$XDG_CACHE_HOME``, else ``~/.cache``: where fetched jars and servers are kept."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) if xdg else Path.home() / ".cache"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    """Whether nothing listens on ``port`` of 127.0.0.1 (a bind succeeds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def port_accepts(port: int) -> bool:
    """Whether something accepts connections on ``port`` of 127.0.0.1."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def proc_cmdline(pid: int) -> str:
    """The command line of process ``pid`` (empty when it cannot be read)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def process_alive(pid: int, marker: str | None = None) -> bool:
    """Whether process ``pid`` runs (zombies count as gone).

    With ``marker``, the process's command line must also contain it, which guards against a pid
    recycled by an unrelated process.
    """
    if pid <= 0:
        return False
    stat_file = Path(f"/proc/{pid}/stat")
    if stat_file.parent.parent.is_dir() and Path("/proc/self").exists():
        try:
            stat = stat_file.read_text()
        except OSError:
            return False
        # "pid (comm) S ...": the state follows the last ')'; comm may contain spaces or ')'.
        if stat[stat.rfind(")") + 2 :].startswith(("Z", "X")):
            return False
    else:  # no procfs: fall back to signal 0
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
    return marker is None or marker in proc_cmdline(pid)


def wait_gone(pid: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """Whether ``pid`` (or ``proc``, when given) exited within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None:
            if proc.poll() is not None:
                return True
        elif not process_alive(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def terminate(
    pid: int,
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
    first_signal: signal.Signals = signal.SIGTERM,
) -> None:
    """Send ``first_signal``, wait up to ``timeout`` s, then SIGKILL and wait up to 10 s more."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, first_signal)
    if wait_gone(pid, timeout, proc):
        return
    say(f"pid {pid} ignored {first_signal.name} for {timeout:g}s, sending SIGKILL")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if not wait_gone(pid, 10, proc):
        raise StackError(f"process {pid} survived SIGKILL")


def tail(path: Path, lines: int = 30, start: int = 0) -> str:
    """The last ``lines`` lines of ``path`` from byte offset ``start`` (reads at most 64 KiB)."""
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(start, size - 65536))
            text = fh.read().decode(errors="replace")
    except OSError:
        return f"(no log at {path})"
    picked = text.splitlines()[-lines:]
    return "\n".join(f"  | {line}" for line in picked) if picked else f"(empty log {path})"


def run_coro(factory: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run a coroutine to completion from synchronous code, even when a loop is running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    # Called from inside an event loop (e.g. an async test calling start() directly): run the
    # coroutine on a fresh loop in a worker thread. This blocks the caller's loop meanwhile;
    # async callers should prefer ``await asyncio.to_thread(component.start)``.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (made if missing) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; ``None`` when missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_pid(path: Path) -> int | None:
    """The pid written first in ``path``; ``None`` when there is none."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


# ------------------------------------------------------------------------------------ Kafka jars


def java_binary() -> str:
    """The ``java`` to run: ``$JAVA_HOME/bin/java``, else the one on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise StackError(
            "java not found on PATH: the local Kafka broker needs a Java 17+ runtime "
            "(install a JRE, or set JAVA_HOME)"
        )
    return java
