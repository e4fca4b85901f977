"""The survivorship and conflict rules, as pure functions (DESIGN.md §4)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sync.events import (
    ConflictDecision,
    EventOrigin,
    FicheKind,
    FicheUpdate,
    PinInfo,
    Source,
    UpdateAction,
)
from sync.merge import Conflict, FicheState, Pin, Provenance, merge, new_state
from sync.policy import default_policy

POLICY = default_policy()
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def update(
    source: Source, version: int, fields: dict[str, Any], *, record: str | None = None,
    action: UpdateAction = UpdateAction.UPSERT, at: datetime | None = None,
    pin: PinInfo | None = None, resolution: ConflictDecision | None = None,
    kind: FicheKind = FicheKind.PERSON,
) -> FicheUpdate:
    """One canonical update; the event id is unique, the rest as given."""
    return FicheUpdate(
        update_id=uuid.uuid4(),
        origin=EventOrigin(source=f"urn:{source.value}", id=uuid.uuid4().hex, type="t"),
        source=source, record_id=record or f"{source.value}:1", source_version=version,
        observed_at=at or T0 + timedelta(seconds=version), kind=kind, action=action,
        fields=fields, pin=pin, resolution=resolution)


def edit(fields: dict[str, Any], at: datetime | None = None) -> FicheUpdate:
    return update(Source.MANUAL, 0, fields, record="edit", action=UpdateAction.PIN,
                  at=at or T0, pin=PinInfo(author="u-1029", role="editor", reason="belde"))


def run(*updates: FicheUpdate, state: FicheState | None = None) -> FicheState:
    state = state or new_state(uuid.UUID(int=1), FicheKind.PERSON)
    for item in updates:
        state = merge(state, item, POLICY).state
    return state


def test_a_new_fiche_gets_version_one_and_a_created_event() -> None:
    """The first update that gives values creates version 1."""
    decision = merge(new_state(uuid.UUID(int=1), FicheKind.PERSON),
                     update(Source.COBRHA, 1, {"name.last": "Peeters"}), POLICY)
    assert decision.event_type == "created"
    assert decision.state.version == 1
    assert decision.state.visible == {"name.last": "Peeters"}


def test_an_update_that_changes_nothing_writes_no_version() -> None:
    """Same values again under a new sourceVersion: no version, no event."""
    state = run(update(Source.COBRHA, 1, {"name.last": "Peeters"}))
    decision = merge(state, update(Source.COBRHA, 2, {"name.last": "Peeters"}), POLICY)
    assert decision.outcome == "unchanged"
    assert decision.event_type is None
    assert decision.state.version == 1


def test_an_older_or_equal_source_version_of_the_same_record_is_stale() -> None:
    """Within one source record the higher sourceVersion wins; the rest is ignored."""
    state = run(update(Source.COBRHA, 5, {"contact.phone": "+3255000005"}))
    for version in (5, 4):
        decision = merge(state, update(Source.COBRHA, version, {"contact.phone": "x"}), POLICY)
        assert decision.outcome == "stale"
        assert decision.state.visible["contact.phone"] == "+3255000005"


def test_a_higher_ranked_source_wins_even_when_older() -> None:
    """Contact: association > cobrha, whatever the observation times."""
    state = run(
        update(Source.ASSOCIATION, 1, {"contact.phone": "+3255111111"}, at=T0),
        update(Source.COBRHA, 9, {"contact.phone": "+3255999999"}, at=T0 + timedelta(days=30)),
    )
    assert state.visible["contact.phone"] == "+3255111111"


def test_when_the_winning_source_withdraws_the_field_falls_back_to_the_next_source() -> None:
    """Lower-ranked values stay in provenance and take over after a withdrawal."""
    state = run(
        update(Source.ASSOCIATION, 1, {"contact.phone": "+3255111111"}),
        update(Source.COBRHA, 1, {"contact.phone": "+3255999999"}),
        update(Source.ASSOCIATION, 2, {}, action=UpdateAction.WITHDRAW),
    )
    assert state.visible["contact.phone"] == "+3255999999"
    assert ("contact.phone", Source.ASSOCIATION, "association:1") not in state.provenance


def test_a_source_outside_a_fields_ranking_is_ignored_for_that_field() -> None:
    """An association cannot set the registration (professions): CoBRHA only."""
    state = run(update(Source.ASSOCIATION, 1, {"professions": [{"code": "NURSE"}]}))
    assert "professions" not in state.visible


def test_a_manual_edit_is_a_pin_that_beats_every_source() -> None:
    """A pinned field keeps its value while automated sources report another."""
    state = run(update(Source.COBRHA, 1, {"contact.phone": "+3255112233"}),
                edit({"contact.phone": "+3255000000"}))
    decision = merge(state, update(Source.COBRHA, 2, {"contact.phone": "+3255445566"}), POLICY)
    assert decision.state.visible["contact.phone"] == "+3255000000"
    raised = [n for n in decision.notifications if n.type == "conflict-raised"]
    assert len(raised) == 1
    assert raised[0].candidate == "+3255445566"


def test_the_same_candidate_raises_one_conflict_only() -> None:
    """One ConflictRaised per (field, candidate value)."""
    state = run(edit({"contact.phone": "+3255000000"}),
                update(Source.COBRHA, 1, {"contact.phone": "+3255445566", "name.last": "A"}))
    decision = merge(state, update(Source.COBRHA, 2, {"contact.phone": "+3255445566",
                                                      "name.last": "B"}), POLICY)
    assert decision.notifications == []
    assert [c.status for c in decision.state.conflicts.values()] == ["open"]


def test_a_source_reporting_the_pinned_value_closes_the_conflict() -> None:
    """The conflict closes by itself when the source agrees with the pin."""
    state = run(edit({"contact.phone": "+3255000000"}),
                update(Source.COBRHA, 1, {"contact.phone": "+3255445566"}),
                update(Source.COBRHA, 2, {"contact.phone": "+3255000000"}))
    assert [c.status for c in state.conflicts.values()] == ["closed"]


def test_accepting_a_conflict_releases_the_pin_and_shows_the_candidate() -> None:
    """Accept: the pin goes, the automated value becomes visible."""
    state = run(edit({"contact.phone": "+3255000000"}),
                update(Source.COBRHA, 1, {"contact.phone": "+3255445566"}))
    conflict = next(iter(state.conflicts.values()))
    state = run(update(Source.MANUAL, 0, {}, action=UpdateAction.RESOLVE, resolution=(
        ConflictDecision(conflict_id=conflict.id, decision="accept", editor="u-1"))), state=state)
    assert state.visible["contact.phone"] == "+3255445566"
    assert "contact.phone" not in state.pins
    assert state.conflicts[conflict.id].status == "accepted"


def test_keeping_a_pin_is_remembered_and_the_same_candidate_is_not_raised_again() -> None:
    """Keep: the pin stays; the kept candidate does not come back as a new conflict."""
    state = run(edit({"contact.phone": "+3255000000"}),
                update(Source.COBRHA, 1, {"contact.phone": "+3255445566"}))
    conflict = next(iter(state.conflicts.values()))
    state = run(update(Source.MANUAL, 0, {}, action=UpdateAction.RESOLVE, resolution=(
        ConflictDecision(conflict_id=conflict.id, decision="keep", editor="u-1"))), state=state)
    decision = merge(state, update(Source.COBRHA, 2, {"contact.phone": "+3255445566",
                                                      "name.last": "X"}), POLICY)
    assert decision.state.visible["contact.phone"] == "+3255000000"
    assert decision.notifications == []
    assert decision.state.conflicts[conflict.id].status == "kept"


def test_an_edit_of_an_authoritative_field_is_refused() -> None:
    """Registration fields are CoBRHA's alone: a pin on them is refused with a reason."""
    decision = merge(run(update(Source.COBRHA, 1, {"name.last": "A"})),
                     edit({"professions": []}), POLICY)
    assert decision.outcome == "refused"
    assert decision.reason is not None
    assert "professions" in decision.reason
    assert decision.state.version == 1


