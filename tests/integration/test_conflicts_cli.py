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


async def test_in_80_columns_conflicts_list_shows_whole_ids_that_resolve_takes(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    """An operator's narrow terminal: every id is printed whole (no ellipsis), and the
    start of one is enough for ``conflicts resolve``."""
    fiche_id = await a_fiche_with_a_pinned_phone(pg_conn)
    conflict_id = await a_conflict(pg_conn, fiche_id)
    text = await sksync(settings, "conflicts", "list", columns=80)
    assert text.exit_code == 0, text.output
    assert str(conflict_id) in text.stdout
    assert str(fiche_id) in text.stdout
    assert "…" not in text.stdout
    assert max(len(line) for line in text.stdout.splitlines()) <= 80
    done = await sksync(settings, "conflicts", "resolve", str(conflict_id)[:8], "--keep",
                        "--editor", "els@sel.be")
    assert done.exit_code == 0, done.output
    async with TopicReader(settings, settings.topics.name("manual_edit")) as topic:
        [event] = await topic.until(lambda values: len(values) >= 1, what="the decision")
    assert event["data"]["conflictId"] == str(conflict_id)


async def test_an_ambiguous_or_unknown_id_start_is_one_line(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    """Two conflicts starting alike: their common start is refused in one line naming the
    problem; so is a start no conflict has. Nothing is published."""
    fiche_id = await a_fiche_with_a_pinned_phone(pg_conn)
    for last in ("1", "2"):
        await pg_conn.execute(
            "INSERT INTO conflict (id, fiche_id, field, candidate, source, record_id, status)"
            " VALUES ($1, $2, 'contact.phone', '\"+3255999999\"', 'cobrha', 'p:1', 'open')",
            uuid.UUID(f"abcdef01-0000-4000-8000-00000000000{last}"), fiche_id)
    for start, message in [("abcdef01", "more than one conflict"), ("abcdef02", "no conflict"),
                           ("ABCDEF01-0000-4000-8000-000000000002", None)]:
        result = await sksync(settings, "conflicts", "resolve", start, "--keep",
                              "--editor", "els@sel.be")
        if message is None:  # a whole id, in capitals, is an id
            assert result.exit_code == 0, result.output
            continue
        assert result.exit_code == 1, result.output
        assert result.stderr.count("\n") == 1
        assert message in result.stderr
    fiche = await sksync(settings, "conflicts", "list", "--fiche", str(fiche_id)[:6], "--json")
    assert fiche.exit_code == 0, fiche.output
    assert len(json.loads(fiche.stdout)) == 2


async def test_fiche_show_names_the_pin_as_the_source_and_the_sources_value_beside_it(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    """A pinned phone comes from the pin, not from CoBRHA; CoBRHA's own number is beside it."""
    fiche_id = await a_fiche_with_a_pinned_phone(pg_conn)
    await pg_conn.execute(
        "INSERT INTO source_record (fiche_id, source, record_id, source_version, fields,"
        " observed_at) VALUES ($1, 'cobrha', 'professional:18749704', 3, $2, now())",
        fiche_id, json.dumps({"contact.phone": PHONE_CANDIDATE}))
    shown = await sksync(settings, "fiche", "show", str(fiche_id)[:8], columns=120)
    assert shown.exit_code == 0, shown.output
    [line] = [row for row in shown.stdout.splitlines() if "contact.phone" in row]
    assert PHONE_PINNED in line
    assert "pin: els@sel.be (editor)" in line
    assert f'cobrha v3: "{PHONE_CANDIDATE}"' in line
