"""Properties of the merge (DESIGN.md §3.7): order independence, idempotence, pins hold."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.events import FicheKind, FicheUpdate, Source, UpdateAction
from sync.merge import FicheState, merge, new_state
from sync.policy import default_policy
from tests.unit.test_merge import T0, edit, update

POLICY = default_policy()
FIELDS = ["contact.phone", "contact.email", "name.last", "languages", "status"]
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "contact.phone": st.sampled_from(["+3255000001", "+3255000002", None]),
    "contact.email": st.sampled_from(["a@example.be", "b@example.be", None]),
    "name.last": st.sampled_from(["Peeters", "Claes"]),
    "languages": st.sampled_from([["nl"], ["nl", "fr"], None]),
    "status": st.sampled_from([{"active": True, "reason": None},
                               {"active": False, "reason": "no active licence"}]),
}
SOURCES = [Source.COBRHA, Source.ASSOCIATION, Source.MANUAL]


@st.composite
def record_history(draw: st.DrawFn, source: Source, record: str) -> list[FicheUpdate]:
    """Several versions of one source record, each giving the same set of fields (a source
    sends whole records), sometimes ending in a withdrawal."""
    fields = draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=4, unique=True))
    versions = draw(st.lists(st.integers(1, 20), min_size=1, max_size=3, unique=True))
    out = []
    for version in sorted(versions):
        values = {name: draw(VALUES[name]) for name in fields}
        out.append(update(source, version, values, record=record,
                          at=T0 + timedelta(minutes=draw(st.integers(0, 5)))))
    if draw(st.booleans()):
        out.append(update(source, max(versions) + 1, {}, record=record,
                          action=UpdateAction.WITHDRAW))
    return out


@st.composite
def event_sets(draw: st.DrawFn) -> list[FicheUpdate]:
    """Updates from up to four source records and up to two hand edits at distinct times."""
    updates: list[FicheUpdate] = []
    for index in range(draw(st.integers(1, 4))):
        source = draw(st.sampled_from(SOURCES))
        updates += draw(record_history(source, f"{source.value}:{index}"))
    for minute in draw(st.lists(st.integers(0, 60), max_size=2, unique=True)):
        field = draw(st.sampled_from(["contact.phone", "name.last", "languages"]))
        updates.append(edit({field: draw(VALUES[field])}, at=T0 + timedelta(minutes=minute)))
    return updates


def final(updates: list[FicheUpdate]) -> FicheState:
    state = new_state(uuid.UUID(int=7), FicheKind.PERSON)
    for item in updates:
        state = merge(state, item, POLICY).state
    return state


def observable(state: FicheState) -> tuple[Any, ...]:
    """What users see: visible values, status, pins and the open conflicts."""
    pins = sorted((p.field, repr(p.value)) for p in state.pins.values())
    open_conflicts = sorted((c.field, repr(c.candidate), c.source.value, c.record_id)
                            for c in state.conflicts.values() if c.status == "open")
    return (state.visible, state.status, state.inactive_reason, pins, open_conflicts)


@settings(max_examples=300, deadline=None)
@given(event_sets(), st.randoms(use_true_random=False))
def test_any_arrival_order_gives_the_same_visible_state(
    updates: list[FicheUpdate], rng: Any,
) -> None:
    """Applying a permutation of the same events ends in the same fiche."""
    shuffled = list(updates)
    rng.shuffle(shuffled)
    assert observable(final(shuffled)) == observable(final(updates))


@settings(max_examples=200, deadline=None)
@given(event_sets())
def test_applying_every_event_twice_equals_applying_it_once(updates: list[FicheUpdate]) -> None:
    """Redelivery is harmless even without the inbox (stale versions, same pins)."""
    doubled = [item for pair in zip(updates, updates, strict=True) for item in pair]
    assert observable(final(doubled)) == observable(final(updates))


@settings(max_examples=200, deadline=None)
@given(event_sets(), st.sampled_from(["+3255777777", "+3255888888"]))
def test_automated_sources_never_overwrite_a_pin(updates: list[FicheUpdate], pinned: str) -> None:
    """Whatever automated sources say, before or after, the pinned value stays visible."""
    late = edit({"contact.phone": pinned}, at=T0 + timedelta(days=1))
    for position in (0, len(updates) // 2, len(updates)):
        sequence = [*updates[:position], late, *updates[position:]]
        assert final(sequence).visible.get("contact.phone") == pinned


@settings(max_examples=200, deadline=None)
@given(event_sets())
def test_versions_grow_by_one_per_visible_change(updates: list[FicheUpdate]) -> None:
    """Each applied change increments the version by exactly one; nothing else does."""
    state = new_state(uuid.UUID(int=7), FicheKind.PERSON)
    for item in updates:
        decision = merge(state, item, POLICY)
        expected = state.version + (1 if decision.event_type else 0)
        assert decision.state.version == expected
        if decision.event_type is None:
            assert decision.state.visible == state.visible
            # A fiche never published (version 0) may turn inactive unseen: a withdrawal that
            # came before its record's values leaves it empty, as the values and then the
            # withdrawal would, and only the latter order had anything to announce.
            if state.version > 0:
                assert decision.state.status == state.status
        state = decision.state
