"""A decision on a conflict is announced on ``sk.notification``, with who took it."""

from __future__ import annotations

from typing import Literal

import pytest

from sync.events import ConflictDecision, Source, UpdateAction
from sync.merge import merge
from tests.unit.test_merge import POLICY, edit, run, update


@pytest.mark.parametrize(("decision", "status"), [("accept", "accepted"), ("keep", "kept")])
def test_a_resolved_conflict_is_announced_with_its_editor(
    decision: Literal["accept", "keep"], status: str,
) -> None:
    """One ``conflict-resolved`` notification per decision, naming the conflict, the field,
    the candidate, its source and the editor."""
    state = run(edit({"contact.phone": "+3255000000"}),
                update(Source.COBRHA, 1, {"contact.phone": "+3255445566"}))
    conflict = next(iter(state.conflicts.values()))
    resolved = merge(state, update(Source.MANUAL, 0, {}, action=UpdateAction.RESOLVE,
                                   resolution=ConflictDecision(conflict_id=conflict.id,
                                                               decision=decision, editor="els")),
                     POLICY)
    [notice] = resolved.notifications
    assert (notice.type, notice.conflict_id, notice.field) == (
        "conflict-resolved", conflict.id, "contact.phone")
    assert (notice.candidate, notice.source, notice.editor) == ("+3255445566", "cobrha", "els")
    assert resolved.state.conflicts[conflict.id].status == status


def test_a_decision_on_a_conflict_no_longer_open_announces_nothing() -> None:
    """A second decision on the same conflict changes nothing and says nothing."""
    state = run(edit({"contact.phone": "+3255000000"}),
                update(Source.COBRHA, 1, {"contact.phone": "+3255445566"}))
    conflict = next(iter(state.conflicts.values()))
    keep = ConflictDecision(conflict_id=conflict.id, decision="keep", editor="els")
    state = run(update(Source.MANUAL, 0, {}, action=UpdateAction.RESOLVE, resolution=keep),
                state=state)
    again = merge(state, update(Source.MANUAL, 0, {}, action=UpdateAction.RESOLVE,
                                resolution=keep), POLICY)
    assert again.notifications == []
