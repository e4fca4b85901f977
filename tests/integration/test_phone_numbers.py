"""Phone numbers from several sources on a real PostgreSQL: one number, one value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg

from sync.cloudevents import CloudEvent
from sync.mapping import MappingContext
from sync.policy import default_policy
from sync.sources import map_event
from sync.store.apply import Applier
from sync.store.queries import fiche_report

SAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "samples"
TOPICS = {"fiche_event": "sk.fiche.event", "notification": "sk.notification"}
CONTEXT = MappingContext(ssin_secret=b"test")


def sample(file: str, event_id: str) -> dict[str, Any]:
    """One event of the sample feed, by id."""
    for line in (SAMPLES / file).read_text(encoding="utf-8").splitlines():
        event: dict[str, Any] = json.loads(line)
        if event["id"] == event_id:
            return event
    raise AssertionError(f"no event {event_id} in {file}")


def edit(fiche_id: str, phone: str) -> dict[str, Any]:
    """An editor's save of ``phone`` on the fiche, as the directory publishes it."""
    return {"specversion": "1.0", "id": f"edit-{fiche_id}", "source": "urn:socialekaart:editor",
            "type": "be.socialekaart.fiche.edited", "time": "2026-11-28T10:00:00Z",
            "subject": fiche_id, "datacontenttype": "application/json",
            "data": {"ficheId": fiche_id, "editor": {"id": "u-1029", "role": "editor"},
                     "changes": {"contact.phone": phone}, "reason": "telefonisch bevestigd"}}


async def apply(applier: Applier, document: dict[str, Any]) -> str:
    [result] = await applier.apply(map_event(CloudEvent.model_validate(document), CONTEXT))
    assert result.outcome in ("applied", "unchanged"), result
    return str(result.fiche_id)


async def test_one_number_written_differently_by_kbo_cobrha_and_an_editor_is_no_conflict(
    pg_pool: asyncpg.Pool, pg_conn: asyncpg.Connection,
) -> None:
    """KBO's ``055 33 61 11``, an editor's ``055/33.61.11`` and CoBRHA's ``+3255336111`` are
    one number: shown in E.164, no conflict raised, each source's own text in provenance."""
    applier = Applier(pg_pool, default_policy(), TOPICS)
    kbo = sample("kbo-entity.jsonl", "kbo-0403019261-250")
    fiche_id = await apply(applier, kbo)
    await apply(applier, edit(fiche_id, "055/33.61.11"))
    cobrha = sample("cobrha-organisation.jsonl", "cobrha-o-000012345-88000")
    assert await apply(applier, cobrha) == fiche_id
    assert await pg_conn.fetchval("SELECT count(*) FROM conflict") == 0
    report = await fiche_report(pg_conn, fiche_id)  # type: ignore[arg-type]
    assert report is not None
    assert report["visible"]["contact.phone"] == "+3255336111"
    assert report["pins"]["contact.phone"]["value"] == "+3255336111"
    given = {p["source"]: p.get("asGiven") for p in report["provenance"]["contact.phone"]}
    assert given == {"kbo": "055 33 61 11", "cobrha": None}
