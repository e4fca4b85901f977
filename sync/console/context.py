"""What the console's pages share: the settings, the sampler, the signed-in editor's name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request

from sync.console.live import Sampler
from sync.settings import Settings
from sync.web.app import Web, safe_next, session_of

__all__ = ["Console", "console_of", "form_from", "form_list", "who"]


@dataclass
class Console:
    """The console's collaborators, put on the app's state at start."""

    settings: Settings
    web: Web
    sampler: Sampler


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def who(request: Request) -> str:
    """The signed-in account's name: what decisions record as their editor."""
    session = session_of(request)
    assert session is not None  # the guard lets no request without one reach a page
    return session.account.name


def form_from(form: FormData) -> str:
    """The page a form was sent from (for the audit row)."""
    return safe_next(str(form.get("from", "")), "?")


def form_list(form: FormData, name: str) -> list[str]:
    """Every value of a repeated field, as text."""
    values: list[Any] = form.getlist(name)
    return [str(v) for v in values][:10_000]
