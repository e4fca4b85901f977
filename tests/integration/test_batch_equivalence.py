"""A batch applied at once gives exactly what its updates give applied one at a time.

``Applier.apply(batch)`` reads ahead for the whole batch (``FicheRepository.prefetch``,
``BatchMatchStore``) and buffers its writes until the flush. One seeded, mixed workload goes
into two fresh databases, as one batch (or batches of 9) and update by update (``apply([u])``,
same order); both must leave the same rows (fiches keyed by identifiers, provenance, records,
pins, conflicts, history, inbox, every matching table, the outbox in order per fiche) and the
same ``ApplyResult`` per update. The batch holds: links to hand-made fiches (one made in the
batch, one pinned just before), reviews (two alike fiches; records already waiting whose newer
versions wait again or become new fiches), records matching nobody, a CoBRHA and an association
record of one person (both orders) where the second links to the fiche the first made earlier
in the batch, two records competing for one fiche, several versions of a record, updates by
identifier, stale versions, a duplicate, withdrawals, and seeded random people and fiches. The
batched run is checked to take those paths, so the equality cannot hold vacuously.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from sync.cloudevents import CloudEvent
from sync.events import EventOrigin, FicheKind, FicheUpdate, PinInfo, Source, UpdateAction
from sync.mapping import MappingContext
from sync.mapping.common import address
from sync.policy import default_policy
from sync.sources import map_event
from sync.store.apply import Applier, ApplyResult
from sync.store.dsn import create_database, drop_database
from tests.support.builders import nihii, professional, professional_removed
from tests.support.infra import Infrastructure

TOPICS = {"fiche_event": "sk.fiche.event", "notification": "sk.notification"}
CONTEXT = MappingContext(ssin_secret=b"test-secret")
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)  # one clock for both runs: rows compare whole
SEED = 20261128
Town = tuple[str, str]
OUDENAARDE, RONSE, ZOTTEGEM = ("9700", "Oudenaarde"), ("9600", "Ronse"), ("9620", "Zottegem")
KORTRIJK, GERAARDSBERGEN = ("8500", "Kortrijk"), ("9500", "Geraardsbergen")
AALST, NINOVE = ("9300", "Aalst"), ("9400", "Ninove")
FILLER_TOWNS = {("9800", "Deinze"): ["+3293800001", "+3293800002"],
                ("9900", "Eeklo"): ["+3293770001", "+3293770002"],
                ("9160", "Lokeren"): ["+3293480001"]}
FILLER_FIRST, FILLER_LAST = ["Lotte", "Lore", "Pieter", "Nele", "Noor"], ["Willems", "Mertens"]
FICHE_KEY = ("coalesce((SELECT string_agg(type || ':' || value, ',' ORDER BY type, value) "
             "FROM fiche_identifier i WHERE i.fiche_id = fiche.id), id::text)")
SNAPSHOT = {  # table: its columns, except timestamps the database sets itself
    "fiche": f"{FICHE_KEY}, id, kind, version, status, inactive_reason, visible, verified_at",
    "fiche_identifier": "type, value, fiche_id", "source_record": "*", "match_keys": "*",
    "field_value": "fiche_id, field, source, record_id, value, source_version, observed_at, "
                   "verified_at",
    "pin": "fiche_id, field, value, author", "inbox": "source, event_id, outcome",
    "conflict": "id, fiche_id, field, candidate, source, record_id, status, raised_at",
    "fiche_history": "fiche_id, version, event_type, changed_fields, cause_source, "
                     "cause_event_id, before",
    "match_candidate": "id, source, record_id, fiche_id, status, score, parts, pending_update, "
                       "source_version, decided_at, decided_by",
    "match_link": "fiche_id, source, record_id, identifiers, score, match_id, linked_by, "
                  "split_into",
    "match_rejection": "source, record_id, fiche_id", "source_progress": "*",
    "match_profile": "fiche_id, kind, profile",
}


class Workload:
    """Builds the updates with one seeded random generator and numbered event ids."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.ids = (f"ev-{seed}-{n}" for n in range(10**6))

    def cobrha(self, number: str, first: str, last: str, town: Town, phone: str,
               version: int = 1) -> FicheUpdate:
        event = professional(number, version=version, first=first, last=last, phone=phone,
                             zip_code=town[0], municipality=town[1], event_id=next(self.ids))
        event["data"]["professions"][0]["email"] = f"{first}.{last}@example.be".lower()
        return map_event(CloudEvent.model_validate(event), CONTEXT)[0]

    def member(self, member_id: str, first: str = "", last: str = "", town: Town = AALST,
               phone: str = "", version: int = 1, removed: bool = False) -> FicheUpdate:
        """An association member without NIHII number: only matching can place it."""
        data: dict[str, Any] = {"sourceVersion": version, "associationId": "vvkp",
                                "memberId": member_id}
        if not removed:
            data |= {"firstName": first, "lastName": last, "profession": "PHYSICIAN",
                     "phone": phone, "email": f"{first}@praktijk.be".lower(),
                     "address": {"street": "Kerkstraat", "houseNumber": "12",
                                 "zipCode": town[0], "municipality": town[1]}}
        return map_event(CloudEvent.model_validate({
            "specversion": "1.0", "id": next(self.ids), "source": "urn:association:vvkp",
            "type": f"be.association.member.{'removed' if removed else 'upserted'}",
            "time": "2026-11-28T12:00:00Z", "subject": f"vvkp:{member_id}", "data": data}),
            CONTEXT)[0]

    def manual(self, fiche_id: uuid.UUID, **given: Any) -> FicheUpdate:
        return FicheUpdate(
            update_id=uuid.UUID(int=self.rng.getrandbits(128), version=4),
            origin=EventOrigin(source="urn:socialekaart:editor", id=next(self.ids), type="t"),
            source=Source.MANUAL, source_version=1, observed_at=datetime(2024, 1, 1, tzinfo=UTC),
            kind=FicheKind.PERSON, fiche_id=fiche_id, **given)

    def hand_made(self, first: str, last: str, town: Town, phone: str) -> FicheUpdate:
        """A fiche typed in by hand: no identifiers."""
        fiche_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        return self.manual(fiche_id, record_id=f"fiche:{fiche_id}", fields={
            "name.first": first, "name.last": last, "contact.phone": phone,
            "professions": [{"code": "GENERAL_PRACTITIONER"}],
            "addresses": [address(street="Kerkstraat", number="12", box=None,
                                  postcode=town[0], municipality=town[1])]})

    def pin(self, fiche_id: uuid.UUID, phone: str) -> FicheUpdate:
        return self.manual(fiche_id, record_id=f"edit:{fiche_id}", action=UpdateAction.PIN,
                           fields={"contact.phone": phone},
                           pin=PinInfo(author="u-1", role="editor", reason="called"))

    def shuffled(self, *runs: list[FicheUpdate]) -> list[FicheUpdate]:
        """The updates of ``runs`` interleaved at random, each run's in its order."""
        keyed = [(key, update) for run in runs
                 for key, update in zip(sorted(self.rng.random() for _ in run), run, strict=True)]
        return [update for _, update in sorted(keyed, key=lambda pair: pair[0])]

    def filler(self) -> tuple[list[FicheUpdate], list[FicheUpdate]]:
        """Random hand-made fiches, and people (CoBRHA versions, association members) sharing
        their names, towns and phones."""
        rng, towns, hands, people = self.rng, list(FILLER_TOWNS), [], []
        for _ in range(8):
            town, first = rng.choice(towns), rng.choice(FILLER_FIRST)
            hands.append(self.hand_made(first if rng.random() < .7 else f"{first[0]}.",
                                        rng.choice(FILLER_LAST), town,
                                        rng.choice(FILLER_TOWNS[town])))
        for n in range(14):
            town = rng.choice(towns)
            person = (nihii("1", rng), rng.choice(FILLER_FIRST), rng.choice(FILLER_LAST), town)
            steps = [self.cobrha(*person, phone=rng.choice(FILLER_TOWNS[town]))]
            if rng.random() < .4:
                steps.insert(rng.randint(0, 1), self.member(
                    f"f{n}", *person[1:], phone=rng.choice(FILLER_TOWNS[town])))
            if rng.random() < .5:
                steps.append(self.cobrha(*person, rng.choice(FILLER_TOWNS[town]), version=2))
            people.append(steps)
        return hands, self.shuffled(*people)


