"""Hostile input on real Kafka and PostgreSQL: a clear refusal, bounded memory, and values that
look like code stored and emitted as the text they are.

Dead letters of huge messages: a dead letter's value is the original message, except when it
is bigger than ``sync.producers.dlq.MAX_DLQ_VALUE_BYTES`` (only a ``too-large`` message can
be). Then only its first 64 KiB are kept, and the headers ``sksync-truncated-from`` (the
original size) and ``sksync-original-sha256`` identify the original: whole, it would not fit
the dead-letter topic's default 1 MB limit, and retrying that publish for ever would stall
the consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import psutil
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from typer.testing import CliRunner

from sync.app import Service
from sync.cli.main import build_app
from sync.ingest.association import ingest_association_csv
from sync.producers.dlq import TRUNCATED, TRUNCATED_HEAD_BYTES
from sync.producers.kafka import client_options
from sync.settings import Settings
from sync.store.queries import fiche_report, resolve_fiche_id
from tests.support.builders import nihii, professional
from tests.support.kafka import TopicReader, publish
from tests.support.kbo_zip import enterprise, enterprise_number, write_full_zip
from tests.support.process import service_env

pytestmark = pytest.mark.slow

SQL = "'); DROP TABLE fiche;--"
MARKUP = "<script>alert(1)</script>"
HUGE = 10 << 20
#: Growth of the resident set allowed while ingesting a file of any length.
MEMORY_BOUND = 150 << 20


async def create_topic(settings: Settings, topic: str, config: dict[str, str]) -> None:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics([NewTopic(topic, 3, 1, topic_configs=config)])
    finally:
        await admin.close()


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[Service]:
    """The service in this process. The CoBRHA professional topic takes messages of up to
    16 MB (a topic setting; the broker's default is 1 MB), as a misconfigured cluster might."""
    await create_topic(settings, settings.topics.name("cobrha_professional"),
                       {"max.message.bytes": str(16 << 20)})
    running = Service(settings, serve_http=False)
    await running.start()
    yield running
    await running.stop()


async def send_raw(settings: Settings, topic_key: str, value: bytes) -> None:
    """One message, through a producer whose request limit fits it."""
    producer = AIOKafkaProducer(**client_options(settings), max_request_size=16 << 20)
    await producer.start()
    try:
        await producer.send_and_wait(settings.topics.name(topic_key), value, key=b"huge")
    finally:
        await producer.stop()


async def dead_letters(settings: Settings, topic_key: str, count: int) -> list[Any]:
    dlq = settings.topics.dlq(settings.topics.name(topic_key))
    async with TopicReader(settings, dlq) as letters:
        await letters.until(lambda _: len(letters.records) >= count,
                            what=f"{count} dead letter(s)")
    return letters.records


async def fiche_events(settings: Settings, count: int) -> list[dict[str, Any]]:
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        return await events.until(lambda v: len(v) >= count, what=f"{count} fiche event(s)")


async def test_a_ten_megabyte_message_is_dead_lettered_as_too_large_and_the_next_is_applied(
    service: Service, settings: Settings,
) -> None:
    """Refused before parsing; its dead letter keeps the head and says how big it was."""
    raw = json.dumps(professional(nihii("1"), last="x" * HUGE)).encode()
    await send_raw(settings, "cobrha_professional", raw)
    good = professional(nihii("3"), code="DENTIST")
    await publish(settings, [good])
    [letter] = await dead_letters(settings, "cobrha_professional", 1)
    headers = {key: value.decode() for key, value in letter.headers}
    assert headers["sksync-reason"] == "too-large"
    assert headers[TRUNCATED] == str(len(raw))
    assert headers["sksync-original-sha256"] == hashlib.sha256(raw).hexdigest()
    assert letter.value == raw[:TRUNCATED_HEAD_BYTES]
    [event] = await fiche_events(settings, 1)
    assert event["data"]["snapshot"]["professions"][0]["code"] == "DENTIST"


async def test_values_that_look_like_sql_or_markup_are_stored_and_emitted_literally(
    service: Service, settings: Settings,
) -> None:
    """Nothing is escaped, stripped or executed: the fiche event and the stored fiche hold
    exactly the text that came in, and the fiche table is still there."""
    number = nihii("1")
    await publish(settings, [professional(number, first=SQL, last=MARKUP)])
    async with TopicReader(settings, settings.topics.name("fiche_event")) as events:
        [event] = await events.until(lambda v: len(v) >= 1, what="the fiche event")
    snapshot = event["data"]["snapshot"]
    assert (snapshot["name.first"], snapshot["name.last"]) == (SQL, MARKUP)
    assert SQL.encode() in events.records[0].value  # not HTML- or \u-escaped on the wire
    assert MARKUP.encode() in events.records[0].value
    conn = await asyncpg.connect(settings.database_url)
    try:
        fiche_id = await resolve_fiche_id(conn, f"NIHII-PERSON:{number[:8]}")
        assert fiche_id is not None
        report = await fiche_report(conn, fiche_id)
        assert await conn.fetchval("SELECT count(*) FROM fiche") == 1
    finally:
        await conn.close()
    assert report is not None
    assert (report["visible"]["name.first"], report["visible"]["name.last"]) == (SQL, MARKUP)
    assert report["provenance"]["name.last"][0]["value"] == MARKUP


async def test_a_hand_made_fiche_with_markup_in_its_fields_keeps_it_literally(
    service: Service, settings: Settings,
) -> None:
    """The same through the manual path, where fields are free JSON values."""
    fiche_id = str(uuid.uuid4())
    created = {
        "specversion": "1.0", "id": f"sk-edit-{uuid.uuid4().hex}",
        "source": "urn:socialekaart:editor", "type": "be.socialekaart.fiche.created",
        "time": "2026-11-28T08:00:00Z", "subject": fiche_id,
        "data": {"ficheId": fiche_id, "kind": "organisation",
                 "editor": {"id": "u-1029", "role": "editor"},
                 "fields": {"name": {"nl": MARKUP}, "description": f"{SQL} {MARKUP}"}}}
    await publish(settings, [created])
    [event] = await fiche_events(settings, 1)
    assert event["data"]["snapshot"]["name"] == {"nl": MARKUP}
    assert event["data"]["snapshot"]["description"] == f"{SQL} {MARKUP}"


async def test_a_nul_character_is_dead_lettered_at_the_source_and_the_next_is_applied(
    service: Service, settings: Settings,
) -> None:
    """PostgreSQL stores no NUL: the source event is refused with its reason, up front."""
    await publish(settings, [professional(nihii("1"), last="Pee\x00ters")])
    await publish(settings, [professional(nihii("3"), code="DENTIST")])
    [letter] = await dead_letters(settings, "cobrha_professional", 1)
    assert dict(letter.headers)["sksync-reason"] == b"unstorable"
    [event] = await fiche_events(settings, 1)
    assert event["data"]["snapshot"]["professions"][0]["code"] == "DENTIST"


# ------------------------------------------------------------------ files: CSV and KBO ZIP

COLUMNS = ["member_id", "first_name", "last_name", "profession", "zip_code", "municipality",
           "status"]


def member_export(path: Path, rows: int, broken_at: int | None = None) -> Path:
    """A member export written row by row (never held in memory); row ``broken_at`` opens a
    quote it never closes."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        writer.writerow(COLUMNS)
        for n in range(rows):
            if n == broken_at:
                handle.write(f'M{n:07d};"Open quote;Peeters;NURSE;9700;Oudenaarde;ACTIVE\n')
                continue
            writer.writerow([f"M{n:07d}", f"Voornaam {n}", "Peeters", "PHYSIOTHERAPIST",
                             "9700", "Oudenaarde", "ACTIVE"])
    return path


class RssPeak:
    """The largest resident set seen, sampled as the ingest reports progress and publishes."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self.start = self._process.memory_info().rss
        self.peak = self.start
        self.published = 0

    def sample(self) -> None:
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def growth(self) -> int:
        return self.peak - self.start

    async def publish(self, event: dict[str, Any]) -> None:
        self.published += 1
        if self.published % 5_000 == 0:
            self.sample()

    def progress(self) -> Callable[[str, int], None]:
        return lambda _what, _count: self.sample()


#: A million rows in ``make fuzz`` (about four minutes here); a fifth of that in ``make test``.
EXPORT_ROWS = int(os.environ.get("SKSYNC_HOSTILE_ROWS", "200000"))


async def test_a_member_export_of_a_million_rows_is_ingested_in_bounded_memory(
    pg_conn: asyncpg.Connection, tmp_path: Path,
) -> None:
    """Streamed row by row and batch by batch: the resident set grows by far less than the
    file (about 80 MB for a million rows) plus its events would take."""
    path = member_export(tmp_path / "million.csv", EXPORT_ROWS)
    memory = RssPeak()
    summary = await ingest_association_csv(pg_conn, "vvkp", path, memory.publish,
                                           source_version=1, progress=memory.progress())
    memory.sample()
    assert (summary.rows_read, summary.invalid_row_count) == (EXPORT_ROWS, 0)
    assert memory.published == EXPORT_ROWS
    assert memory.growth < MEMORY_BOUND, f"grew by {memory.growth >> 20} MB"


async def test_a_broken_line_in_a_long_export_is_reported_by_line_and_memory_stays_bounded(
    pg_conn: asyncpg.Connection, tmp_path: Path,
) -> None:
    """An unclosed quote reads on until the csv module's field limit (128 KiB): that one
    record is reported with the line it starts on, the rows after the limit are read, and
    no member is taken as removed (the broken record's member cannot be known)."""
    rows, broken_at = 200_000, 1_000
    path = member_export(tmp_path / "broken.csv", rows, broken_at=broken_at)
    memory = RssPeak()
    summary = await ingest_association_csv(pg_conn, "vvkp", path, memory.publish,
                                           source_version=1, progress=memory.progress())
    memory.sample()
    [invalid] = summary.invalid_rows
    assert (invalid.line, summary.invalid_row_count) == (broken_at + 2, 1)
    assert invalid.reason.startswith("broken CSV record")
    assert summary.removals_suppressed
    swallowed = rows - 1 - summary.rows_read
    assert 0 < swallowed < 2_000  # the lines the open quote took in, up to 128 KiB of them
    assert memory.growth < MEMORY_BOUND, f"grew by {memory.growth >> 20} MB"


def ingest_kbo(settings: Settings, path: Path) -> Any:
    return CliRunner().invoke(build_app(), ["ingest", "kbo", str(path)],
                              env=service_env(settings))


@pytest.mark.parametrize(("omit", "raw", "expected"), [
    (["enterprise.csv"], None, "required file enterprise.csv is missing from the Full ZIP"),
    ([], {"activity.csv": b"\0" * (50 << 20)}, "activity.csv: compression ratio too high"),
])
async def test_a_kbo_zip_with_a_missing_file_or_a_bomb_is_one_clear_line_and_publishes_nothing(
    settings: Settings, tmp_path: Path, omit: list[str], raw: dict[str, bytes] | None,
    expected: str,
) -> None:
    """``sksync ingest kbo`` refuses the whole ZIP before reading a row (the guards themselves
    are specified in tests/unit/test_kbo_zip.py)."""
    number = enterprise_number(4030192)
    path = write_full_zip(tmp_path / "kbo.zip", 300, {"enterprise": [enterprise(number)]},
                          omit=omit, raw=raw)
    result = await asyncio.to_thread(ingest_kbo, settings, path)
    assert result.exit_code == 1
    [line] = [line for line in result.output.splitlines() if line.strip()]
    assert line.startswith(f"error: {expected}")
    async with TopicReader(settings, settings.topics.name("kbo_entity")) as topic:
        assert await topic.settle(quiet=1.0) == []
