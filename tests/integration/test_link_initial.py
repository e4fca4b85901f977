"""``sksync link-initial`` and ``sksync matches reindex`` on a real PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg

from sync.matching.evaluate import evaluate
from sync.settings import Settings
from tests.support.cli import sksync

DATA = Path(__file__).resolve().parents[1] / "data" / "matching"


def figure(output: str, label: str) -> int:
    match = re.search(rf"{re.escape(label)}\D*(\d+)", output)
    assert match, f"{label!r} not in:\n{output}"
    return int(match.group(1))


async def test_link_initial_loads_the_export_and_links_the_records_as_the_evaluation_predicts(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    """The labelled set through the real apply path: as many automatic links and reviews as
    the pure evaluation counts; a second run loads nothing twice."""
    done = await sksync(settings, "link-initial", str(DATA / "fiches.csv"),
                        "--records", str(DATA / "records.jsonl"))
    assert done.exit_code == 0, done.output
    expected = evaluate(DATA)
    fiches = len((DATA / "fiches.csv").read_text(encoding="utf-8").splitlines()) - 1
    assert figure(done.stdout, "fiches from the export, created") == fiches
    assert figure(done.stdout, "source records linked automatically") == expected.auto_links
    assert figure(done.stdout, "source records waiting for review") == expected.reviews
    assert await pg_conn.fetchval(
        "SELECT count(DISTINCT (source, record_id)) FROM match_candidate"
        " WHERE status = 'pending'") == expected.reviews
    assert await pg_conn.fetchval("SELECT count(*) FROM match_link") == expected.auto_links
    again = await sksync(settings, "link-initial", str(DATA / "fiches.csv"))
    assert again.exit_code == 0, again.output
    assert figure(again.stdout, "fiches from the export, created") == 0
    assert figure(again.stdout, "fiches already loaded") == fiches


async def test_reindex_rebuilds_the_profiles_and_keys_of_every_fiche(
    settings: Settings, pg_conn: asyncpg.Connection,
) -> None:
    """Fiches from before the matching migration become candidates after a reindex."""
    loaded = await sksync(settings, "link-initial", str(DATA / "fiches.csv"))
    assert loaded.exit_code == 0, loaded.output
    keys = await pg_conn.fetchval("SELECT count(*) FROM match_key")
    await pg_conn.execute("DELETE FROM match_key; DELETE FROM match_profile")
    done = await sksync(settings, "matches", "reindex", "--batch", "100")
    assert done.exit_code == 0, done.output
    fiches = await pg_conn.fetchval("SELECT count(*) FROM fiche")
    assert f"reindexed {fiches} fiche(s)" in done.stdout
    assert await pg_conn.fetchval("SELECT count(*) FROM match_profile") == fiches
    assert await pg_conn.fetchval("SELECT count(*) FROM match_key") == keys
