"""The events this service emits, built from a merge decision. Pure.

Fiche events carry the public snapshot only: identifiers that are protected (the SSIN hash)
and fields that are not public never leave the service.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import JsonValue

from sync.events import (
    EventOrigin,
    FicheLinkedData,
    FicheUnlinkedData,
    FicheUpdate,
    Identifier,
    NotificationData,
    derived_id,
)
from sync.merge import Decision, Notification

__all__ = [
    "FICHE_SOURCE", "Emitted", "edit_refused", "emitted_events", "envelope", "fiche_linked",
    "fiche_unlinked", "match_review_needed", "public_identifiers",
]

FICHE_SOURCE = "urn:socialekaart:sksync"
PROTECTED_IDENTIFIERS = frozenset({"SSIN", "SSIN-HASH"})


@dataclass(frozen=True)
class Emitted:
    """One outbox row: which logical topic, key, stable event id and the CloudEvent."""

    topic: Literal["fiche_event", "notification"]
    key: str
    event_id: uuid.UUID
    document: dict[str, Any]


def public_identifiers(identifiers: list[Identifier]) -> tuple[Identifier, ...]:
    return tuple(sorted(
        (i for i in identifiers if i.type not in PROTECTED_IDENTIFIERS),
        key=lambda i: (i.type, i.value),
    ))


def emitted_events(
    decision: Decision, update: FicheUpdate, identifiers: list[Identifier], now: datetime,
) -> list[Emitted]:
    """The fiche event of the new version (if any) and every notification."""
    out = [_notification(n, decision, update, now) for n in decision.notifications]
    if decision.event_type is not None:
        out.insert(0, _fiche_event(decision, update, identifiers, now))
    return out


def _fiche_event(
    decision: Decision, update: FicheUpdate, identifiers: list[Identifier], now: datetime,
) -> Emitted:
    state = decision.state
    fiche = str(state.fiche_id)
    event_id = derived_id("fiche-event", fiche, str(state.version))
    # Built from the fiche's state, which is valid already: neither validated again nor passed
    # through the model's serializer, the document is written as FicheEventData's by_alias
    # JSON dump gives it, key for key and in its order (tests/unit/test_emitted.py checks it).
    # The snapshot (the visible values: JSON, as merged) goes in as it is.
    data: dict[str, Any] = {
        "ficheId": fiche, "version": state.version, "kind": state.kind.value,
        "status": state.status, "inactiveReason": state.inactive_reason,
        "changedFields": list(decision.changed_fields),
        "snapshot": dict(sorted(state.visible.items())),
        "identifiers": [{"type": i.type, "value": i.value}
                        for i in public_identifiers(identifiers)],
        "cause": update.origin.model_dump(mode="json", by_alias=True),
    }
    return Emitted("fiche_event", fiche, event_id,
                   envelope(event_id, f"be.socialekaart.fiche.{decision.event_type}", fiche,
                            data, now))


def _notification(
    notice: Notification, decision: Decision, update: FicheUpdate, now: datetime,
) -> Emitted:
    fiche_id = decision.state.fiche_id
    data = NotificationData(
        fiche_id=fiche_id, field=notice.field, message=notice.message,
        conflict_id=notice.conflict_id, candidate=notice.candidate, current=notice.current,
        source=notice.source, editor=notice.editor, cause=update.origin,
    )
    return Emitted("notification", str(fiche_id), notice.id,
                   envelope(notice.id, f"be.socialekaart.notification.{notice.type}",
                             str(fiche_id), data.model_dump(mode="json", by_alias=True), now))


def envelope(
    event_id: uuid.UUID, type_: str, subject: str, data: dict[str, JsonValue], now: datetime,
) -> dict[str, Any]:
    """A CloudEvent document emitted by this service."""
    return {
        "specversion": "1.0", "id": str(event_id), "source": FICHE_SOURCE, "type": type_,
        "time": now.isoformat().replace("+00:00", "Z"), "subject": subject,
        "datacontenttype": "application/json", "data": data,
    }


REFUSABLE_TYPES = frozenset({"be.socialekaart.fiche.edited", "be.socialekaart.fiche.created"})


def edit_refused(
    event_type: str, event_id: str, data: Any, reason: str, detail: str, now: datetime,
) -> Emitted | None:
    """The ``edit-refused`` notification telling an editor why a hand edit was not taken."""
    if event_type not in REFUSABLE_TYPES or not isinstance(data, dict):
        return None
    raw_fiche, editor = data.get("ficheId"), data.get("editor")
    try:
        fiche_id = uuid.UUID(str(raw_fiche)) if raw_fiche else None
    except ValueError:
        fiche_id = None
    editor_id = editor.get("id") if isinstance(editor, dict) else None
    notice_id = derived_id("edit-refused", event_id)
    body = NotificationData(
        fiche_id=fiche_id, message=f"edit refused ({reason}): {detail}",
        editor=str(editor_id)[:100] if editor_id else None)
    subject = str(fiche_id) if fiche_id else event_id[:100]
    return Emitted("notification", subject, notice_id,
                   envelope(notice_id, "be.socialekaart.notification.edit-refused", subject,
                            body.model_dump(mode="json", by_alias=True), now))


def fiche_linked(
    record: FicheUpdate, fiche_id: uuid.UUID, version: int, identifiers: list[Identifier],
    *, score: float | None, match_id: uuid.UUID | None, decided_by: str, cause: EventOrigin,
    now: datetime,
) -> Emitted:
    """``be.socialekaart.fiche.linked``: the source record of ``record`` now describes the fiche
    (by the matcher, ``decided_by`` ``auto``, or by an editor). One per (fiche, record)."""
    event_id = derived_id("fiche-linked", str(fiche_id), record.source.value, record.record_id,
                          str(version))
    data = FicheLinkedData(
        fiche_id=fiche_id, version=version, source=record.source, record_id=record.record_id,
        identifiers=public_identifiers(identifiers), score=score, match_id=match_id,
        decided_by=decided_by, cause=cause)
    return Emitted("fiche_event", str(fiche_id), event_id,
                   envelope(event_id, "be.socialekaart.fiche.linked", str(fiche_id),
                            data.model_dump(mode="json", by_alias=True), now))


def fiche_unlinked(
    data: FicheUnlinkedData, now: datetime,
) -> Emitted:
    """``be.socialekaart.fiche.unlinked``: a wrong link undone (``sksync fiche split``)."""
    event_id = derived_id("fiche-unlinked", str(data.fiche_id), data.source.value,
                          data.record_id, str(data.version))
    body = data.model_copy(update={"identifiers": public_identifiers(list(data.identifiers))})
    return Emitted("fiche_event", str(data.fiche_id), event_id,
                   envelope(event_id, "be.socialekaart.fiche.unlinked", str(data.fiche_id),
                            body.model_dump(mode="json", by_alias=True), now))


def match_review_needed(
    record: FicheUpdate, candidates: list[dict[str, Any]], display: str, now: datetime,
) -> Emitted:
    """The ``match-review-needed`` notification: a record may be a fiche an editor must
    confirm (``sksync matches accept|reject``). ``candidates``: matchId, ficheId, score."""
    notice_id = derived_id("match-review", str(record.update_id))
    fiche_id = uuid.UUID(str(candidates[0]["ficheId"]))
    body = NotificationData(
        fiche_id=fiche_id,
        message=(f"{record.source.value} record {record.record_id} ({display[:80]}) may be "
                 f"{'this fiche' if len(candidates) == 1 else f'one of {len(candidates)} fiches'}"
                 ": please review"),
        candidate={"recordId": record.record_id, "matches": candidates},
        source=record.source.value, cause=record.origin)
    return Emitted("notification", str(fiche_id), notice_id,
                   envelope(notice_id, "be.socialekaart.notification.match-review-needed",
                            str(fiche_id), body.model_dump(mode="json", by_alias=True), now))
