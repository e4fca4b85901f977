"""``sksync stack``: ``up``, ``down``, ``env`` and ``status`` of the local stack.

``stack up`` prints only the ``export`` lines on stdout, so ``eval "$(sksync stack up)"`` works.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from devstack.endpoints import ENV_DATABASE_URL, ENV_KAFKA_BOOTSTRAP_SERVERS, ENV_STACK_DIR
from devstack.opensearch import start_search
from devstack.procs import StackError, say
from devstack.stack import LocalStack

__all__ = [
    "down_command",
    "env_command",
    "stack_app",
    "status_command",
    "up_command",
]

# ----------------------------------------------------------------------------------------- CLI

stack_app = typer.Typer(
    help=(
        "Local Kafka broker + embedded PostgreSQL for development and tests (no Docker). "
        f"Lives in <repo>/.stack (or ${ENV_STACK_DIR}); ${ENV_KAFKA_BOOTSTRAP_SERVERS} / "
        f"${ENV_DATABASE_URL}, when set, replace the local component."
    ),
    no_args_is_help=True,
    add_completion=False,
)

_StackDirOption = Annotated[
    Path | None,
    typer.Option("--stack-dir", help=f"Stack folder [default: ${ENV_STACK_DIR} or <repo>/.stack]"),
]


def _fail(exc: BaseException) -> typer.Exit:
    message = str(exc) if isinstance(exc, StackError) else f"{type(exc).__name__}: {exc}"
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


@stack_app.command("up")
def up_command(
    stack_dir: _StackDirOption = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for readiness.")] = 180,
    brokers: Annotated[int | None, typer.Option(
        help="Kafka brokers: 1, or 3 (a KRaft quorum; topics with 3 replicas, "
             "min.insync.replicas 2) [default: what the folder holds, else 1]")] = None,
    search: Annotated[bool, typer.Option(help="Also a local OpenSearch node.")] = False,
) -> None:
    """Start the stack (detached) and print the `export` lines once it is ready."""
    try:
        stack = LocalStack(stack_dir, brokers=brokers)
    except StackError as exc:
        raise _fail(exc) from None
    try:
        endpoints = stack.up(timeout=timeout)
        if search:
            start_search(stack.stack_dir, stack.env_file, timeout)
    except Exception as exc:  # one line on stderr, exit 1, no traceback
        raise _fail(exc) from None
    for line in stack.env_file.read_text().splitlines()[1:] if search else endpoints.env_lines():
        typer.echo(line)


@stack_app.command("down")
def down_command(
    stack_dir: _StackDirOption = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait per server.")] = 30,
) -> None:
    """Stop the servers a previous `up` started."""
    try:
        LocalStack(stack_dir).down(timeout=timeout)
    except Exception as exc:  # one line on stderr, exit 1, no traceback
        raise _fail(exc) from None
    say("stack down")


@stack_app.command("env")
def env_command(stack_dir: _StackDirOption = None) -> None:
    """Print the env file of the running stack (for `eval`/`source`)."""
    stack = LocalStack(stack_dir)
    try:
        text = stack.env_file.read_text()
    except OSError:
        raise _fail(StackError(f"no {stack.env_file}: run `stack up` first")) from None
    typer.echo(text, nl=False)


@stack_app.command("status")
def status_command(stack_dir: _StackDirOption = None) -> None:
    """Show what runs; exit 1 when the stack is not (fully) up."""
    stack = LocalStack(stack_dir)
    state = stack.state()
    if state is None:
        raise _fail(StackError(f"stack is down (no {stack.state_file})"))
    rows = (
        ("kafka", stack.kafka.pid, state.get("kafka") or {}, "bootstrap"),
        ("postgres", stack.postgres.pid, state.get("postgres") or {}, "database_url"),
    )
    for name, pid, info, key in rows:
        if not info.get("managed"):
            status = "external"
        else:
            status = f"running (pid {pid})" if pid is not None else "NOT RUNNING"
        typer.echo(f"{name:9} {status:22} {info.get(key)}")
    if not stack.is_up():
        raise typer.Exit(code=1)