def test_an_authoritative_source_overriding_a_hand_made_value_is_announced() -> None:
    """A value the directory set by hand gives way to CoBRHA, and editors are told."""
    state = run(update(Source.MANUAL, 1, {"professions": [{"code": "NURSE"}]}, record="fiche"))
    decision = merge(state, update(Source.COBRHA, 1, {"professions": [{"code": "MIDWIFE"}]}),
                     POLICY)
    assert decision.state.visible["professions"] == [{"code": "MIDWIFE"}]
    assert [n.type for n in decision.notifications] == ["manual-edit-superseded"]


def test_an_authoritative_source_confirming_a_hand_made_profession_is_not_announced() -> None:
    """CoBRHA giving the code typed by hand (with its NIHII number and licence besides) changes
    nothing an editor typed: no ManualEditSuperseded notice."""
    typed = {"code": "GENERAL_PRACTITIONER", "nl": "huisarts"}
    state = run(update(Source.MANUAL, 1, {"professions": [typed]}, record="fiche"))
    register = {"code": "GENERAL_PRACTITIONER", "nl": "huisarts", "nihii": "18749704477",
                "licence": {"status": "ACTIVE"}}
    decision = merge(state, update(Source.COBRHA, 1, {"professions": [register]}), POLICY)
    assert decision.state.visible["professions"] == [register]
    assert decision.notifications == []