def build(seed: int) -> tuple[list[FicheUpdate], list[FicheUpdate], dict[str, Any]]:
    """(seed batch, main batch, the scripted updates and hand-made fiche ids by name)."""
    w = Workload(seed)
    n: dict[str, str] = defaultdict(lambda: nihii("1", w.rng))  # a NIHII number per name
    hand = {"an": w.hand_made("An", "Peeters", OUDENAARDE, "055 11 22 33"),
            "claes1": w.hand_made("J.", "Claes", RONSE, "055 21 21 21"),
            "claes2": w.hand_made("J.", "Claes", RONSE, "055 21 21 21"),
            "wim": w.hand_made("W.", "Wouters", ZOTTEGEM, "09 360 00 00"),
            "marc": w.hand_made("M.", "Smets", ZOTTEGEM, "09 361 11 11"),
            "kat": w.hand_made("Katrien", "Goossens", GERAARDSBERGEN, "054 41 41 41"),
            "els": w.hand_made("Els", "Maes", AALST, "053 70 70 70")}
    filler_hands, filler_main = w.filler()
    wim = [w.cobrha(n["wim"], "Wim", "Wouters", ZOTTEGEM, "+3293600000", v) for v in (1, 2, 3)]
    seed_batch = [*hand.values(), *filler_hands, wim[0],  # Wim and Marc wait for review
                  w.cobrha(n["marc"], "Marc", "Smets", ZOTTEGEM, "+3293611111"),
                  w.cobrha(n["lies"], "Lies", "Martens", NINOVE, "+3254300000"),
                  w.cobrha(n["tom"], "Tom", "Vermeulen", KORTRIJK, "+3256200000")]
    s = {  # the scripted updates of the main batch, in their order (random ones go between)
        "an": w.cobrha(n["an"], "An", "Peeters", OUDENAARDE, "+3255112233"),
        "jana": w.cobrha(n["jana"], "Jana", "Claes", RONSE, "+3255212121"),
        "wim2": wim[1],
        "bram": w.cobrha(n["bram"], "Bram", "Jacobs", OUDENAARDE, "+3255305070"),
        "pin": w.pin(hand["els"].fiche_id or uuid.UUID(int=0), "+3253000000"),
        "bram_member": w.member("5120", "Bram", "Jacobs", OUDENAARDE, "+3255305070"),
        "an2": w.cobrha(n["an"], "An", "Peeters", OUDENAARDE, "+3255112234", version=2),
        "jana2": w.cobrha(n["jana"], "Jana", "Claes", RONSE, "+3255212121", version=2),
        "jana_stale": w.cobrha(n["jana"], "Jana", "Claes", RONSE, "+3255212121"),
        "marc2": w.cobrha(n["marc"], "Marc", "Smets", KORTRIJK, "+3256999999", version=2),
        "kat": w.cobrha(n["kat"], "Katrien", "Goossens", GERAARDSBERGEN, "+3254414141"),
        "kat2": w.cobrha(n["kat2"], "Katrien", "Goossens", GERAARDSBERGEN, "+3254414141"),
        "els": w.cobrha(n["els"], "Els", "Maes", AALST, "+3253707070"),
        "lies2": w.cobrha(n["lies"], "Lies", "Martens", NINOVE, "+3254300001", version=2),
        "tom_removed": map_event(CloudEvent.model_validate(
            professional_removed(n["tom"], version=2) | {"id": "tom-removed"}), CONTEXT)[0],
        "sofie_hand": w.hand_made("Sofie", "De Smet", NINOVE, "054 33 33 33"),
        "sofie": w.cobrha(n["sofie"], "Sofie", "De Smet", NINOVE, "+3254333333"),
        "piet": w.cobrha(n["piet"], "Piet", "Janssens", KORTRIJK, "+3256000000"),
        "ruben_member": w.member("6001", "Ruben", "Claeys", AALST, "+3253111111"),
        "ruben": w.cobrha(n["ruben"], "Ruben", "Claeys", AALST, "+3253111111"),
        "an_stale": w.cobrha(n["an"], "An", "Peeters", OUDENAARDE, "+3255112233"),
        "bram_left": w.member("5120", version=2, removed=True),
        "wim3": wim[2],
        "jana3": w.cobrha(n["jana"], "Jana", "Claes", KORTRIJK, "+3256888888", version=3),
    }
    scripted = list(s.values())
    scripted.insert(scripted.index(s["an2"]), s["an"])  # the same update delivered twice
    names = s | {f"hand_{k}": v.fiche_id for k, v in hand.items()}
    return seed_batch, w.shuffled(scripted, filler_main), names


