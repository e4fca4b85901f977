"""Survivorship and conflict rules: ``merge(state, update, policy) -> Decision``.

Pure: a fiche's state and one canonical update in, the new state and what must be written
and emitted out. The store loads the state, calls :func:`merge`, and writes the decision in
one transaction. The visible value of a field is always *derived* from provenance and pins
(never patched in place), which is what makes the result independent of arrival order.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, NamedTuple

from pydantic import JsonValue

from sync.events import (
    FicheKind,
    FicheUpdate,
    Source,
    UpdateAction,
    derived_id,
)
from sync.policy import Policy, Rule
from sync.sources import is_authentic

__all__ = [
    "Conflict",
    "Decision",
    "FicheState",
    "Notification",
    "Pin",
    "Provenance",
    "merge",
    "new_state",
]

Outcome = Literal["applied", "unchanged", "stale", "refused"]
ProvenanceKey = tuple[str, Source, str]  # (field, source, record id)


class Provenance(NamedTuple):
    """The last value one source record gave for one field. A named tuple: the merge makes one
    for every value of every update, and no immutable record is cheaper to build."""

    field: str
    source: Source
    record_id: str
    value: JsonValue
    source_version: int
    observed_at: datetime
    as_given: JsonValue = None  # the source's own text, when mapping normalised the value

    @property
    def key(self) -> ProvenanceKey:
        return (self.field, self.source, self.record_id)


@dataclass(frozen=True)
class Pin:
    """A manual edit: it beats every automated source until released."""

    field: str
    value: JsonValue
    author: str
    role: str
    reason: str | None
    pinned_at: datetime
    review_after: str | None = None


@dataclass(frozen=True)
class Conflict:
    """An automated value kept aside because a pin holds the field."""

    id: uuid.UUID
    field: str
    candidate: JsonValue
    source: Source
    record_id: str
    status: Literal["open", "kept", "closed", "accepted"] = "open"


@dataclass(frozen=True)
class Notification:
    """A message for editors, emitted on ``sk.notification``."""

    type: str
    id: uuid.UUID
    field: str | None
    message: str
    conflict_id: uuid.UUID | None = None
    candidate: JsonValue = None
    current: JsonValue = None
    source: str | None = None
    editor: str | None = None


@dataclass
class FicheState:
    """Everything the rules need to know about one fiche."""

    fiche_id: uuid.UUID
    kind: FicheKind
    version: int = 0
    status: Literal["active", "inactive"] = "active"
    inactive_reason: str | None = None
    visible: dict[str, JsonValue] = field(default_factory=dict)
    provenance: dict[ProvenanceKey, Provenance] = field(default_factory=dict)
    pins: dict[str, Pin] = field(default_factory=dict)
    conflicts: dict[uuid.UUID, Conflict] = field(default_factory=dict)
    records: dict[tuple[Source, str], int] = field(default_factory=dict)
    verified_at: datetime | None = None


def new_state(fiche_id: uuid.UUID, kind: FicheKind) -> FicheState:
    return FicheState(fiche_id=fiche_id, kind=kind)


@dataclass
class Decision:
    """What applying one update does. ``state`` is the fiche afterwards."""

    outcome: Outcome
    state: FicheState
    event_type: str | None = None
    changed_fields: tuple[str, ...] = ()
    provenance_upserts: list[Provenance] = field(default_factory=list)
    provenance_deletes: list[ProvenanceKey] = field(default_factory=list)
    pins_set: list[Pin] = field(default_factory=list)
    pins_released: list[str] = field(default_factory=list)
    conflicts_written: list[Conflict] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    reason: str | None = None

    @property
    def writes(self) -> bool:
        """Whether the store has anything to write besides the inbox row."""
        return bool(
            self.event_type or self.provenance_upserts or self.provenance_deletes
            or self.pins_set or self.pins_released or self.conflicts_written
            or self.notifications or self.outcome == "applied"
        )


#: Why a fiche is inactive when no source gives it a value any more and nothing is pinned.
NO_SOURCE_LEFT = "no source left"


def merge(state: FicheState, update: FicheUpdate, policy: Policy) -> Decision:
    """Apply ``update`` to a copy of ``state`` under ``policy``."""
    after = _copy(state)
    decision = Decision(outcome="applied", state=after)
    if update.action is UpdateAction.RESOLVE:
        _resolve(after, update, decision)
    elif update.action is UpdateAction.PIN:
        _pin(after, update, policy, decision)
    elif update.action is UpdateAction.VERIFY:
        _verify(after, update, decision)
        # A confirmation changes no value and makes no version, yet it is applied: the
        # verification clock moves and notification services learn of it.
        return decision
    else:
        record = (update.source, update.record_id)
        if after.records.get(record, -1) >= update.source_version:
            return Decision(outcome="stale", state=state, reason="older or equal sourceVersion")
        after.records[record] = update.source_version
        _record_values(after, update, policy, decision)
        # A withdrawal first forgets the record's values, then may set some again (its
        # status): what is set again must not also be deleted by the store.
        upserted = {entry.key for entry in decision.provenance_upserts}
        decision.provenance_deletes = [
            key for key in decision.provenance_deletes if key not in upserted]
    touched = _touched_fields(state, decision)
    _recompute(state, after, touched, policy, update, decision)
    return decision


def _copy(state: FicheState) -> FicheState:
    # Every field named (dataclasses.replace would look each one up, for every update).
    return FicheState(
        fiche_id=state.fiche_id, kind=state.kind, version=state.version, status=state.status,
        inactive_reason=state.inactive_reason, visible=dict(state.visible),
        provenance=dict(state.provenance), pins=dict(state.pins),
        conflicts=dict(state.conflicts), records=dict(state.records),
        verified_at=state.verified_at,
    )


def _record_values(
    after: FicheState, update: FicheUpdate, policy: Policy, decision: Decision
) -> None:
    """Replace what this source record says; a withdrawal first forgets all of it."""
    if update.action is UpdateAction.WITHDRAW:
        for key in [k for k in after.provenance if k[1:] == (update.source, update.record_id)]:
            del after.provenance[key]
            decision.provenance_deletes.append(key)
    # Read once, not per field: this loop runs for every value of every update.
    rules, kind, provenance = policy.rules, after.kind, after.provenance
    source, record_id, as_given = update.source, update.record_id, update.as_given
    version, observed = update.source_version, update.observed_at
    for name, value in update.fields.items():
        if (kind, name) not in rules:
            continue  # a field this kind of fiche does not have: ignored, not an error
        key = (name, source, record_id)
        if value is None:
            if provenance.pop(key, None) is not None:
                decision.provenance_deletes.append(key)
            continue
        entry = Provenance(name, source, record_id, value, version, observed,
                           as_given.get(name))
        provenance[key] = entry
        decision.provenance_upserts.append(entry)
    if is_authentic(update.source):
        seen = after.verified_at
        after.verified_at = update.observed_at if seen is None else max(seen, update.observed_at)


def _pin(after: FicheState, update: FicheUpdate, policy: Policy, decision: Decision) -> None:
    assert update.pin is not None  # the mapper always sets it for a pin
    for name in update.fields:
        rule = policy.rule(after.kind, name)
        if rule is None or rule.authoritative:
            decision.outcome = "refused"
            decision.reason = f"field {name!r} cannot be edited by hand"
            return
    for name, value in update.fields.items():
        held = after.pins.get(name)
        if held is not None and held.pinned_at > update.observed_at:
            continue  # a later edit already holds the field
        pin = Pin(name, value, update.pin.author, update.pin.role, update.pin.reason,
                  update.observed_at,
                  update.pin.review_after.isoformat() if update.pin.review_after else None)
        after.pins[name] = pin
        decision.pins_set.append(pin)


def _verify(after: FicheState, update: FicheUpdate, decision: Decision) -> None:
    """The fiche's data confirmed: its verification clock starts again from the confirmation
    (never moves back), and the VerificationDue notice is closed by a notification."""
    assert update.verified_by is not None  # the mapper always says who confirmed
    seen = after.verified_at
    if seen is not None and seen >= update.observed_at:
        decision.outcome = "unchanged"
        decision.reason = "verified at the same time or later already"
        return
    after.verified_at = update.observed_at
    who = update.verified_by
    decision.notifications.append(Notification(
        type="verification-confirmed", id=_notice_id(update, "verified"), field=None,
        message=f"{who.author} ({who.role}) confirmed that the fiche's data is still correct",
        editor=who.author,
    ))


def _resolve(after: FicheState, update: FicheUpdate, decision: Decision) -> None:
    assert update.resolution is not None
    conflict = after.conflicts.get(update.resolution.conflict_id)
    if conflict is None or conflict.status != "open":
        decision.outcome = "unchanged"
        decision.reason = "conflict is not open"
        return
    if update.resolution.decision == "accept":
        after.pins.pop(conflict.field, None)
        decision.pins_released.append(conflict.field)
        done = replace(conflict, status="accepted")
    else:
        done = replace(conflict, status="kept")
    after.conflicts[conflict.id] = done
    decision.conflicts_written.append(done)
    # Editors and notification services learn the outcome, and who decided, as they learnt
    # of the conflict.
    editor = update.resolution.editor
    decision.notifications.append(Notification(
        type="conflict-resolved", id=_notice_id(update, "resolved", conflict.field),
        field=conflict.field, message=f"{editor} chose to {update.resolution.decision} "
        f"{'the candidate' if done.status == 'accepted' else 'the pinned value'}",
        conflict_id=conflict.id, candidate=conflict.candidate,
        source=conflict.source.value, editor=editor,
    ))


def _touched_fields(before: FicheState, decision: Decision) -> set[str]:
    names = {key[0] for key in decision.provenance_deletes}
    names |= {entry.field for entry in decision.provenance_upserts}
    names |= {pin.field for pin in decision.pins_set}
    names |= set(decision.pins_released)
    return names


def _winner(entries: list[Provenance], rule: Rule) -> Provenance | None:
    """The automated (or directory) value that survives among a field's ``entries``."""
    if len(entries) == 1:  # the usual case, one record gives the field: nothing to rank
        [entry] = entries
        return entry if entry.value is not None and rule.rank(entry.source) is not None else None
    ranked: list[tuple[int, float, int, str, Provenance]] = []
    for entry in entries:
        if entry.value is None:
            continue
        position = rule.rank(entry.source)
        if position is None:
            continue
        # Within one source the latest observation wins; record id breaks exact ties.
        ranked.append((position, -entry.observed_at.timestamp(), -entry.source_version,
                       entry.record_id, entry))
    return min(ranked, key=lambda item: item[:4])[4] if ranked else None


