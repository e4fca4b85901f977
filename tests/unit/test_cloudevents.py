"""Specification of decoding source messages (sync.cloudevents) and of dispatch by type."""

from __future__ import annotations

import json

import pytest

from sync.cloudevents import decode, encode
from sync.errors import PermanentError
from sync.mapping import MappingContext
from sync.sources import map_event, mapper_for, topic_key_for

CONTEXT = MappingContext(ssin_secret=b"test-secret")
EVENT = {"specversion": "1.0", "id": "kbo-250-0403019261", "source": "urn:be:fgov:economie:kbo",
         "type": "be.fgov.economie.kbo.entity.removed", "time": "2026-11-28T06:00:00Z",
         "subject": "0403019261",
         "data": {"sourceVersion": 250, "enterpriseNumber": "0403019261"}}


def reason_of(raw: bytes | None) -> str:
    with pytest.raises(PermanentError) as caught:
        decode(raw)
    return caught.value.reason


def without(key: str) -> bytes:
    return json.dumps({k: v for k, v in EVENT.items() if k != key}).encode()


def test_a_structured_cloudevent_is_decoded() -> None:
    """The envelope is read; ``data`` is left to the mapper of ``type``."""
    event = decode(json.dumps(EVENT).encode())
    assert (event.id, event.type, event.subject) == (
        "kbo-250-0403019261", "be.fgov.economie.kbo.entity.removed", "0403019261")


def test_what_encode_writes_decode_reads() -> None:
    """Round trip of the structured JSON format."""
    raw = encode(id="x-1", source="urn:test", type="be.association.member.removed",
                 subject="vvkp:1", data={"sourceVersion": 1})
    assert decode(raw).data == {"sourceVersion": 1}


def test_a_message_that_is_not_json_is_undecodable() -> None:
    """Truncated JSON and bytes that are not UTF-8 alike."""
    assert reason_of(b'{"specversion": "1.0", "id": ') == "undecodable"
    assert reason_of(b"\xff\xfe\x00garbage") == "undecodable"


def test_an_empty_message_is_refused() -> None:
    """A tombstone carries no event."""
    assert reason_of(None) == "empty-message"


def test_json_that_is_not_an_object_is_not_a_cloudevent() -> None:
    """A list or a string is no envelope."""
    assert reason_of(b"[1, 2, 3]") == "not-a-cloudevent"


@pytest.mark.parametrize("missing", ["id", "type", "source"])
def test_a_cloudevent_without_id_type_or_source_is_refused(missing: str) -> None:
    """(source, id) identify an event; type chooses its mapper."""
    assert reason_of(without(missing)) == "not-a-cloudevent"


def test_the_error_names_the_missing_field_not_the_payload() -> None:
    """Errors never carry message contents (they may hold protected data)."""
    with pytest.raises(PermanentError) as caught:
        decode(without("id"))
    assert "id" in caught.value.detail
    assert "0403019261" not in str(caught.value)


def test_an_event_type_nobody_maps_is_refused() -> None:
    """Unknown types are dead-lettered, not ignored."""
    event = decode(json.dumps({**EVENT, "type": "be.example.thing.happened"}).encode())
    with pytest.raises(PermanentError, match="unknown-type"):
        map_event(event, CONTEXT)


@pytest.mark.parametrize(
    ("event_type", "topic"),
    [("be.ehealth.cobrha.professional.upserted", "cobrha_professional"),
     ("be.ehealth.cobrha.professional.removed", "cobrha_professional"),
     ("be.ehealth.cobrha.organisation.upserted", "cobrha_organisation"),
     ("be.ehealth.cobrha.organisation.removed", "cobrha_organisation"),
     ("be.fgov.economie.kbo.entity.upserted", "kbo_entity"),
     ("be.fgov.economie.kbo.entity.removed", "kbo_entity"),
     ("be.association.member.upserted", "association_member"),
     ("be.association.member.removed", "association_member"),
     ("be.socialekaart.fiche.edited", "manual_edit"),
     ("be.socialekaart.fiche.created", "manual_edit"),
     ("be.socialekaart.conflict.resolved", "manual_edit")],
)
def test_every_source_event_type_has_a_mapper_and_a_topic(event_type: str, topic: str) -> None:
    """Each type of SOURCES.md is mapped, and belongs on its source's topic."""
    assert callable(mapper_for(event_type))
    assert topic_key_for(event_type) == topic
