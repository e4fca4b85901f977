"""Specification of the manual edit mapping (sync.mapping.manual)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

import pytest

from sync.cloudevents import CloudEvent
from sync.errors import PermanentError
from sync.events import ConflictDecision, FicheKind, PinInfo, Source, UpdateAction
from sync.mapping import MappingContext
from sync.mapping.manual import map_manual
from sync.merge import merge, new_state
from sync.policy import Policy, default_policy
from sync.sources import map_event

CONTEXT = MappingContext(ssin_secret=b"test-secret")
EDITOR = "urn:socialekaart:editor"
FICHE = "7b0c6f0e-3c41-4f5e-9d7e-1f2a3b4c5d6e"
AT = "2026-11-28T14:03:21.250Z"
AT_MS = int(datetime(2026, 11, 28, 14, 3, 21, 250000, tzinfo=UTC).timestamp() * 1000)


def edited(changes: dict[str, Any] | None = None, **data: Any) -> CloudEvent:
    """An editor's save, as SOURCES.md §5 shows it; ``data`` overrides."""
    payload: dict[str, Any] = {
        "ficheId": FICHE, "editor": {"id": "u-1029", "role": "editor"},
        "changes": changes if changes is not None else {"contact.phone": "+3255000000",
                                                        "openingHours": "ma-vr 9-17"},
        "reason": "telefonisch bevestigd", "reviewAfter": "2028-11-28", **data,
    }
    return CloudEvent(id=f"edit-{uuid.uuid4().hex}", source=EDITOR, time=AT,
                      type="be.socialekaart.fiche.edited", subject=FICHE, data=payload)


def created(**data: Any) -> CloudEvent:
    """A home-care organisation typed in by hand (no identifiers)."""
    payload: dict[str, Any] = {"ficheId": FICHE, "kind": "organisation",
                               "fields": {"name": {"nl": "Thuiszorg De Zwaluw"},
                                          "contact.phone": "+3255450000"}, **data}
    return CloudEvent(id="created-1", source=EDITOR, time=AT,
                      type="be.socialekaart.fiche.created", subject=FICHE, data=payload)


def resolved(**data: Any) -> CloudEvent:
    payload: dict[str, Any] = {"conflictId": "0b7d2c4e-9f1a-4d3b-8e6f-2a1c5d7e9f00",
                               "decision": "accept", "editor": "u-1029", **data}
    return CloudEvent(id="resolved-1", source=EDITOR, time=AT,
                      type="be.socialekaart.conflict.resolved", data=payload)


def error_of(event: CloudEvent) -> PermanentError:
    with pytest.raises(PermanentError) as caught:
        map_event(event, CONTEXT)
    return caught.value


def test_an_edit_pins_its_changes_on_the_named_fiche() -> None:
    """Author, role, reason and review date travel with the pin."""
    (update,) = map_event(edited(), CONTEXT)
    assert (update.action, update.source) == (UpdateAction.PIN, Source.MANUAL)
    assert update.fiche_id == uuid.UUID(FICHE)
    assert update.key == FICHE
    assert update.record_id == f"fiche:{FICHE}"
    assert update.fields == {"contact.phone": "+3255000000", "openingHours": "ma-vr 9-17"}
    assert update.pin == PinInfo(author="u-1029", role="editor",
                                 reason="telefonisch bevestigd",
                                 review_after=date(2028, 11, 28))
    assert update.identifiers == ()


def test_a_manual_event_is_versioned_by_its_time_in_milliseconds() -> None:
    """Manual events have no sourceVersion."""
    (update,) = map_event(edited(), CONTEXT)
    assert update.source_version == AT_MS
    assert update.observed_at == datetime(2026, 11, 28, 14, 3, 21, 250000, tzinfo=UTC)


def test_a_manual_event_without_time_is_schema_invalid() -> None:
    """Without a time it could not be ordered against other edits."""
    assert error_of(edited().model_copy(update={"time": None})).reason == "schema-invalid"


def test_an_edit_of_an_organisation_field_is_taken_as_an_organisation_edit() -> None:
    """The kind follows from the fields; fields both kinds have default to a person."""
    (person,) = map_event(edited(), CONTEXT)
    (organisation,) = map_event(edited({"legalForm": "017"}), CONTEXT)
    assert (person.kind, organisation.kind) == (FicheKind.PERSON, FicheKind.ORGANISATION)


def test_an_edit_of_an_authoritative_field_is_refused_with_a_clear_error() -> None:
    """Professions are CoBRHA's: the error says who keeps them."""
    error = error_of(edited({"professions": [{"code": "NURSE"}]}))
    assert error.reason == "authoritative-field"
    assert error.detail == "professions is kept by cobrha; edit refused"


def test_an_edit_of_a_field_the_policy_does_not_know_is_refused() -> None:
    """Field names are those of policy.json."""
    assert error_of(edited({"favouriteColour": "blue"})).reason == "unknown-field"


def test_an_edit_mixing_person_and_organisation_fields_is_refused() -> None:
    """No single fiche has both a gender and a legal form."""
    assert error_of(edited({"gender": "F", "legalForm": "017"})).reason == "unknown-field"