def _recompute(
    before: FicheState, after: FicheState, touched: set[str], policy: Policy,
    update: FicheUpdate, decision: Decision,
) -> None:
    changed: list[str] = []
    by_field: dict[str, list[Provenance]] = {name: [] for name in touched}
    for key, entry in after.provenance.items():
        if key[0] in by_field:
            by_field[key[0]].append(entry)
    rules, kind = policy.rules, after.kind
    for name in sorted(touched):
        rule = rules.get((kind, name))
        if rule is None:
            continue
        winner = _winner(by_field[name], rule)
        pin = after.pins.get(name)
        value = pin.value if pin is not None else (winner.value if winner else None)
        if pin is not None or after.conflicts:  # else no conflict to raise, name or close
            _track_conflict(after, name, pin, winner, update, decision)
        if rule.authoritative and winner is not None:
            _notice_supersede(before, name, winner, update, decision)
        if before.visible.get(name) != value:
            changed.append(name)
        if value is None:
            after.visible.pop(name, None)
        else:
            after.visible[name] = value
    _derive_status(before, after)
    # A fiche never shown (version 0) that stays empty is not worth a version of its own.
    status_changed = before.version > 0 and (before.status, before.inactive_reason) != (
        after.status, after.inactive_reason)
    if not changed and not status_changed:
        if decision.outcome == "applied":
            decision.outcome = "unchanged"
        return
    if decision.outcome != "applied":
        return
    after.version = before.version + 1
    decision.changed_fields = tuple(changed)
    decision.event_type = _event_type(before, after)


