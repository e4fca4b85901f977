"""Running ``sksync`` commands in tests, as a person would, with a test's settings."""

from __future__ import annotations

import asyncio

from click.testing import Result
from typer.testing import CliRunner

from sync.cli.main import build_app
from sync.settings import Settings
from tests.support.process import service_env

__all__ = ["sksync"]


async def sksync(settings: Settings, *args: str, columns: int = 250) -> Result:
    """``sksync ARGS`` with this test's settings, in a terminal ``columns`` wide; in a thread,
    as the CLI runs its own loop."""
    env = {k: v for k, v in service_env(settings).items() if k.startswith("SKSYNC_")}
    env["COLUMNS"] = str(columns)
    return await asyncio.to_thread(lambda: CliRunner().invoke(build_app(), list(args), env=env))
