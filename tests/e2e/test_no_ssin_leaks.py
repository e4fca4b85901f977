"""No SSIN anywhere it must not be (DESIGN.md §6), over the whole flow on real Kafka and
PostgreSQL with ``sksync run`` as a real process, logging at DEBUG into a file.

Known, valid SSINs go in: in good CoBRHA professional events, in poison events (an unknown
profession, an SSIN failing its check digits, an SSIN where a code or a key goes, a cut-off
message), in a hand edit naming an SSIN as a field (refused, so its editor is notified), in
an association member event carrying an ``ssin`` field that associations do not have (ignored,
applied), and in the ids of the good professional, the edit and the member event (ids are
copied into the cause of fiche events and notifications, the history and the logs). Then
every place the service writes is searched for each SSIN in any usual writing
(11 digits, with dots, dashes, spaces or slashes) and for its first nine digits alone (they
decide the two check digits): every log line, every message (key, value, headers) on
``sk.fiche.event``, ``sk.notification`` and ``sk.fiche.update``, every dead-letter header, every
line of a /metrics scrape and the /healthz and /readyz bodies, and every row of every table
of the service's database (fiche.visible, source_record values, outbox payloads, inbox, ...).

Dead-letter *values* are not searched: a dead letter's value is the original message,
unchanged, so it necessarily holds the SSIN the source sent. The test shows that it does (so
the search would find one), which is why the dead-letter topics need ACLs (docs/security.md).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from devstack import free_port
from sync.identifiers import IdentifierError, hash_ssin, normalize_ssin
from sync.settings import Settings
from tests.support.builders import nihii, professional, ssin
from tests.support.kafka import TopicReader, publish, publish_raw
from tests.support.process import ServiceProcesses

pytestmark = pytest.mark.slow

SECRET = "ssin-scan-secret"
SEPARATOR = r"[-. /]?"


def valid_ssins(count: int) -> list[str]:
    """Distinct valid SSINs (seeded: a failure can be replayed)."""
    rng, found = random.Random(20261128), []
    while len(found) < count:
        candidate = ssin(rng)
        if candidate not in found and normalize_ssin(candidate) == candidate:
            found.append(candidate)
    return found


SSINS = valid_ssins(11)
GOOD, UNKNOWN_PROFESSION, AS_CODE, AS_KEY, CUT_OFF, AS_FIELD, UNEXPECTED = SSINS[:7]
BAD_CHECK = SSINS[7][:9] + f"{(int(SSINS[7][9:]) + 1) % 100:02d}"
#: In event ids, which go into the cause of fiche events and notifications, into the fiche
#: history, into logs and into ids derived from them.
IN_ID, IN_EDIT_ID, IN_MEMBER_ID = SSINS[8:11]
PLANTED = [*SSINS[:7], BAD_CHECK, IN_ID, IN_EDIT_ID, IN_MEMBER_ID]


def dotted(number: str) -> str:
    """85.07.30-033.28: the way an SSIN is often written by hand."""
    return f"{number[:2]}.{number[2:4]}.{number[4:6]}-{number[6:9]}.{number[9:]}"


def pattern(number: str) -> re.Pattern[str]:
    """The number's first nine digits (YY MM DD NNN), then its check digits or not, with or
    without separators between the groups."""
    groups = (number[:2], number[2:4], number[4:6], number[6:9])
    return re.compile(SEPARATOR.join(groups))


PATTERNS = {number: pattern(number) for number in PLANTED}


def leaks(where: str, texts: Iterable[str]) -> list[str]:
    """``where: <number>: <line>`` for every text holding a planted number."""
    found = []
    for text in texts:
        for number, regex in PATTERNS.items():
            if regex.search(text):
                found.append(f"{where}: {number}: {text[:200]}")
    return found


def events() -> list[dict[str, Any]]:
    """Good events with SSINs, and poison ones carrying an SSIN (one poison per reason)."""
    good = [professional(nihii("1"), with_ssin=GOOD, last="Goossens",
                         event_id=f"cobrha-p-{IN_ID}-{uuid.uuid4().hex[:6]}")]
    poison = [
        professional(code="ASTROLOGER", with_ssin=UNKNOWN_PROFESSION),
        professional(with_ssin=BAD_CHECK),
        professional(code=AS_CODE),
    ]
    keyed = professional()
    keyed["data"]["professions"][0]["friendlyName"] = {AS_KEY: 5}
    edit = {
        "specversion": "1.0", "id": f"sk-edit-{dotted(IN_EDIT_ID)}",
        "source": "urn:socialekaart:editor", "type": "be.socialekaart.fiche.edited",
        "time": "2026-11-28T09:30:00Z", "subject": str(uuid.uuid4()),
        "data": {"ficheId": str(uuid.uuid4()), "editor": {"id": "u-1029", "role": "editor"},
                 "changes": {f"rijksregister {AS_FIELD}": "x"}},
    }
    member = {
        "specversion": "1.0", "id": f"vvkp-{IN_MEMBER_ID}", "source": "urn:association:vvkp",
        "type": "be.association.member.upserted", "time": "2026-11-28T12:00:00Z",
        "subject": "vvkp:4711",
        "data": {"sourceVersion": 1, "associationId": "vvkp", "memberId": "4711",
                 "ssin": UNEXPECTED, "firstName": "Jan", "lastName": "Claes",
                 "profession": "CLINICAL_PSYCHOLOGIST"},
    }
    return [*good, *poison, keyed, edit, member]


@pytest.fixture
def scan_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"http_port": free_port()})


@pytest.fixture
def service(scan_settings: Settings) -> Iterator[ServiceProcesses]:
    processes = ServiceProcesses(scan_settings)
    # With the audit stream on: the canonical updates are scanned on sk.fiche.update too.
    processes.start(SKSYNC_SSIN_SECRET=SECRET, SKSYNC_LOG_LEVEL="DEBUG",
                    SKSYNC_GAUGES_INTERVAL_S="0.5", SKSYNC_AUDIT_UPDATES="true")
    yield processes
    processes.kill_all()


async def read_all(settings: Settings, key: str, *, at_least: int) -> list[Any]:
    async with TopicReader(settings, key) as topic:
        await topic.until(lambda _: len(topic.records) >= at_least,
                          what=f"{at_least} record(s)", timeout=90)
        await topic.settle(quiet=1.5)
    return topic.records


def record_texts(records: Iterable[Any], *, values: bool = True) -> Iterator[str]:
    for record in records:
        yield (record.key or b"").decode(errors="replace")
        if values:
            yield (record.value or b"").decode(errors="replace")
        for name, value in record.headers or ():
            yield f"{name}={value.decode(errors='replace')}"


async def http_texts(port: int) -> list[str]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10,
                                 trust_env=False) as http:
        deadline = time.monotonic() + 30
        while True:
            try:
                responses = [await http.get(path) for path in ("/metrics", "/healthz", "/readyz")]
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
    assert responses[0].status_code == 200
    assert "sksync_dead_letters_total" in responses[0].text
    return [line for response in responses for line in response.text.splitlines()]


async def database_texts(url: str) -> tuple[list[str], int]:
    """Every row of every table of the service (public and kbo), as text; and how many
    SSIN-HASH identifiers the fiches hold."""
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname IN ('public', 'kbo')")
        texts = []
        for table in tables:
            name = f'"{table["schemaname"]}"."{table["tablename"]}"'
            rows = await conn.fetch(f"SELECT t::text AS row FROM {name} t")
            texts += [f"{name} {row['row']}" for row in rows]
        hashes = await conn.fetchval(
            "SELECT count(*) FROM fiche_identifier WHERE type = 'SSIN-HASH' AND value = $1",
            hash_ssin(GOOD, SECRET))
    finally:
        await conn.close()
    return texts, hashes


async def test_no_ssin_reaches_logs_events_notifications_dead_letter_headers_metrics_or_rows(
    service: ServiceProcesses, scan_settings: Settings,
) -> None:
    """The SSINs are matched (the good one as its keyed hash) and shown nowhere."""
    settings = scan_settings
    topics = settings.topics
    assert all(_is_valid(number) for number in SSINS)
    assert not _is_valid(BAD_CHECK)
    await publish(settings, events())
    cut = json.dumps(professional(with_ssin=CUT_OFF)).encode()
    await publish_raw(settings, "cobrha_professional", [cut[: cut.index(CUT_OFF.encode()) + 20]])

    fiche_events = await read_all(settings, topics.name("fiche_event"), at_least=2)
    notifications = await read_all(settings, topics.name("notification"), at_least=1)
    updates = await read_all(settings, topics.name("fiche_update"), at_least=2)
    letters = await read_all(settings, topics.dlq(topics.name("cobrha_professional")),
                             at_least=5)
    edit_letters = await read_all(settings, topics.dlq(topics.name("manual_edit")), at_least=1)
    update_letters = await read_all(settings, topics.dlq(topics.name("fiche_update")),
                                    at_least=0)
    http_lines = await http_texts(settings.http_port)
    rows, hashes = await database_texts(settings.database_url)
    assert service.stop(service.running[0]) == 0
    log_lines = service.log_text().splitlines()

    causes = [json.loads(r.value)["data"]["cause"] or {} for r in fiche_events]
    assert any(c.get("id", "").startswith("cobrha-p-#") for c in causes), \
        "the id with an SSIN reached the fiche event's cause, masked"
    reasons = sorted(dict(r.headers)["sksync-reason"].decode() for r in [*letters, *edit_letters])
    assert reasons == ["bad-identifier", "schema-invalid", "undecodable", "unknown-field",
                       "unknown-profession", "unknown-profession"]
    assert hashes == 1, "the good SSIN was matched as its keyed hash"
    assert len(log_lines) > 5, "the service logged (start-up, dead letters, shutdown)"
    assert any("dead-lettered" in line for line in log_lines)
    dead_values = [(r.value or b"").decode(errors="replace") for r in letters]
    assert leaks("dead-letter values", dead_values), "the originals hold their SSINs"

    found = [
        *leaks("log", log_lines),
        *leaks(topics.name("fiche_event"), record_texts(fiche_events)),
        *leaks(topics.name("notification"), record_texts(notifications)),
        *leaks(topics.name("fiche_update"), record_texts(updates)),
        *leaks("dead-letter headers",
               record_texts([*letters, *edit_letters, *update_letters], values=False)),
        *leaks("http", http_lines),
        *leaks("database", rows),
    ]
    assert found == []


def _is_valid(number: str) -> bool:
    try:
        normalize_ssin(number)
    except IdentifierError:
        return False
    return True
