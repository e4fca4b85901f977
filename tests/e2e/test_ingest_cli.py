"""``sksync ingest`` end to end: files in, source events on Kafka, fiches out."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.cli.main import build_app
from sync.settings import Settings
from tests.support.kafka import TopicReader
from tests.support.process import service_env

pytestmark = pytest.mark.slow

HEADER = ("member_id;nihii;first_name;last_name;profession;practice_name;street;house_number;"
          "box;zip_code;municipality;phone;email;website;languages;specialisations;"
          "target_groups;service_area;accepts_new_clients;status")


def row(member: str, first: str, phone: str) -> str:
    return (f"{member};;{first};Claes;CLINICAL_PSYCHOLOGIST;Praktijk De Linde;Lindestraat;5;;"
            f"9690;Kluisbergen;{phone};jan@praktijkdelinde.be;;nl|fr;trauma;adults;"
            "Kluisbergen|Oudenaarde;true;ACTIVE")


def invoke(settings: Settings, *args: str) -> str:
    result = CliRunner().invoke(build_app(), list(args), env=service_env(settings))
    assert result.exit_code == 0, result.output
    return result.output


async def test_an_association_export_publishes_joins_and_leaves_on_the_member_topic(
    settings: Settings, tmp_path: Path,
) -> None:
    """Two exports: the second changes one member and drops another (it left)."""
    first = tmp_path / "v1.csv"
    first.write_text("\n".join([HEADER, row("1", "Jan", "+3255998877"),
                                row("2", "Els", "+3255998878")]) + "\n", encoding="utf-8-sig")
    second = tmp_path / "v2.csv"
    second.write_text("\n".join([HEADER, row("1", "Jan", "+3255000000")]) + "\n")
    out = await asyncio.to_thread(invoke, settings, "ingest", "association", "--association",
                                  "vvkp", "--source-version", "20261101000000", str(first))
    assert "2 upserted" in out
    out = await asyncio.to_thread(invoke, settings, "ingest", "association", "--association",
                                  "vvkp", "--source-version", "20261128000000", str(second))
    assert "1 upserted" in out
    assert "1 removed" in out
    async with TopicReader(settings, settings.topics.name("association_member")) as topic:
        seen = await topic.until(lambda v: len(v) >= 4, what="four member events")
    kinds = [(e["type"].rsplit(".", 1)[1], e["data"]["memberId"]) for e in seen]
    assert sorted(kinds) == [("removed", "2"), ("upserted", "1"), ("upserted", "1"),
                             ("upserted", "2")]
    assert json.dumps(seen).count("+3255000000") == 1


def test_a_missing_file_is_a_one_line_error(settings: Settings) -> None:
    """A bad argument gets a clear line and a non-zero exit, no traceback."""
    result = CliRunner().invoke(build_app(), ["ingest", "kbo", "/nonexistent.zip"],
                                env=service_env(settings))
    assert result.exit_code == 1
    assert "no such file" in result.output
    assert "Traceback" not in result.output