def test_a_profession_added_to_the_hand_made_one_is_announced() -> None:
    """Two professions where one was typed is a change: one notice."""
    state = run(update(Source.MANUAL, 1, {"professions": [{"code": "NURSE"}]}, record="fiche"))
    decision = merge(state, update(Source.COBRHA, 1, {"professions": [
        {"code": "NURSE", "nihii": "1"}, {"code": "MIDWIFE", "nihii": "2"}]}), POLICY)
    assert [n.type for n in decision.notifications] == ["manual-edit-superseded"]


def test_a_licence_ending_deactivates_the_fiche_with_its_reason() -> None:
    """No active licence left: the fiche becomes inactive, nothing is deleted."""
    state = run(update(Source.COBRHA, 1, {"name.last": "A", "status": {"active": True}}))
    decision = merge(state, update(Source.COBRHA, 2, {
        "name.last": "A", "status": {"active": False, "reason": "no active licence"}}), POLICY)
    assert decision.event_type == "deactivated"
    assert decision.state.status == "inactive"
    assert decision.state.inactive_reason == "no active licence"
    assert decision.state.visible["name.last"] == "A"


def test_an_organisation_is_inactive_when_any_authentic_registration_ended() -> None:
    """A recognition ended at CoBRHA is not revived by an active enterprise at the KBO."""
    org = new_state(uuid.UUID(int=2), FicheKind.ORGANISATION)
    state = run(
        update(Source.COBRHA, 1, {"status": {"active": False, "reason": "no valid recognition"}},
               kind=FicheKind.ORGANISATION),
        update(Source.KBO, 1, {"status": {"active": True, "reason": None}},
               kind=FicheKind.ORGANISATION),
        state=org)
    assert state.status == "inactive"
    assert state.inactive_reason == "no valid recognition"


def test_an_association_membership_ending_does_not_end_a_persons_registration() -> None:
    """Only authentic sources (CoBRHA, KBO) decide whether a provider is active."""
    state = run(update(Source.ASSOCIATION, 1, {"status": {"active": False, "reason": "left"},
                                               "name.last": "Claes"}))
    assert state.status == "active"


def test_a_withdrawal_keeps_the_status_it_sets_while_forgetting_the_rest() -> None:
    """A removed record's values go, but its own 'inactive' status is kept in provenance,
    so a later update from another source cannot revive the fiche."""
    state = run(update(Source.COBRHA, 1, {"name.last": "A", "status": {"active": True}}))
    decision = merge(state, update(Source.COBRHA, 2, {
        "status": {"active": False, "reason": "removed from CoBRHA"}},
        action=UpdateAction.WITHDRAW), POLICY)
    assert ("status", Source.COBRHA, "cobrha:1") not in decision.provenance_deletes
    later = run(update(Source.ASSOCIATION, 1, {"name.last": "B", "status": {"active": True}}),
                state=decision.state)
    assert later.status == "inactive"


