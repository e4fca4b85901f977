"""Matching in the apply path on a real PostgreSQL: link, review, new, decisions and split."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sync.cloudevents import CloudEvent
from sync.events import (
    EventOrigin,
    FicheKind,
    FicheUpdate,
    MatchDecision,
    PinInfo,
    Source,
    SplitRequest,
    UpdateAction,
)
from sync.mapping import MappingContext
from sync.mapping.common import address
from sync.policy import default_policy
from sync.sources import map_event
from sync.store.apply import Applier
from tests.support.builders import nihii, professional

MIGRATION = (Path(__file__).resolve().parents[2] / "sync" / "store" / "migrations"
             / "0008_match_key_sources.sql")
#: The key table as migrations 0006 and 0009 left it, one row per key (0017 replaced it).
OLD_KEY_TABLE = """
CREATE TABLE match_key (key text NOT NULL, fiche_id uuid NOT NULL, PRIMARY KEY (key, fiche_id));
CREATE INDEX match_key_fiche ON match_key (fiche_id);
"""
TOPICS = {"fiche_event": "sk.fiche.event", "notification": "sk.notification"}
CONTEXT = MappingContext(ssin_secret=b"test-secret")
EDITOR = "urn:socialekaart:editor"


def hand_made(first: str = "An", last: str = "Peeters", *, phone: str = "055 11 22 33",
              street: str = "Kerkstraat", postcode: str = "9700",
              municipality: str = "Oudenaarde", email: str | None = None) -> FicheUpdate:
    """A fiche typed in by a local network: no identifiers, the directory's own values."""
    fiche_id = uuid.uuid4()
    return FicheUpdate(
        update_id=uuid.uuid4(), origin=EventOrigin(source=EDITOR, id=uuid.uuid4().hex, type="t"),
        source=Source.MANUAL, record_id=f"fiche:{fiche_id}", source_version=1,
        observed_at=datetime(2024, 1, 1, tzinfo=UTC), kind=FicheKind.PERSON, fiche_id=fiche_id,
        fields={"name.first": first, "name.last": last, "contact.phone": phone,
                "professions": [{"code": "GENERAL_PRACTITIONER"}],
                "addresses": [address(street=street, number="12", box=None, postcode=postcode,
                                      municipality=municipality)],
                **({"contact.email": email} if email else {})})


def cobrha_record(number: str | None = None, **given: Any) -> FicheUpdate:
    """A CoBRHA professional as the mapper makes it (An Peeters, Kerkstraat 12, Oudenaarde)."""
    event = CloudEvent.model_validate(professional(number or nihii("1"), **given))
    return map_event(event, CONTEXT)[0]


def editor_update(action: UpdateAction, fiche_id: uuid.UUID | None = None,
                  **given: Any) -> FicheUpdate:
    return FicheUpdate(
        update_id=uuid.uuid4(), origin=EventOrigin(source=EDITOR, id=uuid.uuid4().hex, type="t"),
        source=Source.MANUAL, record_id=f"decision:{uuid.uuid4()}", source_version=2,
        observed_at=datetime.now(UTC), kind=FicheKind.PERSON, action=action,
        fiche_id=fiche_id, **given)


@pytest.fixture
def applier(pg_pool: asyncpg.Pool) -> Applier:
    return Applier(pg_pool, default_policy(), TOPICS)