def test_an_edit_without_changes_or_with_an_unknown_role_is_schema_invalid() -> None:
    """Roles are editor, network and provider."""
    assert error_of(edited({})).reason == "schema-invalid"
    assert error_of(edited(editor={"id": "u-1", "role": "visitor"})).reason == "schema-invalid"


def test_a_pin_on_an_organisation_fiche_is_checked_against_that_fiche() -> None:
    """The mapper guesses a person for contact.phone; merge uses the fiche's real kind."""
    (pin,) = map_event(edited({"contact.phone": "+3255000000"}), CONTEXT)
    state = new_state(uuid.UUID(FICHE), FicheKind.ORGANISATION)
    decision = merge(state, pin, default_policy())
    assert decision.outcome == "applied"
    assert decision.state.visible["contact.phone"] == "+3255000000"


def test_a_created_fiche_gives_the_directorys_own_values() -> None:
    """Not a pin: an upsert of source manual, which every automated source outranks."""
    (update,) = map_event(created(), CONTEXT)
    assert (update.action, update.source, update.kind) == (
        UpdateAction.UPSERT, Source.MANUAL, FicheKind.ORGANISATION)
    assert update.fiche_id == uuid.UUID(FICHE)
    assert update.record_id == f"fiche:{FICHE}"
    assert update.fields["contact.phone"] == "+3255450000"
    assert update.pin is None
    assert update.identifiers == ()


def test_a_created_fiche_is_a_person_unless_it_says_otherwise_and_may_send_changes() -> None:
    """``kind`` defaults to person; ``changes`` stands in for ``fields``."""
    event = created(kind=None, fields=None, changes={"name.first": "Mieke"})
    data = event.model_dump()["data"]
    del data["kind"]
    (update,) = map_event(event.model_copy(update={"data": data}), CONTEXT)
    assert update.kind is FicheKind.PERSON
    assert update.fields == {"name.first": "Mieke"}


def test_a_created_fiche_with_a_field_its_kind_lacks_is_refused() -> None:
    """An organisation has no gender."""
    event = created(fields={"name": {"nl": "De Zwaluw"}, "gender": "F"})
    assert error_of(event).reason == "unknown-field"


def test_a_created_fiche_without_values_or_id_is_schema_invalid() -> None:
    """A fiche needs an id and at least one value."""
    assert error_of(created(fields=None)).reason == "schema-invalid"
    assert error_of(created(ficheId="not-a-uuid")).reason == "schema-invalid"


def test_a_conflict_decision_becomes_a_resolution() -> None:
    """The conflict names its fiche; the update carries the decision and who made it."""
    (update,) = map_event(resolved(), CONTEXT)
    assert update.action is UpdateAction.RESOLVE
    assert update.record_id == "conflict:0b7d2c4e-9f1a-4d3b-8e6f-2a1c5d7e9f00"
    assert update.resolution == ConflictDecision(
        conflict_id=uuid.UUID("0b7d2c4e-9f1a-4d3b-8e6f-2a1c5d7e9f00"), decision="accept",
        editor="u-1029")
    assert update.key == "0b7d2c4e-9f1a-4d3b-8e6f-2a1c5d7e9f00"


def test_a_conflict_decision_whose_subject_names_the_fiche_is_keyed_by_the_fiche() -> None:
    """``sksync conflicts resolve`` sets the subject to the fiche: same key as its pins."""
    (update,) = map_event(resolved().model_copy(update={"subject": FICHE}), CONTEXT)
    assert update.fiche_id == uuid.UUID(FICHE)
    assert update.key == FICHE


def test_a_conflict_decision_accepts_the_editor_as_an_object() -> None:
    """The editor may be written as in an edit: ``{"id", "role"}``."""
    (update,) = map_event(resolved(decision="keep", editor={"id": "u-7", "role": "network"}),
                          CONTEXT)
    assert update.resolution is not None
    assert (update.resolution.decision, update.resolution.editor) == ("keep", "u-7")


def test_a_conflict_decision_other_than_accept_or_keep_is_schema_invalid() -> None:
    """Only two decisions exist."""
    assert error_of(resolved(decision="maybe")).reason == "schema-invalid"


def test_an_unknown_directory_event_type_is_refused() -> None:
    """A type neither dispatch nor the mapper knows is a permanent error."""
    event = edited().model_copy(update={"type": "be.socialekaart.fiche.deleted"})
    assert error_of(event).reason == "unknown-type"
    with pytest.raises(PermanentError, match="unknown-type"):
        map_manual(event, CONTEXT)


def test_an_editor_may_link_a_practice_to_its_person_by_nihii_person_number() -> None:
    """``practiceOf`` is an organisation field; its NIHII person number is checked and kept
    normalised, and anything else is refused with the shape it must have."""
    (pin,) = map_event(edited({"practiceOf": {"type": "NIHII-PERSON", "value": " 18749704"}}),
                       CONTEXT)
    assert pin.kind is FicheKind.ORGANISATION
    assert pin.fields["practiceOf"] == {"type": "NIHII-PERSON", "value": "18749704"}
    assert error_of(edited({"practiceOf": "Dr. Peeters"})).reason == "schema-invalid"
    assert error_of(edited({"practiceOf": {"type": "NIHII-PERSON", "value": "1874"}})).reason == (
        "bad-identifier")

