"""``sksync users add|list|remove``: the console's local accounts from the command line."""

from __future__ import annotations

import asyncio

import asyncpg
from typer.testing import CliRunner

from sync.cli.main import build_app
from sync.settings import Settings
from sync.web.accounts import check_password
from tests.support.process import service_env


async def users(settings: Settings, *args: str, stdin: str | None = None) -> tuple[int, str]:
    env = {k: v for k, v in service_env(settings).items() if k.startswith("SKSYNC_")}
    result = await asyncio.to_thread(lambda: CliRunner().invoke(
        build_app(), ["users", *args], env=env, input=stdin))
    return result.exit_code, result.output


async def test_an_account_is_added_listed_and_removed(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    """The password is read from standard input, stored hashed; the list never shows it."""
    code, out = await users(settings, "add", "els", "--role", "editor", "--role", "operator",
                            "--password-stdin", stdin="a long enough secret\n")
    assert code == 0, out
    account = await check_password(pg_conn, "els", "a long enough secret")
    assert account is not None
    assert account.roles == ("operator", "editor")
    code, out = await users(settings, "list")
    assert code == 0
    assert "els" in out
    assert "argon2" not in out
    assert (await users(settings, "remove", "els"))[0] == 0
    code, out = await users(settings, "remove", "els")
    assert code == 1
    assert "no account els" in out


async def test_an_unknown_role_or_a_short_password_is_refused(settings: Settings) -> None:
    """One line saying what is wrong; nothing is stored."""
    code, out = await users(settings, "add", "els", "--role", "admin", "--password-stdin",
                            stdin="a long enough secret\n")
    assert (code, "roles are operator and editor" in out) == (1, True)
    code, out = await users(settings, "add", "els", "--role", "editor", "--password-stdin",
                            stdin="short\n")
    assert (code, "at least 12 characters" in out) == (1, True)
