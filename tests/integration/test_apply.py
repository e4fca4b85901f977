"""The apply engine on a real PostgreSQL: each rule of DESIGN.md §3-§4 as the store keeps it."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import pytest

from sync.errors import TransientError
from sync.events import (
    EventOrigin,
    FicheKind,
    FicheUpdate,
    Identifier,
    PinInfo,
    Source,
    UpdateAction,
)
from sync.policy import default_policy
from sync.retry import retry_transient
from sync.store.apply import Applier
from sync.store.fiches import FicheRepository

TOPICS = {"fiche_event": "sk.fiche.event", "notification": "sk.notification"}


def cobrha(person: str, version: int, **fields: Any) -> FicheUpdate:
    """A CoBRHA update of person ``person`` (8 digits) at ``version``."""
    return FicheUpdate(
        update_id=uuid.uuid4(),
        origin=EventOrigin(source="urn:be:fgov:ehealth:cobrha", id=uuid.uuid4().hex, type="t"),
        source=Source.COBRHA, record_id=f"professional:{person}", source_version=version,
        observed_at="2026-11-28T09:00:00Z", kind=FicheKind.PERSON,  # type: ignore[arg-type]
        identifiers=(Identifier(type="NIHII-PERSON", value=person),),
        fields={"name.last": "Peeters", **{k.replace("_", "."): v for k, v in fields.items()}})


def pin(fiche_id: uuid.UUID, **fields: Any) -> FicheUpdate:
    return FicheUpdate(
        update_id=uuid.uuid4(),
        origin=EventOrigin(source="urn:socialekaart:editor", id=uuid.uuid4().hex, type="t"),
        source=Source.MANUAL, record_id=f"edit:{fiche_id}", source_version=0,
        observed_at="2026-11-28T10:00:00Z", kind=FicheKind.PERSON,  # type: ignore[arg-type]
        action=UpdateAction.PIN, fiche_id=fiche_id,
        pin=PinInfo(author="u-1029", role="editor", reason="telefonisch bevestigd"),
        fields={k.replace("_", "."): v for k, v in fields.items()})


@pytest.fixture
def applier(pg_pool: asyncpg.Pool) -> Applier:
    return Applier(pg_pool, default_policy(), TOPICS)


async def outbox(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT topic, payload FROM outbox ORDER BY id")
    return [{"topic": r["topic"], **json.loads(r["payload"])} for r in rows]


async def test_an_update_writes_fiche_identifier_values_and_outbox_together(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """One transaction holds the fiche, its provenance and the outbox row; a source record's
    update needs no inbox row (its sourceVersion makes a redelivery harmless)."""
    [result] = await applier.apply([cobrha("18749704", 1, contact_phone="+3255112233")])
    assert result.outcome == "applied"
    assert result.event_type == "created"
    fiche = await pg_conn.fetchrow("SELECT * FROM fiche WHERE id = $1", result.fiche_id)
    assert fiche["version"] == 1
    assert json.loads(fiche["visible"])["contact.phone"] == "+3255112233"
    assert await pg_conn.fetchval(
        "SELECT fiche_id FROM fiche_identifier WHERE type = 'NIHII-PERSON'") == result.fiche_id
    assert await pg_conn.fetchval("SELECT count(*) FROM field_value") == 2
    assert await pg_conn.fetchval("SELECT count(*) FROM inbox") == 0
    [event] = await outbox(pg_conn)
    assert event["type"] == "be.socialekaart.fiche.created"
    assert event["data"]["version"] == 1


async def test_the_same_update_delivered_again_is_a_duplicate_and_writes_nothing(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """The record's version on the fiche makes redelivery harmless."""
    update = cobrha("18749704", 1)
    await applier.apply([update])
    [again] = await applier.apply([update])
    assert again.outcome == "duplicate"
    assert len(await outbox(pg_conn)) == 1
    assert await pg_conn.fetchval("SELECT version FROM fiche") == 1