def member(version: int, action: UpdateAction = UpdateAction.UPSERT) -> FicheUpdate:
    """An association member record (no NIHII): the only source of its fiche."""
    fields = {} if action is UpdateAction.WITHDRAW else {
        "name.last": "Claes", "contact.phone": "+3255998877"}
    return update(Source.ASSOCIATION, version, fields, record="tabak:7", action=action)


def test_a_fiche_whose_only_source_leaves_becomes_inactive_with_a_reason() -> None:
    """No source and no pin left: inactive ("no source left"), a deactivated event."""
    decision = merge(run(member(1)), member(2, UpdateAction.WITHDRAW), POLICY)
    assert decision.event_type == "deactivated"
    assert (decision.state.status, decision.state.inactive_reason) == (
        "inactive", "no source left")
    assert decision.state.visible == {}
    assert decision.state.version == 2


def test_a_fiche_whose_source_comes_back_is_reactivated() -> None:
    """The member joins again: the values return and so does the fiche."""
    decision = merge(run(member(1), member(2, UpdateAction.WITHDRAW)), member(3), POLICY)
    assert decision.event_type == "reactivated"
    assert decision.state.status == "active"


def test_a_fiche_with_another_source_or_a_pin_stays_active_when_one_source_leaves() -> None:
    """CoBRHA still gives values, or an editor pinned one: the fiche still has content."""
    with_cobrha = run(update(Source.COBRHA, 1, {"name.last": "Claes"}), member(1),
                      member(2, UpdateAction.WITHDRAW))
    with_pin = run(member(1), edit({"contact.phone": "+3255000000"}),
                   member(2, UpdateAction.WITHDRAW))
    assert (with_cobrha.status, with_pin.status) == ("active", "active")
    assert with_pin.visible == {"contact.phone": "+3255000000"}


def test_withdrawing_a_record_no_fiche_holds_makes_no_version() -> None:
    """A removal that reaches a fiche never given values changes nothing."""
    decision = merge(new_state(uuid.UUID(int=1), FicheKind.PERSON),
                     member(2, UpdateAction.WITHDRAW), POLICY)
    assert decision.outcome == "unchanged"
    assert decision.state.version == 0


def test_a_merge_keeps_every_part_of_the_state_the_update_does_not_touch() -> None:
    """The state after a merge starts as a copy of the state before, field for field: an
    update that touches none of it (a record that gives no value) leaves all of it as it was
    but the record's version (every field of FicheState is set here, so a field added to it
    is checked too)."""
    ended = {"active": False, "reason": "deceased"}
    status = Provenance("status", Source.COBRHA, "cobrha:1", ended, 4, T0)
    pin = Pin("name.last", "Peeters", "editor-1", "editor", "typo", T0)
    conflict = Conflict(uuid.uuid4(), "name.last", "Peters", Source.COBRHA, "cobrha:1", "kept")
    before = FicheState(
        fiche_id=uuid.uuid4(), kind=FicheKind.PERSON, version=3, status="inactive",
        inactive_reason="deceased", visible={"name.last": "Peeters", "status": ended},
        provenance={status.key: status}, pins={pin.field: pin},
        conflicts={conflict.id: conflict}, records={(Source.COBRHA, "cobrha:1"): 4},
        verified_at=T0)
    defaults = FicheState(fiche_id=before.fiche_id, kind=FicheKind.ORGANISATION)
    assert [f.name for f in dataclasses.fields(FicheState)
            if getattr(before, f.name) == getattr(defaults, f.name)] == ["fiche_id"]

    after = merge(before, update(Source.ASSOCIATION, 1, {}, record="association:1"),
                  POLICY).state

    assert after.records == {**before.records, (Source.ASSOCIATION, "association:1"): 1}
    assert {f.name: getattr(after, f.name) for f in dataclasses.fields(FicheState)
            if f.name != "records"} == {f.name: getattr(before, f.name)
                                       for f in dataclasses.fields(FicheState)
                                       if f.name != "records"}
