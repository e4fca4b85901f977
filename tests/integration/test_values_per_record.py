"""Provenance per source record (migration 0020): a record's last values are one JSON object on
its ``source_record`` row, rebuilt into the same provenance entries on reading, and
``sksync migrate`` moves values stored one row per field into it."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest

from sync.events import EventOrigin, FicheKind, FicheUpdate, Source, UpdateAction
from sync.merge import FicheState
from sync.policy import default_policy
from sync.settings import Settings
from sync.store.apply import Applier
from sync.store.fiches import FicheRepository
from tests.integration.test_apply import TOPICS, cobrha
from tests.support.cli import sksync

#: The values as migrations 0001 and 0013 kept them, one row per field, made from the view;
#: the record rows as they were before 0020.
OLD_LAYOUT = """
ALTER VIEW field_value RENAME TO field_value_view;
CREATE TABLE field_value (
    fiche_id        uuid NOT NULL REFERENCES fiche (id),
    field           text NOT NULL,
    source          text NOT NULL,
    record_id       text NOT NULL,
    value           jsonb NOT NULL,
    source_version  bigint NOT NULL,
    observed_at     timestamptz NOT NULL,
    verified_at     timestamptz,
    as_given        jsonb,
    PRIMARY KEY (fiche_id, field, source, record_id)
);
INSERT INTO field_value SELECT * FROM field_value_view;
DROP VIEW field_value_view;
ALTER TABLE source_record DROP COLUMN fields, DROP COLUMN as_given, DROP COLUMN observed_at,
    DROP COLUMN verified_at, DROP COLUMN per_field;
DELETE FROM schema_migration WHERE name = '0020_values_per_record.sql';
"""
BRUSSELS = timezone(timedelta(hours=1))  # an observation time not written in UTC
VALUE_ROWS = "SELECT * FROM field_value ORDER BY fiche_id, field, source, record_id"


def manual(fiche_id: uuid.UUID, version: int, observed: str, **fields: Any) -> FicheUpdate:
    """A directory record (typed in by hand) of fiche ``fiche_id``: not an authentic source."""
    return FicheUpdate(
        update_id=uuid.uuid4(),
        origin=EventOrigin(source="urn:socialekaart:editor", id=uuid.uuid4().hex, type="t"),
        source=Source.MANUAL, record_id=f"fiche:{fiche_id}", source_version=version,
        observed_at=observed, kind=FicheKind.PERSON,  # type: ignore[arg-type]
        fiche_id=fiche_id, fields={k.replace("_", "."): v for k, v in fields.items()})


def withdrawn(person: str, version: int) -> FicheUpdate:
    return cobrha(person, version).model_copy(
        update={"action": UpdateAction.WITHDRAW, "fields": {}})


async def states(pool: asyncpg.Pool, ids: list[uuid.UUID]) -> dict[uuid.UUID, FicheState]:
    """The fiches as the apply path loads them."""
    async with pool.acquire() as conn, conn.transaction():
        repo = FicheRepository(conn)
        loaded = {fiche_id: await repo.load(fiche_id) for fiche_id in ids}
    return {fiche_id: state for fiche_id, state in loaded.items() if state is not None}


async def a_mixed_directory(applier: Applier) -> list[uuid.UUID]:
    """Fiches whose records hold values of several versions and times, texts as given,
    values of an authentic and of a non-authentic source, and a record with no value left."""
    phone = cobrha("18749704", 1, contact_phone="+3255112233", name_first="An").model_copy(
        update={"as_given": {"contact.phone": "055 11 22 33"}})
    [made] = await applier.apply([phone])
    await applier.apply([cobrha("18749704", 2, name_last="Peeters-Claes").model_copy(
        update={"observed_at": datetime(2026, 11, 29, 8, 30, tzinfo=BRUSSELS)})])
    assert made.fiche_id is not None
    await applier.apply([manual(made.fiche_id, 1, "2024-01-01T00:00:00Z",
                                contact_email="an@praktijk.be", languages=["nl"]),
                         manual(made.fiche_id, 2, "2024-02-01T00:00:00Z", languages=["nl", "fr"])])
    [gone] = await applier.apply([cobrha("54263481", 1, contact_phone="+3256000000")])
    await applier.apply([withdrawn("54263481", 2)])
    assert gone.fiche_id is not None
    return [made.fiche_id, gone.fiche_id]


async def test_a_record_is_one_row_holding_all_its_values(
    pg_pool: asyncpg.Pool, pg_conn: asyncpg.Connection,
) -> None:
    """A version that leaves a field out rewrites the record's one row: the field keeps the
    earlier version's value, version and time; the read-only view shows a row per value."""
    applier = Applier(pg_pool, default_policy(), TOPICS)
    [first] = await applier.apply([cobrha("18749704", 1, contact_phone="+3255112233")])
    await applier.apply([cobrha("18749704", 2, name_last="Claes")])
    [row] = await pg_conn.fetch("SELECT * FROM source_record")
    assert row["source_version"] == 2
    assert json.loads(row["fields"]) == {"name.last": "Claes", "contact.phone": "+3255112233"}
    shown = {(r["field"], r["source_version"]) for r in await pg_conn.fetch(
        "SELECT field, source_version FROM field_value")}
    assert shown == {("name.last", 2), ("contact.phone", 1)}
    assert await pg_conn.fetchval(
        "SELECT relkind::text FROM pg_class WHERE relname = 'field_value'") == "v"
    with pytest.raises(asyncpg.PostgresError):
        await pg_conn.execute(
            "INSERT INTO field_value (fiche_id, field, source, record_id, value, source_version,"
            " observed_at) VALUES ($1, 'x', 'cobrha', 'r', '1', 1, now())", first.fiche_id)


