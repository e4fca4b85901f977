"""What an editor's decisions share, on a conflict or a match candidate: the row the decision
is about, checked to still wait for one, and the decision published on the manual-edit topic
(the service applies it as any other update)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar

from sync.errors import DecisionRefused
from sync.ops.ids import IdProblem
from sync.ops.publish import publish_with_own_producer
from sync.settings import Settings

__all__ = ["publish_decision", "waiting"]


class Decidable(Protocol):
    """A row a decision is about."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def status(self) -> str: ...


R = TypeVar("R", bound=Decidable)


async def waiting(find: Awaitable[R | None], what: str, named: str, status: str) -> R:
    """The ``what`` (``conflict``, ``match candidate``) that ``find`` reads for the id or id
    start ``named``, if it is still ``status``; else :class:`DecisionRefused` saying why."""
    try:
        row = await find
    except IdProblem as problem:
        raise DecisionRefused(str(problem)) from None
    if row is None:
        raise DecisionRefused(f"no {what} {named}")
    if row.status != status:
        raise DecisionRefused(f"{what} {row.id} is {row.status}, not {status}")
    return row


async def publish_decision(config: Settings, event: dict[str, Any]) -> None:
    """Publish a decision's CloudEvent on the manual-edit topic."""
    await publish_with_own_producer(config, [event], config.topics.name("manual_edit"))
