"""Conflict decisions: an editor's choice on an open conflict, checked and published.

A decision is not written to the database here: it is published as a
``be.socialekaart.conflict.resolved`` CloudEvent on the manual-edit topic, so it takes the
same path as every other update (inbox, merge rules, fiche history, downstream events). The
CLI (``sksync conflicts``, :mod:`sync.cli.conflicts`) and the console both decide through
:func:`resolve_conflict`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from sync.ops.database import database
from sync.ops.decisions import publish_decision, waiting
from sync.ops.ids import resolve_id
from sync.settings import Settings
from sync.store.conflicts import ConflictRow, conflict_by_id

__all__ = ["CLI_SOURCE", "RESOLVED_TYPE", "resolution_event", "resolve_conflict"]

RESOLVED_TYPE = "be.socialekaart.conflict.resolved"
CLI_SOURCE = "urn:socialekaart:sksync-cli"


def resolution_event(
    conflict: ConflictRow, decision: Literal["accept", "keep"], editor: str,
    source: str = CLI_SOURCE,
) -> dict[str, Any]:
    """The CloudEvent of one decision; its subject (and Kafka key) is the conflict's fiche."""
    return {
        "specversion": "1.0", "id": f"conflict-resolved-{uuid.uuid4()}", "source": source,
        "type": RESOLVED_TYPE, "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "subject": str(conflict.fiche_id), "datacontenttype": "application/json",
        "data": {"conflictId": str(conflict.id), "decision": decision, "editor": editor},
    }


async def _find(config: Settings, conflict: str) -> ConflictRow | None:
    """The conflict ``conflict`` (an id or its start names); :class:`IdProblem` if none."""
    async with database(config) as conn:
        return await conflict_by_id(conn, await resolve_id(conn, "conflict", conflict,
                                                           "conflict"))


async def resolve_conflict(
    config: Settings, conflict: str, decision: Literal["accept", "keep"], editor: str,
    source: str = CLI_SOURCE,
) -> tuple[ConflictRow, dict[str, Any]]:
    """Check that the conflict (an id or its start) is open and publish the decision (the
    CLI's and the console's one path); the service applies it. Raises
    :class:`DecisionRefused` saying why not."""
    found = await waiting(_find(config, conflict), "conflict", conflict, "open")
    event = resolution_event(found, decision, editor, source)
    await publish_decision(config, event)
    return found, event
