"""``sksync link-initial`` and ``sksync matches reindex`` on a real PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import asyncpg

from sync.matching.evaluate import evaluate
from sync.settings import Settings
from tests.support.builders import nihii, professional
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
    keys = await pg_conn.fetchval("SELECT sum(cardinality(keys)) FROM match_keys")
    assert keys > 0
    await pg_conn.execute("DELETE FROM match_keys; DELETE FROM match_profile")
    done = await sksync(settings, "matches", "reindex", "--batch", "100")
    assert done.exit_code == 0, done.output
    fiches = await pg_conn.fetchval("SELECT count(*) FROM fiche")
    assert f"reindexed {fiches} fiche(s)" in done.stdout
    assert await pg_conn.fetchval("SELECT count(*) FROM match_profile") == fiches
    assert await pg_conn.fetchval("SELECT sum(cardinality(keys)) FROM match_keys") == keys


EXPORT = """\
id,kind,first_name,last_name,name,profession,street,house_number,zip_code,municipality,\
phone,email,kbo_number
SK-1,person,An,Peeters,,huisarts,Kerkstraat,12,9700,Oudenaarde,055/11.22.33,,
SK-2,person,Els,Wouters,,thuisverpleegkundige,Kerkstraat,12,9600,Ronse,055/44.55.66,,
SK-3,person,Jan,Claes,,arts,Kerkstraat,12,8500,Kortrijk,056/12.34.56,,
SK-4,person,Mia,Maes,,astroloog,,,,,,,
SK-5,person,Tom,Maes,,astroloog,,,,,,,
SK-6,person,Lot,Maes,,kruidendokter,,,,,,,
"""


async def test_link_initial_notices_only_professions_that_changed_and_counts_refused_labels(
    settings: Settings, pg_conn: asyncpg.Connection, tmp_path: Path,
) -> None:
    """Three hand-made fiches link to their CoBRHA records. Two typed the profession CoBRHA
    has (one as thuisverpleegkundige): no notice; one typed arts where CoBRHA says huisarts:
    one ManualEditSuperseded. Unknown labels are counted at the end of the run."""
    export = tmp_path / "export.csv"
    export.write_text(EXPORT, encoding="utf-8")
    records = tmp_path / "records.jsonl"
    records.write_text("".join(json.dumps(event) + "\n" for event in (
        professional(nihii(), first="An", last="Peeters", code="GENERAL_PRACTITIONER",
                     zip_code="9700", municipality="Oudenaarde", phone="+3255112233"),
        professional(nihii("4"), first="Els", last="Wouters", code="NURSE", zip_code="9600",
                     municipality="Ronse", phone="+3255445566"),
        professional(nihii(), first="Jan", last="Claes", code="GENERAL_PRACTITIONER",
                     zip_code="8500", municipality="Kortrijk", phone="+3256123456"),
    )), encoding="utf-8")
    done = await sksync(settings, "link-initial", str(export), "--records", str(records))
    assert done.exit_code == 0, done.output
    assert figure(done.stdout, "fiches from the export, created") == 3
    assert figure(done.stdout, "source records linked automatically") == 3
    notices = await pg_conn.fetch(
        "SELECT payload::jsonb->'data'->>'field' AS field FROM outbox WHERE type ="
        " 'be.socialekaart.notification.manual-edit-superseded'")
    assert [row["field"] for row in notices] == ["professions"]
    assert figure(done.stdout, "3 row(s) refused for") == 2
    assert re.search(r"astroloog\s*│\s*2\b", done.stdout), done.stdout
    assert re.search(r"kruidendokter\s*│\s*1\b", done.stdout), done.stdout