async def outbox_types(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch("SELECT payload FROM outbox ORDER BY id")
    return [json.loads(r["payload"])["type"].removeprefix("be.socialekaart.") for r in rows]


async def identifiers_of(conn: asyncpg.Connection, fiche_id: uuid.UUID) -> set[str]:
    rows = await conn.fetch("SELECT type, value FROM fiche_identifier WHERE fiche_id = $1",
                            fiche_id)
    return {f"{r['type']}:{r['value']}" for r in rows}


async def visible(conn: asyncpg.Connection, fiche_id: uuid.UUID) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(
        await conn.fetchval("SELECT visible FROM fiche WHERE id = $1", fiche_id))
    return value


async def test_a_record_of_a_hand_made_provider_links_to_that_fiche_and_keeps_its_pins(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """CoBRHA's An Peeters enriches the fiche the local network made: identifier added,
    values with provenance, the pinned phone holds (a conflict instead), FicheLinked sent."""
    fiche = hand_made()
    assert fiche.fiche_id is not None
    await applier.apply([fiche])
    await applier.apply([editor_update(
        UpdateAction.PIN, fiche.fiche_id, fields={"contact.phone": "+3255000000"},
        pin=PinInfo(author="u-1", role="editor", reason="called"))])
    number = nihii("1")
    [result] = await applier.apply([cobrha_record(number)])
    assert (result.outcome, result.linked, result.fiche_id) == ("applied", True, fiche.fiche_id)
    assert await pg_conn.fetchval("SELECT count(*) FROM fiche") == 1
    assert f"NIHII-PERSON:{number[:8]}" in await identifiers_of(pg_conn, fiche.fiche_id)
    shown = await visible(pg_conn, fiche.fiche_id)
    assert shown["contact.phone"] == "+3255000000"
    assert shown["professions"][0]["code"] == "PHYSICIAN"  # CoBRHA is authoritative
    sources = {r["source"] for r in await pg_conn.fetch(
        "SELECT source FROM field_value WHERE fiche_id = $1 AND field = 'name.last'",
        fiche.fiche_id)}
    assert sources == {"manual", "cobrha"}
    assert await pg_conn.fetchval("SELECT count(*) FROM conflict WHERE status = 'open'") == 1
    assert (await outbox_types(pg_conn))[-4:] == [
        "fiche.updated", "notification.conflict-raised",
        "notification.manual-edit-superseded", "fiche.linked"]
    linked = json.loads(await pg_conn.fetchval(
        "SELECT payload FROM outbox WHERE type = 'be.socialekaart.fiche.linked'"))
    assert linked["data"]["decidedBy"] == "auto"
    assert linked["data"]["recordId"] == f"professional:{number[:8]}"


async def test_an_unsure_match_waits_for_review_and_makes_no_fiche(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """'J. Peeters' at An's address: probably her, not surely. The update waits, one
    notification is sent, a newer version refreshes the wait without a second one."""
    fiche = hand_made(first="J.")
    await applier.apply([fiche])
    number = nihii("1")
    [held] = await applier.apply([cobrha_record(number, first="Jana")])
    assert held.outcome == "pending-review"
    assert held.fiche_id is None
    assert await pg_conn.fetchval("SELECT count(*) FROM fiche") == 1
    row = await pg_conn.fetchrow("SELECT * FROM match_candidate")
    assert (row["status"], row["fiche_id"]) == ("pending", fiche.fiche_id)
    assert json.loads(row["pending_update"])["recordId"] == f"professional:{number[:8]}"
    [again] = await applier.apply([cobrha_record(number, first="Jana", version=2)])
    assert again.outcome == "pending-review"
    assert (await outbox_types(pg_conn)).count("notification.match-review-needed") == 1
    assert await pg_conn.fetchval("SELECT source_version FROM match_candidate") == 2
    [stale] = await applier.apply([cobrha_record(number, first="Jana", version=1)])
    assert stale.outcome == "stale"


async def test_a_fiche_with_an_initial_and_the_same_e_mail_address_links_automatically(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """'A. Peeters' with An's own e-mail address is An: linked without an editor."""
    fiche = hand_made(first="A.", email="An.Peeters@example.be")
    await applier.apply([fiche])
    number = nihii("1")
    [result] = await applier.apply([cobrha_record(number)])
    assert (result.outcome, result.linked, result.fiche_id) == ("applied", True, fiche.fiche_id)
    assert await pg_conn.fetchval("SELECT count(*) FROM match_candidate") == 0
    assert f"NIHII-PERSON:{number[:8]}" in await identifiers_of(pg_conn, fiche.fiche_id)


async def test_a_practice_that_moved_within_its_town_links_automatically(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """The fiche still shows the old practice (another street, another phone) in Oudenaarde;
    CoBRHA's An Peeters, general practitioner in Oudenaarde, is her."""
    fiche = hand_made(street="Stationsstraat", phone="055 99 88 77")
    await applier.apply([fiche])
    [result] = await applier.apply([cobrha_record()])
    assert (result.outcome, result.linked, result.fiche_id) == ("applied", True, fiche.fiche_id)
    assert await pg_conn.fetchval("SELECT count(*) FROM fiche") == 1


async def test_a_colleague_with_the_same_initial_never_takes_the_fiche(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """'J. Peeters' (Jan's e-mail address) at the practice: Joke Peeters works there too,
    same address and phone. Her record becomes a fiche of her own; the hand-made one waits."""
    fiche = hand_made(first="J.", email="jan.peeters@example.be")
    await applier.apply([fiche])
    [result] = await applier.apply([cobrha_record(first="Joke")])
    assert result.fiche_id != fiche.fiche_id
    assert not result.linked
    assert await pg_conn.fetchval("SELECT count(*) FROM match_candidate") == 0


async def test_a_record_that_matches_nobody_becomes_a_new_fiche_as_before(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """An Peeters of Kortrijk is not the Oudenaarde one: a namesake gets her own fiche."""
    await applier.apply([hand_made()])
    [result] = await applier.apply([cobrha_record(
        zip_code="8500", municipality="Kortrijk", phone="+3256000000")])
    assert (result.outcome, result.event_type, result.linked) == ("applied", "created", False)
    assert await pg_conn.fetchval("SELECT count(*) FROM fiche") == 2
    assert await pg_conn.fetchval("SELECT count(*) FROM match_candidate") == 0


async def test_a_fiche_that_holds_a_record_of_the_source_is_never_a_candidate(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """Two CoBRHA professionals with one name and address are two people."""
    await applier.apply([cobrha_record()])
    [second] = await applier.apply([cobrha_record()])
    assert (second.event_type, second.linked) == ("created", False)
    assert await pg_conn.fetchval("SELECT count(*) FROM fiche") == 2


async def test_accepting_a_candidate_links_the_waiting_record(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    fiche = hand_made(first="J.")
    assert fiche.fiche_id is not None
    await applier.apply([fiche])
    number = nihii("1")
    [held] = await applier.apply([cobrha_record(number, first="Jana")])
    match_id = await pg_conn.fetchval("SELECT id FROM match_candidate")
    [done] = await applier.apply([editor_update(
        UpdateAction.MATCH, fiche.fiche_id,
        match_decision=MatchDecision(match_id=match_id, decision="accept", editor="els"))])
    assert (done.outcome, done.linked, done.fiche_id) == ("applied", True, fiche.fiche_id)
    assert f"NIHII-PERSON:{number[:8]}" in await identifiers_of(pg_conn, fiche.fiche_id)
    assert (await visible(pg_conn, fiche.fiche_id))["name.first"] == "Jana"
    assert await pg_conn.fetchval("SELECT status FROM match_candidate") == "accepted"
    # The held record kept no inbox row; the decision's row says what became of it.
    assert [tuple(r.values()) for r in await pg_conn.fetch(
        "SELECT event_id, outcome FROM inbox")] == [(str(done.update.update_id), "applied")]
    [again] = await applier.apply([held.update])  # the record, redelivered: on the fiche now
    assert (again.outcome, again.fiche_id) == ("duplicate", fiche.fiche_id)
    linked = json.loads(await pg_conn.fetchval(
        "SELECT payload FROM outbox WHERE type = 'be.socialekaart.fiche.linked'"))
    assert (linked["data"]["decidedBy"], linked["data"]["matchId"]) == ("els", str(match_id))
    [twice] = await applier.apply([editor_update(
        UpdateAction.MATCH, fiche.fiche_id,
        match_decision=MatchDecision(match_id=match_id, decision="reject", editor="els"))])
    assert twice.outcome == "unchanged"


async def test_rejecting_the_only_candidate_makes_the_record_a_new_fiche_never_proposed_again(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    fiche = hand_made(first="J.")
    await applier.apply([fiche])
    number = nihii("1")
    await applier.apply([cobrha_record(number, first="Jana")])
    match_id = await pg_conn.fetchval("SELECT id FROM match_candidate")
    [done] = await applier.apply([editor_update(
        UpdateAction.MATCH, match_decision=MatchDecision(
            match_id=match_id, decision="reject", editor="els"))])
    assert (done.outcome, done.event_type) == ("applied", "created")
    assert done.fiche_id != fiche.fiche_id
    assert await pg_conn.fetchval("SELECT count(*) FROM match_rejection") == 1
    await applier.apply([hand_made(first="J.")])  # another, identical hand-made fiche
    [later] = await applier.apply([cobrha_record(number, first="Jana", version=3)])
    assert (later.fiche_id, later.outcome) == (done.fiche_id, "unchanged")
    assert await pg_conn.fetchval(
        "SELECT count(*) FROM match_candidate WHERE status = 'pending'") == 0


async def test_a_split_restores_both_fiches_from_provenance(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """A wrong link undone: the record, its values and its NIHII number move to a new fiche;
    the hand-made fiche falls back on its own values; both get a version and an event."""
    fiche = hand_made()
    assert fiche.fiche_id is not None
    await applier.apply([fiche])
    number = nihii("1")
    [linked] = await applier.apply([cobrha_record(number, phone="+3255999999")])
    assert linked.linked
    before = await pg_conn.fetchval("SELECT version FROM fiche WHERE id = $1", fiche.fiche_id)
    split = SplitRequest(source=Source.COBRHA, record_id=f"professional:{number[:8]}",
                         editor="els")
    [done] = await applier.apply([editor_update(UpdateAction.SPLIT, fiche.fiche_id,
                                                split=split)])
    assert done.outcome == "applied"
    new_id = await pg_conn.fetchval("SELECT split_into FROM match_link")
    assert await identifiers_of(pg_conn, fiche.fiche_id) == set()
    assert await identifiers_of(pg_conn, new_id) == {f"NIHII-PERSON:{number[:8]}"}
    assert (await visible(pg_conn, fiche.fiche_id))["contact.phone"] == "055 11 22 33"
    assert (await visible(pg_conn, new_id))["contact.phone"] == "+3255999999"
    assert await pg_conn.fetchval("SELECT version FROM fiche WHERE id = $1",
                                  fiche.fiche_id) == before + 1
    assert (await outbox_types(pg_conn))[-3:] == ["fiche.updated", "fiche.created",
                                                 "fiche.unlinked"]
    assert await pg_conn.fetchval(
        "SELECT count(*) FROM source_record WHERE fiche_id = $1 AND source = 'cobrha'",
        fiche.fiche_id) == 0
    moved = await pg_conn.fetchval(  # the record's one row, on the new fiche, with its values
        "SELECT fields FROM source_record WHERE fiche_id = $1 AND source = 'cobrha'", new_id)
    assert json.loads(moved)["contact.phone"] == "+3255999999"
    [next_version] = await applier.apply([cobrha_record(number, version=2, phone="+3255999998")])
    assert next_version.fiche_id == new_id
    # Without the CoBRHA record, the hand-made fiche is under CoBRHA's keys again.
    assert await pg_conn.fetchval(
        "SELECT count(*) FROM match_keys, unnest(keys) AS k(key)"
        " WHERE fiche_id = $1 AND k.key LIKE 'cobrha|%'",
        fiche.fiche_id) > 0


async def test_a_fiche_is_under_the_keys_of_the_sources_it_holds_no_record_of(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """A hand-made person is under CoBRHA's and the associations' keys; once CoBRHA's record
    is linked, under the associations' only."""
    fiche = hand_made()
    await applier.apply([fiche])

    async def prefixes() -> set[str]:
        rows = await pg_conn.fetch("SELECT DISTINCT split_part(k.key, '|', 1) AS source"
                                   " FROM match_keys, unnest(keys) AS k(key)"
                                   " WHERE fiche_id = $1", fiche.fiche_id)
        return {row["source"] for row in rows}

    assert await prefixes() == {"cobrha", "association"}
    [linked] = await applier.apply([cobrha_record()])
    assert linked.linked
    assert linked.fiche_id == fiche.fiche_id
    assert await prefixes() == {"association"}


async def test_the_migration_moves_keys_written_before_under_their_sources(
    applier: Applier, pg_conn: asyncpg.Connection,
) -> None:
    """0008 rewrites a key of the old form once per source the fiche holds no record of."""
    fiche = hand_made()
    await applier.apply([fiche])
    [made] = await applier.apply([cobrha_record(nihii("2"), first="Jan", last="Vermeulen",
                                                    zip_code="8500", municipality="Kortrijk")])
    assert not made.linked
    await pg_conn.execute(OLD_KEY_TABLE)
    await pg_conn.execute("INSERT INTO match_key (key, fiche_id)"
                          " VALUES ('p|g|45035|PHYSICIAN', $1), ('p|g|45035|PHYSICIAN', $2)",
                          fiche.fiche_id, made.fiche_id)
    await pg_conn.execute(MIGRATION.read_text(encoding="utf-8"))
    rows = await pg_conn.fetch("SELECT key, fiche_id FROM match_key ORDER BY key, fiche_id")
    assert {(r["key"], r["fiche_id"]) for r in rows} == {
        ("cobrha|p|g|45035|PHYSICIAN", fiche.fiche_id),
        ("association|p|g|45035|PHYSICIAN", fiche.fiche_id),
        ("association|p|g|45035|PHYSICIAN", made.fiche_id)}