async def test_a_transient_failure_mid_batch_commits_nothing_of_the_batch(
    applier: Applier, pg_conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The unit of work rolls back unless committed: no half-applied batch."""
    calls = 0
    original = FicheRepository.enqueue

    async def failing(self: FicheRepository, *args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise TransientError("connection lost")
        await original(self, *args)

    monkeypatch.setattr(FicheRepository, "enqueue", failing)
    with pytest.raises(TransientError):
        await applier.apply([cobrha("18749704", 1), cobrha("54263481", 1)])
    for table in ("fiche", "inbox", "outbox", "source_record", "fiche_identifier"):
        assert await pg_conn.fetchval(f"SELECT count(*) FROM {table}") == 0, table


async def test_no_change_means_no_version_and_no_event(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """A newer sourceVersion with the same values is recorded but emits nothing."""
    await applier.apply([cobrha("18749704", 1, contact_phone="+3255112233")])
    [result] = await applier.apply([cobrha("18749704", 2, contact_phone="+3255112233")])
    assert result.outcome == "unchanged"
    assert len(await outbox(pg_conn)) == 1
    assert await pg_conn.fetchval("SELECT source_version FROM source_record") == 2


async def test_a_stale_version_is_counted_and_ignored(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """An older sourceVersion of the same record changes nothing."""
    await applier.apply([cobrha("18749704", 5, contact_phone="+3255000005")])
    [result] = await applier.apply([cobrha("18749704", 4, contact_phone="+3255000004")])
    assert (result.outcome, result.version) == ("stale", 1)
    assert await pg_conn.fetchval("SELECT source_version FROM source_record") == 5
    visible = json.loads(await pg_conn.fetchval("SELECT visible FROM fiche"))
    assert visible["contact.phone"] == "+3255000005"


async def test_a_pin_holds_and_a_differing_source_value_raises_one_conflict_notification(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """Manual edit, then CoBRHA values that differ: pin kept, one notice per candidate value.

    The value CoBRHA gave before the edit is a candidate too; it closes when CoBRHA moves on.
    """
    [created] = await applier.apply([cobrha("18749704", 1, contact_phone="+3255112233")])
    assert created.fiche_id is not None
    await applier.apply([pin(created.fiche_id, contact_phone="+3255000000")])
    await applier.apply([cobrha("18749704", 2, contact_phone="+3255445566")])
    await applier.apply([cobrha("18749704", 3, contact_phone="+3255445566", gender="F")])
    visible = json.loads(await pg_conn.fetchval("SELECT visible FROM fiche"))
    assert visible["contact.phone"] == "+3255000000"
    conflicts = await pg_conn.fetch(
        "SELECT field, candidate, status FROM conflict ORDER BY status")
    assert [(c["field"], json.loads(c["candidate"]), c["status"]) for c in conflicts] == [
        ("contact.phone", "+3255112233", "closed"), ("contact.phone", "+3255445566", "open")]
    notices = [e for e in await outbox(pg_conn) if e["topic"] == "sk.notification"]
    assert [n["type"] for n in notices] == ["be.socialekaart.notification.conflict-raised"] * 2
    assert [n["data"]["candidate"] for n in notices] == ["+3255112233", "+3255445566"]


async def test_an_edit_of_an_unknown_fiche_is_rejected_without_a_trace(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """A permanent error in one update leaves the rest of the batch applied."""
    results = await applier.apply([pin(uuid.uuid4(), contact_phone="+3255000000"),
                                   cobrha("18749704", 1)])
    assert [r.outcome for r in results] == ["rejected", "applied"]
    assert results[0].reason == "unknown-fiche"
    assert await pg_conn.fetchval("SELECT count(*) FROM inbox") == 0  # not even the pin's
    assert await pg_conn.fetchval("SELECT count(*) FROM fiche") == 1


async def test_concurrent_updates_of_one_fiche_are_serialised_and_each_gets_a_version(
    pg_url: str, pg_conn: asyncpg.Connection,
) -> None:
    """Two instances applying to the same fiche at once: row locks, one version each."""
    pools = [await asyncpg.create_pool(pg_url, min_size=1, max_size=2) for _ in range(2)]
    try:
        appliers = [Applier(pool, default_policy(), TOPICS) for pool in pools]
        await appliers[0].apply([cobrha("18749704", 1, contact_phone="+3255000001")])
        updates = [cobrha("18749704", v, contact_phone=f"+32550000{v:02d}") for v in (2, 3)]
        await asyncio.gather(*(a.apply([u]) for a, u in zip(appliers, updates, strict=True)))
    finally:
        for pool in pools:
            await pool.close()
    versions = [r["version"] for r in await pg_conn.fetch(
        "SELECT version FROM fiche_history ORDER BY version")]
    assert versions[0] == 1
    assert versions == list(range(1, len(versions) + 1))
    visible = json.loads(await pg_conn.fetchval("SELECT visible FROM fiche"))
    assert visible["contact.phone"] == "+3255000003"


def member(person: str, version: int, **fields: Any) -> FicheUpdate:
    """An association member with NIHII number ``person`` (8 digits): another record, of
    another source, about the professional of :func:`cobrha`."""
    update = cobrha(person, version, **fields)
    return update.model_copy(update={
        "source": Source.ASSOCIATION, "record_id": f"member:{person}",
        "origin": EventOrigin(source="urn:socialekaart:association:vvkp", id=uuid.uuid4().hex,
                              type="t")})


async def test_two_instances_making_a_fiche_for_one_identifier_at_once_make_one(
    pg_url: str, pg_conn: asyncpg.Connection,
) -> None:
    """Two instances each apply a new record carrying the same identifier at the same moment
    (a CoBRHA professional and an association member), as the apply stage does: a transient
    failure retried. Whichever commits first makes the fiche; the other, which found no owner
    of the identifier when it locked, meets it at its write and, retried, joins it: one fiche
    per identifier, both records on it, every time."""
    pools = [await asyncpg.create_pool(pg_url, min_size=1, max_size=2) for _ in range(2)]
    persons = [f"{18749704 + n:08d}" for n in range(20)]
    try:
        appliers = [Applier(pool, default_policy(), TOPICS) for pool in pools]
        for person in persons:
            updates = [cobrha(person, 1, contact_phone="+3255000001"),
                       member(person, 1, contact_email="praktijk@example.be")]
            results = await asyncio.gather(*(
                retry_transient(lambda a=a, u=u: a.apply([u]), what="apply", max_backoff_s=0.2)
                for a, u in zip(appliers, updates, strict=True)))
            assert [r.outcome for [r] in results] == ["applied", "applied"], results
    finally:
        for pool in pools:
            await pool.close()
    rows = await pg_conn.fetch(
        "SELECT i.value, count(DISTINCT i.fiche_id) AS fiches, count(DISTINCT r.source) AS sources"
        " FROM fiche_identifier i JOIN source_record r ON r.fiche_id = i.fiche_id"
        " WHERE i.type = 'NIHII-PERSON' GROUP BY i.value")
    assert {(r["value"], r["fiches"], r["sources"]) for r in rows} == {
        (person, 1, 2) for person in persons}
    assert await pg_conn.fetchval("SELECT count(*) FROM fiche") == len(persons)
