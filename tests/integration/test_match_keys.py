"""Matching's blocking keys, one ``match_keys`` row per fiche (migration 0017): written only when
they change, and moved from the row-per-key table by ``sksync migrate`` with every candidate
found as before."""

from __future__ import annotations

import uuid

import asyncpg

from sync.events import FicheUpdate, Source
from sync.jsontext import dumps
from sync.matching import blocking_keys, lookup_keys, profile_of_update
from sync.policy import default_policy
from sync.settings import Settings
from sync.store.apply import Applier
from sync.store.match_sql import CANDIDATES_OF_RECORDS
from sync.store.matching import MatchStore
from sync.store.reads import Reads
from tests.integration.test_matching import TOPICS, cobrha_record, hand_made
from tests.support.builders import nihii
from tests.support.cli import sksync

#: The key table as migrations 0006, 0008 and 0009 left it: one row per (key, fiche).
OLD_LAYOUT = """
CREATE TABLE match_key (key text NOT NULL, fiche_id uuid NOT NULL, PRIMARY KEY (key, fiche_id));
CREATE INDEX match_key_fiche ON match_key (fiche_id);
INSERT INTO match_key (key, fiche_id) SELECT unnest(keys), fiche_id FROM match_keys;
DROP TABLE match_keys;
DELETE FROM schema_migration WHERE name = '0017_match_keys_per_fiche.sql';
"""

Found = list[tuple[uuid.UUID, str]]


async def found_by_both_searches(
    conn: asyncpg.Connection, record: FicheUpdate, source: Source,
) -> tuple[Found, Found]:
    """The candidates of ``record`` as a record of ``source``: one record at a time, and as
    an apply batch asks (fiche id and display name, in order)."""
    profile = profile_of_update(record)
    types = sorted({i.type for i in record.identifiers})
    one = await MatchStore(conn).candidates(profile, source, record.record_id, types, 10)
    keys = sorted(lookup_keys(blocking_keys(profile), source.value))
    batched: list[tuple[int, uuid.UUID, str]] = []
    reads = Reads()
    reads.add(CANDIDATES_OF_RECORDS, [0], [profile.kind], [source.value], [record.record_id],
              [" ".join(types)], [dumps(keys)], 10,
              then=lambda row: batched.extend(row["candidates"]))
    await reads.run(conn)
    return ([(f, p.display) for f, p in one], [(f, p) for _, f, p in batched])


async def test_migrating_keys_stored_one_row_per_key_keeps_every_candidate(
    settings: Settings, pg_pool: asyncpg.Pool, pg_conn: asyncpg.Connection,
) -> None:
    """A database holding its keys the old way (a row per key) upgrades with ``sksync
    migrate`` to one row per fiche, holding the same keys, and the candidate searches of a
    CoBRHA record and of an association member find the same fiches in the same order."""
    applier = Applier(pg_pool, default_policy(), TOPICS)
    await applier.apply([hand_made(), hand_made("Jan", "Peeters", phone="055 99 88 77"),
                         hand_made("An", "Peeters", postcode="8500", municipality="Kortrijk",
                                   phone="056 11 22 33")])
    await applier.apply([cobrha_record(nihii("2"), first="Anna", last="Peeters")])
    searches = [(cobrha_record(nihii("3")), Source.COBRHA),
                (cobrha_record(nihii("4"), first="Anna", last="Peeters"), Source.ASSOCIATION)]
    before = [await found_by_both_searches(pg_conn, r, s) for r, s in searches]
    assert all(one and batch for one, batch in before), before
    keys = {r["fiche_id"]: r["keys"] for r in await pg_conn.fetch("SELECT * FROM match_keys")}

    await pg_conn.execute(OLD_LAYOUT)
    rows = await pg_conn.fetchval("SELECT count(*) FROM match_key")
    assert rows == sum(len(k) for k in keys.values()) > 2 * len(keys)
    done = await sksync(settings, "migrate")
    assert done.exit_code == 0, done.output

    assert await pg_conn.fetchval("SELECT to_regclass('match_key')") is None
    after = {r["fiche_id"]: r["keys"] for r in await pg_conn.fetch("SELECT * FROM match_keys")}
    assert after == keys
    assert [await found_by_both_searches(pg_conn, r, s) for r, s in searches] == before


async def test_the_keys_row_is_written_only_when_the_keys_change(
    pg_pool: asyncpg.Pool, pg_conn: asyncpg.Connection,
) -> None:
    """A new version that changes no key (the licence) leaves the fiche's keys row as it was;
    one that changes the phone number rewrites it, with the new number's key."""
    applier = Applier(pg_pool, default_policy(), TOPICS)
    number = nihii("5")
    [made] = await applier.apply([cobrha_record(number)])

    async def keys_row() -> tuple[int, list[str]]:
        row = await pg_conn.fetchrow("SELECT xmin::text::bigint AS written, keys"
                                     " FROM match_keys WHERE fiche_id = $1", made.fiche_id)
        assert row is not None
        return row["written"], row["keys"]

    first = await keys_row()
    [suspended] = await applier.apply([cobrha_record(number, version=2, licence="SUSPENDED")])
    assert suspended.fiche_id == made.fiche_id
    assert await pg_conn.fetchval("SELECT version FROM fiche WHERE id = $1", made.fiche_id) == 2
    assert await keys_row() == first
    await applier.apply([cobrha_record(number, version=3, licence="SUSPENDED",
                                       phone="+3255998877")])
    written, keys = await keys_row()
    assert written != first[0]
    assert "association|p|p|055998877" in keys
    assert not any(k.endswith("|p|p|055112233") for k in keys)
