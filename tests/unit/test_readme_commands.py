"""README's command table names every command ``sksync`` has: none for newcomers to miss."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from devstack.cli import stack_app
from sync.cli.main import build_app

README = Path(__file__).resolve().parents[2] / "README.md"


def commands(group: Any, prefix: str = "sksync") -> list[str]:
    """Every command, as typed (``sksync matches accept``)."""
    found = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group of commands
            found += commands(command, f"{prefix} {name}")
        elif f"{prefix} {name}" == "sksync stack":  # hands over to the development stack's app
            found += commands(typer.main.get_command(stack_app), f"{prefix} {name}")
        else:
            found.append(f"{prefix} {name}")
    return found


def test_every_command_is_in_the_readme_command_table() -> None:
    group = typer.main.get_command(build_app())
    table = "\n".join(line for line in README.read_text(encoding="utf-8").splitlines()
                      if line.startswith("| `"))
    shown = set(re.findall(r"`(sksync [a-z-]+(?: [a-z-]+)?)", table))
    shown |= {f"{first.rsplit(' ', 1)[0]} {other}"  # `sksync stack up` / `down` / `env`
              for first, others in re.findall(r"`(sksync [a-z-]+ [a-z-]+)`((?: / `[a-z-]+`)+)",
                                              table)
              for other in re.findall(r"`([a-z-]+)`", others)}
    missing = [name for name in commands(group) if name not in shown
               and not any(name.startswith(f"{s} ") for s in shown)]
    assert missing == []
