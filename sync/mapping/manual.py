"""The directory's own application (``sk.src.manual.edit``) to canonical updates.

Four event types: an edit pins values (it beats every automated source), a fiche made by
hand gives the directory's own values (they rank last), a conflict decision accepts or
keeps a pin, and a verification records that the provider (or an editor) confirmed the
fiche's data, which resets its verification clock. Manual events carry no
``sourceVersion``: the event time, in epoch milliseconds, orders them instead, so every
manual event must say when it happened.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pydantic import Field, JsonValue

from sync import identifiers as ids
from sync.cloudevents import CloudEvent
from sync.errors import PermanentError
from sync.events import ConflictDecision, FicheKind, FicheUpdate, PinInfo, Source, UpdateAction
from sync.mapping.common import Inbound, MappingContext, origin_of, parse_data, update_id_of
from sync.policy import Policy, default_policy

__all__ = ["TYPE_CREATED", "TYPE_EDITED", "TYPE_RESOLVED", "TYPE_VERIFIED", "edit_kind",
           "map_manual"]

TYPE_EDITED = "be.socialekaart.fiche.edited"
TYPE_CREATED = "be.socialekaart.fiche.created"
TYPE_RESOLVED = "be.socialekaart.conflict.resolved"
TYPE_VERIFIED = "be.socialekaart.fiche.verified"

#: When a field exists for both kinds, an edit is taken as a person edit (the apply step
#: checks the field against the fiche's real kind anyway).
KIND_PREFERENCE = (FicheKind.PERSON, FicheKind.ORGANISATION)


class Editor(Inbound):
    id: str = Field(min_length=1)
    role: Literal["editor", "network", "provider"]


class Resolver(Inbound):
    id: str = Field(min_length=1)


class FicheEdited(Inbound):
    fiche_id: uuid.UUID = Field(alias="ficheId")
    editor: Editor
    changes: dict[str, JsonValue] = Field(min_length=1)
    reason: str | None = None
    review_after: date | None = Field(None, alias="reviewAfter")


class FicheCreated(Inbound):
    fiche_id: uuid.UUID = Field(alias="ficheId")
    kind: FicheKind = FicheKind.PERSON
    fields: dict[str, JsonValue] | None = None
    changes: dict[str, JsonValue] | None = None


class ConflictResolved(Inbound):
    conflict_id: uuid.UUID = Field(alias="conflictId")
    decision: Literal["accept", "keep"]
    editor: Resolver | str


class FicheVerified(Inbound):
    """``be.socialekaart.fiche.verified``: the fiche's data was confirmed as still right."""

    fiche_id: uuid.UUID = Field(alias="ficheId")
    editor: Editor


def map_manual(event: CloudEvent, context: MappingContext,
               policy: Policy | None = None) -> FicheUpdate:
    """Map one event of the directory's application to a canonical update (under the
    shipped policy unless ``policy`` is given)."""
    if event.type == TYPE_EDITED:
        return _edited(event, policy or default_policy())
    mapper = {TYPE_CREATED: _created, TYPE_RESOLVED: _resolved,
              TYPE_VERIFIED: _verified}.get(event.type)
    if mapper is None:
        raise PermanentError("unknown-type", f"unknown event type {event.type[:80]!r}")
    return mapper(event)


def _edited(event: CloudEvent, policy: Policy) -> FicheUpdate:
    """An edit pins its values; authoritative fields cannot be edited by hand. A provider's
    edit is a pin too, unless the policy makes it the ``provider`` source's values."""
    edit = parse_data(FicheEdited, event)
    kind = edit_kind(edit.changes, policy)
    if edit.editor.role == "provider" and policy.provider_edits == "source":
        return _provider_values(event, edit, kind, policy)
    pin = PinInfo(author=edit.editor.id, role=edit.editor.role, reason=edit.reason,
                  review_after=edit.review_after)
    return _update(event, f"fiche:{edit.fiche_id}", kind, action=UpdateAction.PIN,
                   fiche_id=edit.fiche_id, fields=_checked_links(edit.changes), pin=pin)


def _provider_values(event: CloudEvent, edit: FicheEdited, kind: FicheKind,
                     policy: Policy) -> FicheUpdate:
    """The provider as a source: one record per fiche, ordered by the event time; a field
    whose ranking does not name ``provider`` is refused, as the pages never offer it."""
    refused = sorted(name[:60] for name in edit.changes
                     if not any(policy.provider_may_edit(k, name) for k in FicheKind))
    if refused:
        raise PermanentError("not-provider-field",
                             f"providers do not set {', '.join(refused)} (policy ranking)")
    return _update(event, f"provider:{edit.fiche_id}", kind, fiche_id=edit.fiche_id,
                   fields=edit.changes, source=Source.PROVIDER)