async def snapshot(conn: Any) -> dict[str, Any]:
    found = {table: sorted((tuple(row.values()) for row in await conn.fetch(
        f"SELECT {columns} FROM {table}")), key=repr) for table, columns in SNAPSHOT.items()}
    events: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    # Payloads compared as JSON values: the text keeps the order in which a document's nested
    # objects were built, which one batch and one update at a time need not share.
    for row in await conn.fetch("SELECT key, event_id, topic, payload::jsonb::text FROM outbox "
                                "ORDER BY id"):
        events[row["key"]].append(tuple(row.values())[1:])
    return found | {"outbox per key, in order": dict(events)}


def outcome(result: ApplyResult) -> tuple[Any, ...]:
    return (result.outcome, result.fiche_id, result.version, result.event_type, result.reason,
            result.linked)


async def run(url: str, batches: list[list[FicheUpdate]]) -> tuple[list[ApplyResult], Any]:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        applier = Applier(pool, default_policy(), TOPICS, clock=lambda: NOW)
        results = []
        for batch in batches:
            results += await asyncio.wait_for(applier.apply(batch), timeout=120)
        async with pool.acquire() as conn:
            return results, await asyncio.wait_for(snapshot(conn), timeout=60)
    finally:
        await pool.close()


@pytest.fixture
async def other_pg_url(infra: Infrastructure, template_database: str) -> AsyncIterator[str]:
    """A second fresh, migrated database, from the same template as ``pg_url``."""
    name = f"sksync_test_{uuid.uuid4().hex[:12]}"
    yield await create_database(infra.database_url, name, template=template_database)
    await drop_database(infra.database_url, name)


