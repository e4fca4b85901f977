"""Two people behind one SSIN, on a real PostgreSQL: refused in a batch as alone, while a
person's new SSIN is no conflict."""

from __future__ import annotations

import asyncpg

from sync.cloudevents import CloudEvent
from sync.events import FicheUpdate
from sync.mapping import MappingContext
from sync.policy import default_policy
from sync.sources import map_event
from sync.store.apply import Applier
from tests.support.builders import nihii, professional, ssin

TOPICS = {"fiche_event": "sk.fiche.event", "notification": "sk.notification"}


def mapped(**kwargs: object) -> FicheUpdate:
    event = CloudEvent.model_validate(professional(**kwargs))  # type: ignore[arg-type]
    [update] = map_event(event, MappingContext(ssin_secret=b"test"))
    return update


async def test_in_one_batch_the_second_person_with_the_same_ssin_is_rejected_alone(
    pg_pool: asyncpg.Pool, pg_conn: asyncpg.Connection,
) -> None:
    """The first record makes its fiche; the second is rejected (identity-conflict), and a
    third, unrelated record of the batch is applied as usual."""
    shared, first, second = ssin(), nihii(), nihii()
    results = await Applier(pg_pool, default_policy(), TOPICS).apply([
        mapped(number=first, first="An", last="Peeters", with_ssin=shared),
        mapped(number=second, first="Els", last="Wouters", with_ssin=shared),
        mapped(first="Jan", last="Claes")])
    assert [r.outcome for r in results] == ["applied", "rejected", "applied"]
    assert results[1].reason == "identity-conflict"
    assert shared not in str(results[1].error)
    assert await pg_conn.fetchval("SELECT count(*) FROM fiche") == 2
    assert await pg_conn.fetchval(
        "SELECT count(*) FROM fiche_identifier WHERE value = $1", second[:8]) == 0


async def test_a_new_ssin_for_the_same_nihii_person_joins_the_fiche(
    pg_pool: asyncpg.Pool, pg_conn: asyncpg.Connection,
) -> None:
    """A BIS number replaced by a national register number: the same person, one fiche."""
    number, applier = nihii(), Applier(pg_pool, default_policy(), TOPICS)
    [made] = await applier.apply([mapped(number=number, with_ssin=ssin(), version=1)])
    [again] = await applier.apply([mapped(number=number, with_ssin=ssin(), version=2)])
    assert again.outcome in ("applied", "unchanged")
    assert again.fiche_id == made.fiche_id
    assert await pg_conn.fetchval(
        "SELECT count(*) FROM fiche_identifier WHERE type = 'SSIN-HASH'") == 2