def verified(**data: Any) -> CloudEvent:
    """A provider's "my data is still correct"."""
    payload: dict[str, Any] = {"ficheId": FICHE,
                               "editor": {"id": "NIHII-PERSON 18749704", "role": "provider"},
                               **data}
    return CloudEvent(id=f"verified-{uuid.uuid4().hex}", source=EDITOR, time=AT,
                      type="be.socialekaart.fiche.verified", subject=FICHE, data=payload)


def test_a_verification_names_its_fiche_and_who_confirmed_and_changes_no_value() -> None:
    """It is ordered by its time like every manual event and carries no field."""
    update = map_manual(verified(), CONTEXT)
    assert update.action is UpdateAction.VERIFY
    assert str(update.fiche_id) == FICHE
    assert update.fields == {}
    assert update.source_version == AT_MS
    assert update.verified_by == PinInfo(author="NIHII-PERSON 18749704", role="provider")


def test_a_verification_resets_the_clock_and_closes_the_due_notice_without_a_version() -> None:
    """verified_at moves to the confirmation; a notification says so; no fiche event."""
    state = new_state(uuid.UUID(FICHE), FicheKind.PERSON)
    state.version = 3
    decision = merge(state, map_manual(verified(), CONTEXT), default_policy())
    assert decision.outcome == "applied"
    assert decision.event_type is None
    assert decision.state.version == 3
    assert decision.state.verified_at == datetime(2026, 11, 28, 14, 3, 21, 250000, tzinfo=UTC)
    assert [n.type for n in decision.notifications] == ["verification-confirmed"]


def test_an_older_verification_does_not_move_the_clock_back() -> None:
    """Confirmations arriving out of order leave the latest one."""
    state = new_state(uuid.UUID(FICHE), FicheKind.PERSON)
    state.verified_at = datetime(2027, 1, 1, tzinfo=UTC)
    decision = merge(state, map_manual(verified(), CONTEXT), default_policy())
    assert decision.outcome == "unchanged"
    assert decision.state.verified_at == datetime(2027, 1, 1, tzinfo=UTC)
    assert decision.notifications == []


def test_a_verification_without_its_editor_is_refused() -> None:
    """Who confirmed is part of the record."""
    event = verified()
    bad = CloudEvent(**{**event.model_dump(by_alias=True), "data": {"ficheId": FICHE}})
    with pytest.raises(PermanentError):
        map_manual(bad, CONTEXT)


def source_mode(*closed: str) -> Policy:
    """The shipped policy with ``providerEdits: source`` and ``provider`` ranked first in
    every group that can be edited by hand, except the ``closed`` groups."""
    document = json.loads(resources.files("sync").joinpath("policy.json").read_text())
    for group in document["groups"]:
        if group["manual"] == "pin" and group["name"] not in closed:
            group["ranking"] = ["provider", *group["ranking"]]
    return Policy.from_json({**document, "providerEdits": "source"})


def by_provider(changes: dict[str, Any]) -> CloudEvent:
    return edited(changes, editor={"id": "NIHII-PERSON 18749704", "role": "provider"})


def test_a_providers_edit_is_a_pin_under_the_shipped_policy() -> None:
    """``providerEdits: pin``: recorded like an editor's edit, with the role provider."""
    update = map_manual(by_provider({"contact.phone": "+3255998877"}), CONTEXT)
    assert (update.action, update.source) == (UpdateAction.PIN, Source.MANUAL)
    assert update.pin is not None
    assert update.pin.role == "provider"


def test_under_source_mode_a_providers_edit_is_the_provider_sources_value() -> None:
    """One record per fiche; it outranks the association where the ranking says so, and a
    CoBRHA value below it makes no conflict."""
    policy = source_mode()
    update = map_manual(by_provider({"contact.phone": "+3255998877"}), CONTEXT, policy)
    assert (update.action, update.source) == (UpdateAction.UPSERT, Source.PROVIDER)
    assert update.record_id == f"provider:{FICHE}"
    state = new_state(uuid.UUID(FICHE), FicheKind.PERSON)
    state.version = 1
    decision = merge(state, update, policy)
    assert decision.state.visible["contact.phone"] == "+3255998877"
    assert decision.conflicts_written == []
    assert decision.state.pins == {}


def test_under_source_mode_a_field_whose_ranking_omits_provider_is_refused() -> None:
    """A policy that leaves ``provider`` out of a group closes that group to providers."""
    policy = source_mode("serviceArea")
    with pytest.raises(PermanentError, match="serviceArea"):
        map_manual(by_provider({"serviceArea": []}), CONTEXT, policy)
    assert not policy.provider_may_edit(FicheKind.PERSON, "serviceArea")
    assert policy.provider_may_edit(FicheKind.PERSON, "contact.phone")
