"""Matching end to end on real Kafka and PostgreSQL: hand-made fiches, source records, an
editor's review through ``sksync matches`` and a wrong link undone by ``sksync fiche split``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from sync.app import Service
from sync.matching.export import ExportRow, fiche_id_of, read_export
from sync.settings import Settings
from tests.support.builders import nihii, professional
from tests.support.cli import sksync
from tests.support.kafka import TopicReader, publish

pytestmark = pytest.mark.slow

EXPORT = """\
id,kind,first_name,last_name,name,profession,street,house_number,postcode,municipality,phone,email,\
kbo_number
E2E-A,person,J.,Peeters,,huisarts,Kerkstraat,12,9700,Oudenaarde,055 11 22 33,,
E2E-B,person,J.,Claes,,huisarts,Stationsstraat,4,9770,Kruishoutem,055 44 55 66,,
E2E-C,person,An,Janssens,,huisarts,Markt,1,9700,Oudenaarde,055 77 88 99,,"""


def hand_made_fiches() -> list[dict[str, Any]]:
    """The export's rows as the ``fiche.created`` events the directory would have sent."""
    rows = list(read_export(EXPORT.splitlines(), datetime.now(UTC)))
    assert all(isinstance(row, ExportRow) for row in rows)
    return [row.event for row in rows if isinstance(row, ExportRow)]


async def cli(settings: Settings, *args: str) -> str:
    result = await sksync(settings, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def of_type(values: list[dict[str, Any]], suffix: str) -> list[dict[str, Any]]:
    return [v for v in values if v["type"].endswith(suffix)]


async def test_review_accept_reject_and_split_through_the_cli(
    service: Service, settings: Settings,
) -> None:
    """J. Peeters is probably Jana Peeters (accepted: linked); J. Claes is not Jan Claes
    (rejected: a fiche of his own); An Janssens links by herself, then is split off again."""
    fiche_a, fiche_b, fiche_c = (fiche_id_of(i) for i in ("E2E-A", "E2E-B", "E2E-C"))
    jana, jan, an = nihii("1"), nihii("1"), nihii("1")
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events, \
            TopicReader(settings, settings.topics.name("notification")) as notices:
        await publish(settings, hand_made_fiches())
        await events.until(lambda v: len(of_type(v, "fiche.created")) >= 3,
                           what="three hand-made fiches")
        await publish(settings, [
            professional(jana, first="Jana", last="Peeters", phone="+3255112233"),
            professional(jan, first="Jan", last="Claes", zip_code="9770",
                         municipality="Kruisem", phone="+3255445566"),
            professional(an, first="An", last="Janssens", phone="+3255778899")])
        await notices.until(lambda v: len(of_type(v, "match-review-needed")) >= 2,
                            what="two match-review-needed notifications")
        seen = await events.until(lambda v: len(of_type(v, "fiche.linked")) >= 1,
                                  what="An Janssens linked automatically")
        [auto] = of_type(seen, "fiche.linked")
        assert (auto["subject"], auto["data"]["decidedBy"]) == (str(fiche_c), "auto")

        waiting = json.loads(await cli(settings, "matches", "list", "--json"))
        by_fiche = {row["ficheId"]: row for row in waiting}
        assert set(by_fiche) == {str(fiche_a), str(fiche_b)}
        assert by_fiche[str(fiche_a)]["record"] == "Jana Peeters"
        await cli(settings, "matches", "accept", by_fiche[str(fiche_a)]["id"][:8],
                  "--editor", "els@sel.be")  # the start of an id is enough
        await cli(settings, "matches", "reject", by_fiche[str(fiche_b)]["id"],
                  "--editor", "els@sel.be")
        seen = await events.until(
            lambda v: len(of_type(v, "fiche.linked")) >= 2
            and any(e["data"]["identifiers"] == [{"type": "NIHII-PERSON", "value": jan[:8]}]
                    for e in of_type(v, "fiche.created")),
            what="the accepted link and Jan Claes's own fiche")
        accepted = of_type(seen, "fiche.linked")[1]
        assert (accepted["subject"], accepted["data"]["decidedBy"]) == (str(fiche_a), "els@sel.be")

        await cli(settings, "fiche", "split", str(fiche_c)[:13], "--record",
                  f"cobrha:professional:{an[:8]}", "--editor", "els@sel.be")
        seen = await events.until(lambda v: len(of_type(v, "fiche.unlinked")) >= 1,
                                  what="the split")
    [unlinked] = of_type(seen, "fiche.unlinked")
    new_fiche = unlinked["data"]["newFicheId"]
    assert unlinked["subject"] == str(fiche_c)
    shown_a = json.loads(await cli(settings, "fiche", "show", str(fiche_a), "--json"))
    assert {"type": "NIHII-PERSON", "value": jana[:8]} in shown_a["identifiers"]
    assert shown_a["visible"]["name.first"] == "Jana"
    shown_b = json.loads(await cli(settings, "fiche", "show", str(fiche_b), "--json"))
    assert shown_b["identifiers"] == []
    shown_c = json.loads(await cli(settings, "fiche", "show", str(fiche_c), "--json"))
    assert shown_c["identifiers"] == []
    assert shown_c["visible"]["contact.phone"] == "+3255778899"  # as typed: 055 77 88 99
    shown_new = json.loads(await cli(settings, "fiche", "show", f"NIHII-PERSON:{an[:8]}",
                                     "--json"))
    assert shown_new["id"] == new_fiche
    assert shown_new["visible"]["contact.phone"] == "+3255778899"
    assert json.loads(await cli(settings, "matches", "list", "--json")) == []
    again = await sksync(settings, "matches", "accept", by_fiche[str(fiche_a)]["id"],
                         "--editor", "els@sel.be")
    assert again.exit_code == 1
    assert "not pending" in again.stderr
