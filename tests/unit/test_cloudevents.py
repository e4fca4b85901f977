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


def test_an_event_whose_time_has_no_utc_offset_is_refused_as_naive_time() -> None:
    """RFC 3339 requires an offset; guessing one would misplace the event among its source's
    others, so the event is dead-lettered with a reason that says what is wrong."""
    naive = json.dumps({**EVENT, "time": "2026-11-28T06:00:00"}).encode()
    with pytest.raises(PermanentError) as caught:
        decode(naive)
    assert caught.value.reason == "naive-time"
    assert "UTC offset" in caught.value.detail


def test_an_event_time_with_an_offset_is_given_in_utc() -> None:
    """Times are compared and subtracted downstream: every one is in UTC from decode on."""
    event = decode(json.dumps({**EVENT, "time": "2026-11-28T07:00:00+01:00"}).encode())
    assert event.time is not None
    assert event.time.isoformat() == "2026-11-28T06:00:00+00:00"
    [update] = map_event(event, CONTEXT)
    assert update.origin.time == event.time


def test_a_canonical_update_with_a_naive_time_is_not_valid() -> None:
    """The apply stage reads updates from a topic: a naive time there is schema-invalid
    (dead-lettered), never a TypeError in the middle of a batch."""
    from pydantic import ValidationError

    from sync.events import FicheUpdate

    [update] = map_event(decode(json.dumps(EVENT).encode()), CONTEXT)
    document = json.loads(update.model_dump_json(by_alias=True))
    document["origin"]["time"] = "2026-11-28T06:00:00"
    with pytest.raises(ValidationError):
        FicheUpdate.model_validate(document)
    document["origin"]["time"] = "2026-11-28T06:00:00Z"
    document["observedAt"] = "2026-11-28T06:00:00"
    with pytest.raises(ValidationError):
        FicheUpdate.model_validate(document)


def test_an_ssin_in_an_event_id_is_masked_by_a_keyed_hash_of_it() -> None:
    """The mark depends on the number as written and the secret: the same id gives the same
    masked id; two ids (even one number written two ways) two; another secret another one;
    masking twice changes nothing; an id without such a number is left as it is."""
    from sync.cloudevents import masked

    plain, dotted = masked("p-85073003328", b"k1"), masked("p-85.07.30-033.28", b"k1")
    assert plain == masked("p-85073003328", b"k1")
    assert plain != dotted
    assert plain.startswith("p-#")
    assert dotted.startswith("p-#")
    assert not any(char.isdigit() for char in dotted)
    assert not any(char.isdigit() for char in plain)
    assert masked(plain, b"k1") == plain
    assert masked("p-85073003328", b"k2") != plain
    assert masked("cobrha-p-4f1e-aa", b"k1") == "cobrha-p-4f1e-aa"


def test_the_updates_of_an_event_whose_id_holds_an_ssin_carry_only_the_mark() -> None:
    """The cause the update carries on, and the update id derived from the event id, are
    built from the masked id: neither shows the number nor is a plain hash of it."""
    from sync.mapping.common import update_id_of

    ssin_id = "kbo-85073003328"
    [update] = map_event(decode(json.dumps({**EVENT, "id": ssin_id}).encode()), CONTEXT)
    assert "85073003328" not in update.model_dump_json()
    assert update.origin.id.startswith("kbo-#")
    raw = decode(json.dumps({**EVENT, "id": ssin_id}).encode())
    assert update.update_id != update_id_of(raw)
    [again] = map_event(decode(json.dumps({**EVENT, "id": ssin_id}).encode()), CONTEXT)
    assert again.update_id == update.update_id


def test_longer_numbers_in_an_event_id_stay_readable() -> None:
    """A timestamp, a sequence number or a ten-digit enterprise number is no SSIN: an id that
    carries one keeps it (downstream reads them back), while a nine-digit SSIN head goes."""
    from sync.cloudevents import masked

    for readable in ("steady-12-v2-345-1733320000123456789", "kbo-250-0403019261",
                     "nihii-person-10012345"):
        assert masked(readable, b"k1") == readable
    assert masked("p-850730033-x", b"k1").startswith("p-#")
