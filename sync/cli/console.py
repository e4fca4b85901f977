"""``sksync console`` (the console alone) and ``sksync users add|list|remove``."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from sync.cli.common import fail, run_async, settings
from sync.ops.database import database, database_pool, owner_connection
from sync.settings import Settings
from sync.store.uow import close_pool
from sync.web.accounts import ROLES, add_account, list_accounts, remove_account

__all__ = ["console_command", "users_app"]

T = TypeVar("T")
users_app = typer.Typer(help="Local accounts of the console.", no_args_is_help=True)


def console_command(
    port: Annotated[int | None, typer.Option(help="Port (default SKSYNC_CONSOLE_PORT).")] = None,
) -> None:
    """Serve the console alone (no consumers), until stopped."""
    from sync.observability.logging import configure_logging
    from sync.store.migrate import migrate

    config = settings(**({"console_port": port} if port is not None else {}))
    configure_logging(config.log_format, config.log_level)

    async def serve() -> None:
        from sync.console.serve import console_server

        owner = await owner_connection(config)
        try:
            await migrate(owner)
        finally:
            await owner.close()
        pool = await database_pool(config, 4)
        server = console_server(config, pool)
        Console(stderr=True).print(
            f"console on http://{config.console_host}:{config.console_port}/", highlight=False)
        try:
            await server.serve()
        finally:
            await close_pool(pool)

    run_async(serve)


async def _with_conn(config: Settings, what: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    async with database(config) as conn:
        return await what(conn)


@users_app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="The account's name.")],
    role: Annotated[list[str], typer.Option(
        help=f"A role ({' or '.join(ROLES)}); repeat for both.")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input.")] = False,
) -> None:
    """Create an account, or replace the password and roles of an existing one."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    config = settings()
    try:
        run_async(lambda: _with_conn(config,
                                     lambda conn: add_account(conn, name, password, role)))
    except ValueError as error:
        fail(str(error))
    Console().print(f"account {name} ({', '.join(role)}) saved", highlight=False)


@users_app.command("list")
def list_command() -> None:
    """Every account with its roles (never a password hash)."""
    config = settings()
    accounts = run_async(lambda: _with_conn(config, list_accounts))
    table = Table("name", "roles", "created at", title="console accounts")
    for account in accounts:
        table.add_row(account.name, ", ".join(account.roles),
                      account.created_at.isoformat()[:19] if account.created_at else "")
    Console().print(table)


@users_app.command("remove")
def remove_command(name: Annotated[str, typer.Argument(help="The account's name.")]) -> None:
    """Remove an account; its sessions end at once (its audit rows stay)."""
    config = settings()
    removed = run_async(lambda: _with_conn(config,
                                           lambda conn: remove_account(conn, name)))
    if not removed:
        fail(f"no account {name}")
    Console().print(f"account {name} removed", highlight=False)