def _derive_status(before: FicheState, after: FicheState) -> None:
    """Inactive when a pin says so, or (without a pin) when any authentic registration ended:
    a licence that ends at CoBRHA is not revived by an active KBO enterprise, nor the reverse.
    A fiche that some source record reached and that has no value left (its only source
    withdrew, nothing is pinned) is inactive too: an empty fiche would still be found, showing
    nothing. Decided from the records seen, not from the fiche's history, so that a withdrawal
    arriving before the record's older versions ends in the same status (DESIGN §3.7).
    """
    pin = after.pins.get("status")
    if pin is not None:
        stated = [pin.value]
    else:
        stated = [entry.value for _, entry in sorted(
            (key, entry) for key, entry in after.provenance.items()
            if key[0] == "status" and is_authentic(entry.source))]
    ended = [s for s in stated if isinstance(s, dict) and s.get("active") is False]
    if ended:
        after.status, after.inactive_reason = "inactive", str(ended[0].get("reason") or "ended")
    elif after.records and not after.provenance and not after.pins:
        after.status, after.inactive_reason = "inactive", NO_SOURCE_LEFT
    else:
        after.status, after.inactive_reason = "active", None


def _event_type(before: FicheState, after: FicheState) -> str:
    if before.version == 0:
        return "created"
    if before.status == "active" and after.status == "inactive":
        return "deactivated"
    if before.status == "inactive" and after.status == "active":
        return "reactivated"
    return "updated"