@pytest.mark.parametrize("size", [None, 9], ids=["one-batch", "batches-of-9"])
async def test_a_batch_gives_what_its_updates_give_one_at_a_time(
    pg_url: str, other_pg_url: str, size: int | None,
) -> None:
    seed_batch, main, s = build(SEED)
    size = size or len(main)
    batched, batched_db = await run(pg_url, [seed_batch] + [
        main[i:i + size] for i in range(0, len(main), size)])
    single, single_db = await run(other_pg_url, [[u] for u in [*seed_batch, *main]])

    differing = [i for i, (a, b) in enumerate(zip(batched, single, strict=True))
                 if outcome(a) != outcome(b)]
    assert not differing, [(i, batched[i].update.record_id, outcome(batched[i]),
                            outcome(single[i])) for i in differing]
    for table, a in batched_db.items():
        b = single_db[table]
        if table.startswith("outbox"):
            assert a == b, {k: (a.get(k), b.get(k)) for k in a.keys() | b.keys()
                            if a.get(k) != b.get(k)}
        else:
            assert a == b, (table, {"only batched": [r for r in a if r not in b],
                                    "only one by one": [r for r in b if r not in a]})

    # ... and the batched run took the paths the workload is made of (no vacuous equality)
    assert "rejected" not in {r.outcome for r in batched}, "a batch fell back to one by one"
    got: dict[uuid.UUID, ApplyResult] = {}
    for result in batched[len(seed_batch):]:  # the first delivery of each update
        got.setdefault(result.update.update_id, result)
    new_of = {name: got[s[name].update_id].fiche_id for name in ("bram", "ruben_member")}
    expected = {  # (outcome, linked, fiche) of scripted updates
        "an": ("applied", True, s["hand_an"]), "an2": ("applied", False, s["hand_an"]),
        "an_stale": ("stale", False, s["hand_an"]), "jana": ("pending-review", False, None),
        "jana2": ("pending-review", False, None), "jana_stale": ("stale", False, None),
        "wim2": ("pending-review", False, None), "wim3": ("pending-review", False, None),
        "bram_member": ("applied", True, new_of["bram"]),
        "bram_left": ("applied", False, new_of["bram"]),  # the association's values withdrawn
        "ruben": ("applied", True, new_of["ruben_member"]),
        "kat": ("applied", True, s["hand_kat"]), "els": ("applied", True, s["hand_els"]),
        "sofie": ("applied", True, s["sofie_hand"].fiche_id),
    }
    for name, wanted in expected.items():
        r = got[s[name].update_id]
        assert (r.outcome, r.linked, r.fiche_id) == wanted, (name, r)
    for name in ("bram", "kat2", "piet", "ruben_member", "marc2", "jana3"):  # new fiches
        assert got[s[name].update_id].event_type == "created", name
    assert got[s["tom_removed"].update_id].event_type == "deactivated"
    closed = {(r[2], r[3]) for r in batched_db["match_candidate"] if r[4] == "superseded"}
    assert {(s["jana"].record_id, s[f"hand_claes{k}"]) for k in (1, 2)} <= closed  # ambiguous
    assert (s["marc2"].record_id, s["hand_marc"]) in closed  # waited since the seed batch
    assert batched_db["conflict"], "the pinned phone of Els Maes holds against CoBRHA's"
    assert [r.outcome for r in batched].count("duplicate") == 1