def _created(event: CloudEvent) -> FicheUpdate:
    """A fiche made by hand: its values are the directory's own, not pins."""
    created = parse_data(FicheCreated, event)
    fields = created.fields or created.changes
    if not fields:
        raise PermanentError("schema-invalid", "data: fields")
    policy = default_policy()
    for name in fields:
        if policy.rule(created.kind, name) is None:
            raise PermanentError("unknown-field",
                                 f"a {created.kind} fiche has no field {name[:60]!r}")
    return _update(event, f"fiche:{created.fiche_id}", created.kind,
                   fiche_id=created.fiche_id, fields=_checked_links(fields))


def _checked_links(fields: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """A typed link to another fiche (``practiceOf``: the person whose individual practice
    this is) must name a valid NIHII person number; it is kept normalised."""
    link = fields.get("practiceOf")
    if link is None:
        return fields
    if not (isinstance(link, dict) and link.get("type") == "NIHII-PERSON"
            and isinstance(link.get("value"), str)):
        raise PermanentError("schema-invalid",
                             'practiceOf must read {"type": "NIHII-PERSON", "value": "12345678"}')
    try:
        _, person = ids.normalize_identifier("NIHII-PERSON", str(link["value"]))
    except ids.IdentifierError as error:
        raise PermanentError("bad-identifier", str(error)) from None
    return {**fields, "practiceOf": {"type": "NIHII-PERSON", "value": person}}


def _resolved(event: CloudEvent) -> FicheUpdate:
    resolved = parse_data(ConflictResolved, event)
    editor = resolved.editor if isinstance(resolved.editor, str) else resolved.editor.id
    decision = ConflictDecision(conflict_id=resolved.conflict_id, decision=resolved.decision,
                                editor=editor)
    # The kind is not checked for a resolution: the conflict names its fiche. A subject that
    # names the fiche keys the update like the fiche's pins, so they stay in order.
    return _update(event, f"conflict:{resolved.conflict_id}", FicheKind.PERSON,
                   action=UpdateAction.RESOLVE, fiche_id=_fiche_of(event.subject),
                   resolution=decision)


def _verified(event: CloudEvent) -> FicheUpdate:
    """A confirmation names its fiche and who confirmed; it changes no value."""
    verified = parse_data(FicheVerified, event)
    by = PinInfo(author=verified.editor.id, role=verified.editor.role)
    # The kind is not checked: the update names its fiche and carries no field.
    return _update(event, f"fiche:{verified.fiche_id}", FicheKind.PERSON,
                   action=UpdateAction.VERIFY, fiche_id=verified.fiche_id, verified_by=by)


def _fiche_of(subject: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(subject) if subject else None
    except ValueError:
        return None


def edit_kind(changes: dict[str, JsonValue], policy: Policy) -> FicheKind:
    """The kind of fiche an edit of ``changes`` can apply to, or a permanent error saying why
    no fiche can take it (unknown field, authoritative field, fields of different kinds)."""
    for name in changes:
        rules = [rule for rule in (policy.rule(kind, name) for kind in FicheKind) if rule]
        if not rules:
            raise PermanentError("unknown-field", f"no fiche has a field {name[:60]!r}")
        if all(rule.authoritative for rule in rules):
            sources = ", ".join(sorted({s.value for rule in rules for s in rule.ranking}))
            raise PermanentError("authoritative-field",
                                 f"{name} is kept by {sources}; edit refused")
    for kind in KIND_PREFERENCE:
        found = [policy.rule(kind, name) for name in changes]
        if all(rule is not None and not rule.authoritative for rule in found):
            return kind
    raise PermanentError("unknown-field", "no kind of fiche can take all of these fields: "
                         + ", ".join(sorted(name[:60] for name in changes)))


def _update(
    event: CloudEvent, record_id: str, kind: FicheKind, *,
    action: UpdateAction = UpdateAction.UPSERT, fiche_id: uuid.UUID | None = None,
    fields: dict[str, JsonValue] | None = None, pin: PinInfo | None = None,
    resolution: ConflictDecision | None = None, verified_by: PinInfo | None = None,
    source: Source = Source.MANUAL,
) -> FicheUpdate:
    at = _event_time(event)
    return FicheUpdate(
        update_id=update_id_of(event), origin=origin_of(event), source=source,
        record_id=record_id, source_version=(at - _EPOCH) // timedelta(milliseconds=1),
        observed_at=at, kind=kind, action=action, fiche_id=fiche_id,
        fields=fields or {}, pin=pin, resolution=resolution, verified_by=verified_by,
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _event_time(event: CloudEvent) -> datetime:
    """The event's time (UTC when it names no zone): manual events have no other version."""
    if event.time is None:
        raise PermanentError("schema-invalid", "a manual event must carry its time")
    return event.time if event.time.tzinfo else event.time.replace(tzinfo=UTC)