async def test_two_versions_of_a_record_in_one_batch_write_its_row_as_the_last_left_it(
    pg_pool: asyncpg.Pool, pg_conn: asyncpg.Connection,
) -> None:
    """The batch's writes are one statement, where a row may be written once: the record's
    writes are coalesced, the last one wins."""
    applier = Applier(pg_pool, default_policy(), TOPICS)
    results = await applier.apply([cobrha("18749704", 1, contact_phone="+3255112233"),
                                   cobrha("18749704", 2, name_last="Claes")])
    assert [r.outcome for r in results] == ["applied", "applied"]
    [row] = await pg_conn.fetch("SELECT source_version, fields, per_field FROM source_record")
    assert row["source_version"] == 2
    assert json.loads(row["fields"]) == {"name.last": "Claes", "contact.phone": "+3255112233"}
    assert json.loads(row["per_field"])["contact.phone"]["source_version"] == 1


async def test_a_record_whose_values_are_withdrawn_keeps_its_row_and_version(
    pg_pool: asyncpg.Pool, pg_conn: asyncpg.Connection,
) -> None:
    """A withdrawal empties the record's values, not its row: an older version arriving
    afterwards is still stale."""
    applier = Applier(pg_pool, default_policy(), TOPICS)
    await applier.apply([cobrha("18749704", 1, contact_phone="+3255112233")])
    await applier.apply([withdrawn("18749704", 3)])
    row = await pg_conn.fetchrow("SELECT source_version, fields FROM source_record")
    assert (row["source_version"], row["fields"]) == (3, "{}")
    [late] = await applier.apply([cobrha("18749704", 2, contact_phone="+3255112233")])
    assert late.outcome == "stale"


async def test_migrating_values_stored_one_row_per_field_gives_the_same_fiches(
    settings: Settings, pg_pool: asyncpg.Pool, pg_conn: asyncpg.Connection,
) -> None:
    """A database holding its values the old way (a ``field_value`` row per field) upgrades
    with ``sksync migrate``: every fiche loads with the same state (provenance field for field:
    value, source version, observation time, text as given), the view shows the rows the table
    had, and a value whose record row was missing gets it back at its latest version."""
    ids = await a_mixed_directory(Applier(pg_pool, default_policy(), TOPICS))
    before = await states(pg_pool, ids)
    assert len(before) == 2
    assert await pg_conn.fetchval(
        "SELECT count(*) FROM source_record WHERE per_field IS NOT NULL") == 2
    assert await pg_conn.fetchval("SELECT count(*) FROM source_record WHERE as_given IS NOT NULL")
    await pg_conn.execute(OLD_LAYOUT)
    rows = await pg_conn.fetch(VALUE_ROWS)
    assert len(rows) == 5
    assert {r["source"] for r in rows} == {"cobrha", "manual"}
    orphan = uuid.uuid4()
    await pg_conn.execute("INSERT INTO fiche (id, kind, version) VALUES ($1, 'person', 1)", orphan)
    await pg_conn.execute(
        "INSERT INTO field_value (fiche_id, field, source, record_id, value, source_version,"
        " observed_at) VALUES ($1, 'name.last', 'association', 'm:1', '\"Claes\"', 4, now()),"
        " ($1, 'name.first', 'association', 'm:1', '\"Els\"', 3, now())", orphan)

    done = await sksync(settings, "migrate")
    assert done.exit_code == 0, done.output

    assert await pg_conn.fetchval(
        "SELECT relkind::text FROM pg_class WHERE relname = 'field_value'") == "v"
    assert await states(pg_pool, ids) == before
    assert [r for r in await pg_conn.fetch(VALUE_ROWS) if r["fiche_id"] != orphan] == rows
    [kept] = (await states(pg_pool, [orphan])).values()
    assert kept.records == {(Source.ASSOCIATION, "m:1"): 4}
    assert {(p.field, p.source_version) for p in kept.provenance.values()} == {
        ("name.last", 4), ("name.first", 3)}
