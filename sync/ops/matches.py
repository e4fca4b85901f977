"""Match review decisions and splits: checked against the database, then published.

Like a conflict decision, a review decision or a split is not written to the database here: it
is published as a CloudEvent on the manual-edit topic (``be.socialekaart.match.accepted``,
``...match.rejected``, ``be.socialekaart.fiche.split``) and applied by the service like any
other update (inbox, merge rules, fiche history, downstream events). This module only reads
the database to check the request. The CLI (``sksync matches``, ``sksync fiche split``:
:mod:`sync.cli.matches`) and the console both decide through :func:`decide_match` and
:func:`split_fiche`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from sync.errors import DecisionRefused
from sync.events import Source
from sync.mapping.matches import TYPE_ACCEPTED, TYPE_REJECTED, TYPE_SPLIT
from sync.ops.database import database
from sync.ops.decisions import publish_decision, waiting
from sync.ops.ids import IdProblem, resolve_fiche, resolve_id
from sync.settings import Settings
from sync.store.conflicts import fiche_exists
from sync.store.matching import CandidateRow, MatchStore

__all__ = ["CLI_SOURCE", "decide_match", "decision_event", "read_matches", "split_event",
           "split_fiche"]

T = TypeVar("T")
CLI_SOURCE = "urn:socialekaart:sksync-cli"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def decision_event(
    row: CandidateRow, decision: Literal["accept", "reject"], editor: str,
    source: str = CLI_SOURCE,
) -> dict[str, Any]:
    """The CloudEvent of one review decision; its subject (and key) is the candidate fiche."""
    return {
        "specversion": "1.0", "id": f"match-{decision}ed-{uuid.uuid4()}", "source": source,
        "type": TYPE_ACCEPTED if decision == "accept" else TYPE_REJECTED, "time": _now(),
        "subject": str(row.fiche_id), "datacontenttype": "application/json",
        "data": {"matchId": str(row.id), "editor": editor},
    }


def split_event(fiche_id: uuid.UUID, source: Source, record_id: str, editor: str,
                event_source: str = CLI_SOURCE) -> dict[str, Any]:
    """The CloudEvent of a split; its subject (and key) is the fiche."""
    return {
        "specversion": "1.0", "id": f"fiche-split-{uuid.uuid4()}", "source": event_source,
        "type": TYPE_SPLIT, "time": _now(), "subject": str(fiche_id),
        "datacontenttype": "application/json",
        "data": {"ficheId": str(fiche_id), "source": source.value, "recordId": record_id,
                 "editor": editor},
    }


async def read_matches(config: Settings, what: Callable[[MatchStore], Awaitable[T]]) -> T:
    """What ``what`` reads from the match store, on a connection of its own."""
    async with database(config) as conn:
        return await what(MatchStore(conn))


async def _candidate(store: MatchStore, match: str) -> CandidateRow | None:
    """The candidate ``match`` (an id or its start) names; :class:`IdProblem` if none."""
    return await store.candidate(await resolve_id(store.conn, "match_candidate", match,
                                                  "match candidate"))


async def _linked(config: Settings, fiche: str, source: Source, record_id: str,
                  ) -> tuple[uuid.UUID | None, str | None]:
    """The fiche ``fiche`` names, and None when the record can be split off it, else why not."""
    async def check(store: MatchStore) -> tuple[uuid.UUID | None, str | None]:
        try:
            fiche_id = await resolve_fiche(store.conn, fiche)
        except IdProblem as problem:
            return None, str(problem)
        if await store.link_of(fiche_id, source, record_id) is not None:
            return fiche_id, None
        exists = await fiche_exists(store.conn, fiche_id)
        return fiche_id, (f"{source.value} record {record_id} was not linked to fiche "
                          f"{fiche_id} by matching" if exists else f"no fiche {fiche_id}")
    result: tuple[uuid.UUID | None, str | None] = await read_matches(config, check)
    return result


async def decide_match(
    config: Settings, match: str, decision: Literal["accept", "reject"], editor: str,
    source: str = CLI_SOURCE,
) -> tuple[CandidateRow, dict[str, Any]]:
    """Check that the candidate (an id or its start) is pending and publish the decision (the
    CLI's and the console's one path). Raises :class:`DecisionRefused` saying why not."""
    row = await waiting(read_matches(config, lambda s: _candidate(s, match)),
                        "match candidate", match, "pending")
    event = decision_event(row, decision, editor, source)
    await publish_decision(config, event)
    return row, event


async def split_fiche(
    config: Settings, fiche: str, source: Source, record_id: str, editor: str,
    event_source: str = CLI_SOURCE,
) -> tuple[uuid.UUID, dict[str, Any]]:
    """Check that the record was linked to the fiche (an id or its start) by matching and
    publish the split (the CLI's and the console's one path). Raises
    :class:`DecisionRefused` saying why not."""
    fiche_id, problem = await _linked(config, fiche, source, record_id)
    if problem is not None or fiche_id is None:
        raise DecisionRefused(problem or f"no fiche {fiche}")
    event = split_event(fiche_id, source, record_id, editor, event_source)
    await publish_decision(config, event)
    return fiche_id, event