def canonical_json(value: JsonValue) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _track_conflict(
    after: FicheState, name: str, pin: Pin | None, winner: Provenance | None,
    update: FicheUpdate, decision: Decision,
) -> None:
    """Keep exactly one live conflict per pinned field whose surviving automated value differs.

    The candidate follows from pin and provenance alone, so arrival order does not matter.
    """
    wanted = None
    if pin is not None and winner is not None and winner.value != pin.value:
        wanted = winner
    for conflict in list(after.conflicts.values()):
        if conflict.field != name or conflict.status not in ("open", "kept"):
            continue
        if wanted is not None and conflict.candidate == wanted.value:
            # Already raised (or deliberately kept): nothing new to announce. But it names the
            # source that now gives the value: when two sources give it, the ranking decides
            # which, not the order in which they came.
            if (conflict.source, conflict.record_id) != (wanted.source, wanted.record_id):
                named = replace(conflict, source=wanted.source, record_id=wanted.record_id)
                after.conflicts[conflict.id] = named
                decision.conflicts_written.append(named)
            return
        closed = replace(conflict, status="closed")
        after.conflicts[conflict.id] = closed
        decision.conflicts_written.append(closed)
    if wanted is None:
        return
    conflict_id = derived_id("conflict", str(after.fiche_id), name, canonical_json(wanted.value))
    conflict = Conflict(conflict_id, name, wanted.value, wanted.source, wanted.record_id)
    after.conflicts[conflict_id] = conflict
    decision.conflicts_written.append(conflict)
    decision.notifications.append(Notification(
        type="conflict-raised", id=_notice_id(update, "conflict", name), field=name,
        message=f"{wanted.source.value} reports a value for {name} that differs from the pin",
        conflict_id=conflict_id, candidate=wanted.value, current=pin.value if pin else None,
        source=wanted.source.value,
    ))


def _notice_supersede(
    before: FicheState, name: str, winner: Provenance, update: FicheUpdate, decision: Decision,
) -> None:
    """An authoritative source replacing a value the directory set by hand is announced."""
    old = _winner_source(before, name)
    if (old is Source.MANUAL and winner.source is not Source.MANUAL
            and _meaning(before.visible.get(name)) != _meaning(winner.value)):
            decision.notifications.append(Notification(
                type="manual-edit-superseded", id=_notice_id(update, "superseded", name),
                field=name, message=f"{winner.source.value} is authoritative for {name}",
                candidate=winner.value, current=before.visible.get(name),
                source=winner.source.value,
            ))


def _meaning(value: JsonValue) -> JsonValue:
    """What a value says, for telling whether a source changed it: a coded entry (a
    profession) is its code, whatever details a register adds to it (NIHII number, licence,
    names); the order of a list does not matter. Anything else is itself."""
    if not isinstance(value, list):
        return value
    codes = [item["code"] if isinstance(item, dict) and "code" in item else item
             for item in value]
    return sorted(codes, key=canonical_json)


def _winner_source(state: FicheState, name: str) -> Source | None:
    sources = {e.source for e in state.provenance.values() if e.field == name}
    if sources == {Source.MANUAL}:
        return Source.MANUAL
    return None


def _notice_id(update: FicheUpdate, *parts: str) -> uuid.UUID:
    return derived_id("notification", str(update.update_id), *parts)
