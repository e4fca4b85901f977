"""The events the service emits, built the fast way, are the documents the models define."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sync.emitted import emitted_events, public_identifiers
from sync.events import FicheEventData, Identifier, Source
from sync.merge import merge, new_state
from sync.policy import default_policy
from tests.unit.test_merge import update

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


def test_a_fiche_event_is_what_a_validated_fiche_event_data_gives() -> None:
    """Nested values, several identifiers (one protected), a cause: the document equals the
    validated model's, key for key and in the same order."""
    fields = {"name.last": "Peeters", "name.first": "Ann",
              "addresses": [{"street": {"nl": "Kerkstraat"}, "houseNumber": "12",
                             "postcode": "9700", "nis": "45035", "placed": True}],
              "professions": [{"code": "PHYSICIAN", "since": None}], "contact.phone": "+32551"}
    record = update(Source.COBRHA, 1, fields)
    decision = merge(new_state(uuid.UUID(int=7), record.kind), record, default_policy())
    identifiers = [Identifier(type="NIHII-PERSON", value="12345678"),
                   Identifier(type="SSIN-HASH", value="ab" * 32)]
    [event] = emitted_events(decision, record, identifiers, NOW)
    state = decision.state
    expected = FicheEventData(
        fiche_id=state.fiche_id, version=state.version, kind=state.kind, status=state.status,
        inactive_reason=state.inactive_reason, changed_fields=decision.changed_fields,
        snapshot=dict(sorted(state.visible.items())),
        identifiers=public_identifiers(identifiers), cause=record.origin,
    ).model_dump(mode="json", by_alias=True)
    assert event.document["data"] == expected
    assert list(event.document["data"]) == list(expected)
    assert "SSIN-HASH" not in str(event.document)
