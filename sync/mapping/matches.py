"""Editors' decisions on matching (``sk.src.manual.edit``) to canonical updates.

Three event types, published by ``sksync matches accept|reject`` and ``sksync fiche split``
(or by the directory's application): a match candidate accepted or rejected, and a wrong link
undone. Like every manual event they carry no ``sourceVersion``: the event time orders them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import Field

from sync.cloudevents import CloudEvent
from sync.errors import PermanentError
from sync.events import (
    FicheKind,
    FicheUpdate,
    MatchDecision,
    Source,
    SplitRequest,
    UpdateAction,
)
from sync.mapping.common import Inbound, MappingContext, origin_of, parse_data, update_id_of

__all__ = ["TYPE_ACCEPTED", "TYPE_REJECTED", "TYPE_SPLIT", "map_match_event"]

TYPE_ACCEPTED = "be.socialekaart.match.accepted"
TYPE_REJECTED = "be.socialekaart.match.rejected"
TYPE_SPLIT = "be.socialekaart.fiche.split"
AUTOMATED = {s.value: s for s in Source if s not in (Source.MANUAL, Source.PROVIDER)}


class Decider(Inbound):
    id: str = Field(min_length=1, max_length=200)


class MatchDecided(Inbound):
    match_id: uuid.UUID = Field(alias="matchId")
    editor: Decider | str


class FicheSplit(Inbound):
    fiche_id: uuid.UUID = Field(alias="ficheId")
    source: Literal["cobrha", "kbo", "association"]
    record_id: str = Field(alias="recordId", min_length=1, max_length=200)
    editor: Decider | str


def map_match_event(event: CloudEvent, context: MappingContext) -> FicheUpdate:
    """Map a match decision or a split to a canonical update."""
    if event.type in (TYPE_ACCEPTED, TYPE_REJECTED):
        return _decided(event)
    if event.type == TYPE_SPLIT:
        return _split(event)
    raise PermanentError("unknown-type", f"unknown event type {event.type[:80]!r}")


def _editor(editor: Decider | str) -> str:
    name = editor if isinstance(editor, str) else editor.id
    if not name.strip():
        raise PermanentError("schema-invalid", "data: editor")
    return name.strip()[:200]


def _decided(event: CloudEvent) -> FicheUpdate:
    """The subject, when it names the candidate fiche, keys the update like that fiche's
    other updates; the decision itself names its candidate."""
    data = parse_data(MatchDecided, event)
    decision = MatchDecision(match_id=data.match_id,
                             decision="accept" if event.type == TYPE_ACCEPTED else "reject",
                             editor=_editor(data.editor))
    return _update(event, f"match:{data.match_id}", UpdateAction.MATCH,
                   fiche_id=_fiche_of(event.subject), match_decision=decision)


def _split(event: CloudEvent) -> FicheUpdate:
    data = parse_data(FicheSplit, event)
    split = SplitRequest(source=AUTOMATED[data.source], record_id=data.record_id,
                         editor=_editor(data.editor))
    return _update(event, f"split:{data.fiche_id}", UpdateAction.SPLIT, fiche_id=data.fiche_id,
                   split=split)


def _fiche_of(subject: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(subject) if subject else None
    except ValueError:
        return None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _update(
    event: CloudEvent, record_id: str, action: UpdateAction, *, fiche_id: uuid.UUID | None,
    match_decision: MatchDecision | None = None, split: SplitRequest | None = None,
) -> FicheUpdate:
    if event.time is None:
        raise PermanentError("schema-invalid", "a manual event must carry its time")
    at = event.time if event.time.tzinfo else event.time.replace(tzinfo=UTC)
    # The kind is not checked for a decision: the candidate or the split names its fiche.
    return FicheUpdate(
        update_id=update_id_of(event), origin=origin_of(event), source=Source.MANUAL,
        record_id=record_id, source_version=(at - _EPOCH) // timedelta(milliseconds=1),
        observed_at=at, kind=FicheKind.PERSON, action=action, fiche_id=fiche_id,
        match_decision=match_decision, split=split)
