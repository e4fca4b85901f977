"""``sksync conflicts``: listing open conflicts from PostgreSQL, and publishing a decision."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest

from sync.settings import Settings
from tests.support.cli import sksync
from tests.support.kafka import TopicReader

PHONE_PINNED = "+3255000001"
PHONE_CANDIDATE = "+3255999999"



async def a_fiche_with_a_pinned_phone(conn: asyncpg.Connection) -> uuid.UUID:
    fiche_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO fiche (id, kind, version, visible) VALUES ($1, 'person', 2, $2)",
        fiche_id, json.dumps({"contact.phone": PHONE_PINNED}))
    await conn.execute(
        "INSERT INTO pin (fiche_id, field, value, author, role, reason, pinned_at)"
        " VALUES ($1, 'contact.phone', $2, 'els@sel.be', 'editor', 'called her', now())",
        fiche_id, json.dumps(PHONE_PINNED))
    return fiche_id


async def a_conflict(
    conn: asyncpg.Connection, fiche_id: uuid.UUID, status: str = "open",
    candidate: str = PHONE_CANDIDATE,
) -> uuid.UUID:
    conflict_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO conflict (id, fiche_id, field, candidate, source, record_id, status)"
        " VALUES ($1, $2, 'contact.phone', $3, 'cobrha', 'professional:18749704', $4)",
        conflict_id, fiche_id, json.dumps(candidate), status)
    return conflict_id


async def test_conflicts_list_shows_an_open_conflict_with_its_candidate_and_the_pin(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    """Open conflicts are listed with fiche, field, candidate, pinned value, source and time;
    a kept one is not open and is left out."""
    fiche_id = await a_fiche_with_a_pinned_phone(pg_conn)
    conflict_id = await a_conflict(pg_conn, fiche_id)
    await a_conflict(pg_conn, fiche_id, status="kept", candidate="+3255111111")
    text = await sksync(settings, "conflicts", "list")
    assert text.exit_code == 0, text.output
    assert str(conflict_id) in text.stdout
    assert PHONE_CANDIDATE in text.stdout
    assert PHONE_PINNED in text.stdout
    assert "+3255111111" not in text.stdout
    listed = await sksync(settings, "conflicts", "list", "--json")
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.stdout)
    assert row["id"] == str(conflict_id)
    assert row["ficheId"] == str(fiche_id)
    assert (row["field"], row["candidate"], row["current"], row["source"]) == (
        "contact.phone", PHONE_CANDIDATE, PHONE_PINNED, "cobrha")
    assert row["raisedAt"]


async def test_conflicts_list_for_one_fiche_leaves_other_fiches_out(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    """``--fiche`` narrows the list; an unknown fiche is a one-line error."""
    mine = await a_fiche_with_a_pinned_phone(pg_conn)
    other = await a_fiche_with_a_pinned_phone(pg_conn)
    wanted = await a_conflict(pg_conn, mine)
    await a_conflict(pg_conn, other)
    listed = await sksync(settings, "conflicts", "list", "--fiche", str(mine), "--json")
    assert [row["id"] for row in json.loads(listed.stdout)] == [str(wanted)]
    unknown = await sksync(settings, "conflicts", "list", "--fiche", str(uuid.uuid4()))
    assert unknown.exit_code == 1
    assert unknown.stderr.count("\n") == 1
    assert "no fiche" in unknown.stderr


@pytest.mark.parametrize("decision", ["accept", "keep"])
async def test_conflicts_resolve_publishes_a_conflict_resolved_event_on_the_manual_edit_topic(
    settings: Settings, pg_conn: asyncpg.Connection, decision: str,
) -> None:
    """The decision is a CloudEvent keyed by the fiche; the database is left to the service."""
    fiche_id = await a_fiche_with_a_pinned_phone(pg_conn)
    conflict_id = await a_conflict(pg_conn, fiche_id)
    done = await sksync(settings, "conflicts", "resolve", str(conflict_id), f"--{decision}",
                        "--editor", "els@sel.be")
    assert done.exit_code == 0, done.output
    async with TopicReader(settings, settings.topics.name("manual_edit")) as topic:
        [event] = await topic.until(lambda values: len(values) >= 1, what="the decision")
    assert event["type"] == "be.socialekaart.conflict.resolved"
    assert event["specversion"] == "1.0"
    assert event["id"]
    assert event["source"]
    assert event["time"]
    assert event["subject"] == str(fiche_id)
    assert event["data"] == {"conflictId": str(conflict_id), "decision": decision,
                             "editor": "els@sel.be"}
    assert topic.records[0].key == str(fiche_id).encode()
    status = await pg_conn.fetchval("SELECT status FROM conflict WHERE id = $1", conflict_id)
    assert status == "open"


async def test_resolving_an_unknown_or_closed_conflict_is_a_one_line_error(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    """Nothing is published for a conflict that does not exist or is no longer open."""
    fiche_id = await a_fiche_with_a_pinned_phone(pg_conn)
    kept = await a_conflict(pg_conn, fiche_id, status="kept")
    for conflict_id, message in [(uuid.uuid4(), "no conflict"), (kept, "is kept, not open")]:
        result = await sksync(settings, "conflicts", "resolve", str(conflict_id), "--keep",
                              "--editor", "els@sel.be")
        assert result.exit_code == 1
        assert result.stderr.count("\n") == 1
        assert message in result.stderr
        assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [
    ["not-a-uuid", "--accept", "--editor", "els"],
    [str(uuid.uuid4()), "--accept", "--keep", "--editor", "els"],
    [str(uuid.uuid4()), "--editor", "els"],
    [str(uuid.uuid4()), "--accept", "--editor", " "],
    [str(uuid.uuid4()), "--accept"],
])
async def test_bad_resolve_arguments_are_explained_without_a_traceback(
    settings: Settings, args: list[str],
) -> None:
    """A bad id, both or neither decision, or no editor: a usage error, exit code 2."""
    result = await sksync(settings, "conflicts", "resolve", *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a usage error, not a crash
