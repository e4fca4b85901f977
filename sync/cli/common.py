"""What every ``sksync`` command shares: settings read once, an error as one line and exit 1,
and a coroutine run with the errors an operator can act on reported, not traced."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import asyncpg
import typer
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from rich.console import Console

from sync.errors import TransientError
from sync.ops.status import describe
from sync.settings import Settings

__all__ = ["fail", "run_async", "run_ops", "settings"]

T = TypeVar("T")

_NO_ANSWER = "the database did not answer within SKSYNC_DATABASE_COMMAND_TIMEOUT_S"


def fail(message: str) -> NoReturn:
    """One line on stderr, exit code 1: how a bad argument or a missing service is reported."""
    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def settings(**overrides: Any) -> Settings:
    """The settings from the environment (and ``overrides``); a bad one is one line naming the
    setting and what is wrong with it."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        first = error.errors()[0]
        name = "_".join(str(part) for part in first["loc"]) or "settings"
        fail(f"bad configuration: {name}: {first['msg']}")
    except Exception as error:  # e.g. a variable that is not valid JSON where JSON is due
        fail(f"bad configuration: {str(error).splitlines()[0]}")


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    """Run the coroutine ``factory`` makes; an OS or database error, or a wait that timed out,
    is one line and exit 1."""
    async def wrapped() -> T:
        return await factory()

    try:
        return asyncio.run(wrapped())
    except TimeoutError as error:  # before OSError, of which it is one
        # asyncpg's bounds (a statement, a connection attempt) raise it without a message.
        fail(f"timed out: {str(error) or _NO_ANSWER}")
    except (OSError, asyncpg.PostgresError) as error:
        fail(f"{type(error).__name__}: {error}")


def run_ops(factory: Callable[[], Awaitable[T]]) -> T:
    """:func:`run_async`, with the broker's errors and a missing migration reported as one
    line as well."""
    async def guarded() -> T:
        try:
            return await factory()
        except (KafkaError, TransientError) as error:
            fail(f"broker: {describe(error)}")
        except asyncpg.UndefinedTableError:
            fail("the database is not migrated: run `sksync migrate`")

    return run_async(guarded)
