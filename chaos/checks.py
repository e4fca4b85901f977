"""What a chaos run must show, measured on what users see: the database and the topics.

* the final state of every fiche equals the fault-free reference run's (canonical snapshots);
* after de-duplicating by event id, each fiche's downstream versions run 1..n exactly once,
  n being the fiche's version in the database;
* the dead-letter topics hold exactly the injected poison messages;
* nothing is left in the outbox; no source event is lost; no effect is doubled.

A source event is applied when its editor's decision (a pin) has its inbox row, or when its
source record is held at (at least) its ``sourceVersion``, on a fiche or waiting for review:
only editors' decisions keep an inbox row (docs/architecture.md, guarantee 2).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer

from chaos.stream import Stream
from sync.cloudevents import CloudEvent
from sync.errors import PermanentError
from sync.mapping import MappingContext
from sync.ops.lag import offsets
from sync.ops.status import FICHES as KEPT_FICHES
from sync.producers.kafka import client_options
from sync.settings import Settings
from sync.sources import map_event
from sync.store.inbox import GUARDED, inbox_key

__all__ = ["Check", "Observed", "compare_snapshots", "observe", "verify_run"]

FICHES = """
SELECT f.id, f.kind, f.version, f.status, f.inactive_reason, f.visible::text AS visible,
       coalesce(array_agg(i.type || ':' || i.value ORDER BY i.type, i.value)
                FILTER (WHERE i.type IS NOT NULL), '{}') AS identifiers
FROM fiche f LEFT JOIN fiche_identifier i ON i.fiche_id = f.id
GROUP BY f.id
"""
PINS = """
SELECT fiche_id, field, value::text AS value, author, role, reason, pinned_at, review_after
FROM pin
"""
LIVE_CONFLICTS = """
SELECT fiche_id, field, candidate::text AS candidate, source, record_id, status
FROM conflict WHERE status IN ('open', 'kept')
"""
HISTORY_PER_FICHE = """
SELECT fiche_id, count(*) AS n, max(version) AS top FROM fiche_history GROUP BY 1
"""
DOUBLE_CAUSES = """
SELECT count(*) FROM (SELECT 1 FROM fiche_history GROUP BY fiche_id, cause_source, cause_event_id
                      HAVING count(*) > 1) AS doubled
"""
INBOX = "SELECT source, event_id, outcome FROM inbox"
#: The highest version of each source record held, on a fiche or waiting for review.
RECORDS = """
SELECT source, record_id, max(source_version) AS version FROM (
    SELECT source, record_id, source_version FROM source_record
    UNION ALL SELECT source, record_id, source_version FROM match_candidate) AS held
GROUP BY 1, 2
"""
#: What is left in the outbox: the relay deletes each row it published (migration 0018).
OUTBOX = "SELECT event_id::text AS event_id, topic FROM outbox"
COUNT_HISTORY = "SELECT count(*) FROM fiche_history"
#: Fiches by kind and status, counted (``sksync status`` reads them as the triggers of
#: migration 0022 kept them: :data:`sync.ops.status.FICHES`).
COUNT_FICHES = "SELECT kind, status, count(*) AS n FROM fiche GROUP BY kind, status"

REASONS = {"undecodable": "undecodable", "unknown-profession": "unknown-profession",
           "bad-check-digits": "bad-identifier"}


@dataclass
class Check:
    """One verdict, with the figure that supports it."""

    name: str
    ok: bool
    figure: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Observed:
    """Everything read back from one run's database and topics."""

    snapshot: dict[str, dict[str, Any]]
    versions: dict[str, int]  # fiche id -> version
    history: dict[str, tuple[int, int]]  # fiche id -> (rows, highest version)
    history_rows: int
    double_causes: int
    inbox: dict[tuple[str, str], str]
    records: dict[tuple[str, str], int]  # (source, record id) -> highest version held
    outbox: list[tuple[str, str]]  # rows left (event id, topic): unsent or parked
    fiche_counts: dict[str, tuple[int, int]]  # "kind/status" -> (counted, kept by triggers)
    fiche_events: list[tuple[str, str, int, str]]  # id, subject, version, payload digest
    notifications: list[str]
    dead_letters: list[tuple[str, str, str]]  # dlq topic, value digest, reason header


# ------------------------------------------------------------------------------ reading


async def read_topic(settings: Settings, topic: str, timeout: float = 300) -> list[Any]:
    """Every record of ``topic`` from its beginning to its end offsets at the time of call."""
    known = await offsets(settings, [topic])
    wanted = {tp: end for tp, (begin, end) in known.items() if end > begin}
    if not wanted:
        return []
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False,
                                auto_offset_reset="earliest", max_partition_fetch_bytes=8 << 20)
    await consumer.start()
    records: list[Any] = []
    try:
        consumer.assign(list(wanted))
        await consumer.seek_to_beginning(*wanted)
        deadline = time.monotonic() + timeout
        while True:
            positions = {tp: await consumer.position(tp) for tp in wanted}
            if all(positions[tp] >= end for tp, end in wanted.items()):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end in {timeout:.0f} s")
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for tp, batch in batches.items():
                records.extend(r for r in batch if r.offset < wanted[tp])
    finally:
        await consumer.stop()
    return records


def _digest(value: bytes | None) -> str:
    return hashlib.sha256(value or b"").hexdigest()


def _reason(record: Any) -> str:
    headers = dict(record.headers or ())
    return bytes(headers.get("sksync-reason", b"")).decode(errors="replace")


def _canonical(value: str) -> Any:
    return json.loads(value)


async def _database(settings: Settings) -> dict[str, Any]:
    conn = await asyncpg.connect(settings.database_url, timeout=10)
    try:
        return {
            "fiches": await conn.fetch(FICHES), "pins": await conn.fetch(PINS),
            "conflicts": await conn.fetch(LIVE_CONFLICTS),
            "history": await conn.fetch(HISTORY_PER_FICHE),
            "history_rows": await conn.fetchval(COUNT_HISTORY),
            "double_causes": await conn.fetchval(DOUBLE_CAUSES),
            "inbox": await conn.fetch(INBOX), "outbox": await conn.fetch(OUTBOX),
            "records": await conn.fetch(RECORDS),
            "fiches_counted": await conn.fetch(COUNT_FICHES),
            "fiches_kept": await conn.fetch(KEPT_FICHES),
        }
    finally:
        await conn.close()


def _snapshot(db: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each fiche's canonical final state, keyed by its identifiers (or id when it has none).

    The fiche *id* is left out on purpose: an organisation that CoBRHA and the KBO both know
    gets the id derived from whichever record arrived first, so ids may differ between runs
    while the fiche (all its identifiers, its values) is the same. The *version* is left out
    too: how many versions a fiche went through depends on arrival order (an older CoBRHA
    version that arrives first makes a version of its own; arriving after the newer one it is
    stale), which guarantee 7 allows. Visible values, status, identifiers, pins and live
    conflicts must not depend on it.
    """
    pins: dict[str, list[Any]] = defaultdict(list)
    for row in db["pins"]:
        pins[str(row["fiche_id"])].append(
            [row["field"], _canonical(row["value"]), row["author"], row["role"], row["reason"],
             row["pinned_at"].isoformat(),
             row["review_after"].isoformat() if row["review_after"] else None])
    conflicts: dict[str, list[Any]] = defaultdict(list)
    for row in db["conflicts"]:
        conflicts[str(row["fiche_id"])].append(
            [row["field"], _canonical(row["candidate"]), row["source"], row["record_id"],
             row["status"]])
    snapshot: dict[str, dict[str, Any]] = {}
    for row in db["fiches"]:
        fiche = str(row["id"])
        key = "|".join(row["identifiers"]) or f"fiche:{fiche}"
        snapshot[key] = {
            "kind": row["kind"], "status": row["status"],
            "inactiveReason": row["inactive_reason"], "visible": _canonical(row["visible"]),
            "pins": sorted(pins[fiche]), "conflicts": sorted(conflicts[fiche], key=json.dumps),
        }
    return snapshot


async def observe(settings: Settings, poison_topics: list[str]) -> Observed:
    """Read one run's database and output topics (after it has settled)."""
    db = await _database(settings)
    topics = settings.topics
    events = []
    for record in await read_topic(settings, topics.name("fiche_event")):
        document = json.loads(record.value)
        version = (document.get("data") or {}).get("version")
        if version is None:  # not a fiche version (no such event type today)
            continue
        events.append((document["id"], document["subject"], int(version),
                       _digest(record.value)))
    notices = [json.loads(r.value)["id"]
               for r in await read_topic(settings, topics.name("notification"))]
    letters = []
    for topic in poison_topics:
        letters += [(topic, _digest(r.value), _reason(r))
                    for r in await read_topic(settings, topic)]
    return Observed(
        snapshot=_snapshot(db),
        versions={str(r["id"]): r["version"] for r in db["fiches"]},
        history={str(r["fiche_id"]): (r["n"], r["top"]) for r in db["history"]},
        history_rows=db["history_rows"], double_causes=db["double_causes"],
        inbox={(r["source"], r["event_id"]): r["outcome"] for r in db["inbox"]},
        records={(r["source"], r["record_id"]): r["version"] for r in db["records"]},
        outbox=[(r["event_id"], r["topic"]) for r in db["outbox"]],
        fiche_counts=_fiche_counts(db["fiches_counted"], db["fiches_kept"]),
        fiche_events=events, notifications=notices, dead_letters=letters,
    )


def _fiche_counts(counted: list[Any], kept: list[Any]) -> dict[str, tuple[int, int]]:
    """Per "kind/status" that either side has: (counted, kept)."""
    count = {f"{r['kind']}/{r['status']}": int(r["n"]) for r in counted}
    keep = {f"{r['kind']}/{r['status']}": int(r["n"]) for r in kept}
    return {key: (count.get(key, 0), keep.get(key, 0)) for key in sorted(count | keep)}


def dead_letter_topics(settings: Settings) -> list[str]:
    topics = settings.topics
    return [topics.dlq(name) for name in [*topics.sources(), topics.name("fiche_update")]]


# ------------------------------------------------------------------------------- checks


def compare_snapshots(reference: Observed, chaos: Observed) -> Check:
    ref, got = reference.snapshot, chaos.snapshot
    missing = sorted(set(ref) - set(got))
    extra = sorted(set(got) - set(ref))
    differ = sorted(k for k in set(ref) & set(got) if ref[k] != got[k])
    parts: Counter[str] = Counter()
    for key in differ:
        parts.update(_differing_parts(ref[key], got[key]))
    examples = [{"fiche": k, "reference": ref[k], "chaos": got[k]} for k in differ[:3]]
    ok = not (missing or extra or differ)
    return Check("final state equals the fault-free run", ok,
                 f"{len(got)} fiches compared; {len(differ)} differ, {len(missing)} missing, "
                 f"{len(extra)} extra",
                 {"fiches": len(got), "differ": len(differ), "missing": missing[:10],
                  "extra": extra[:10], "differing_parts": dict(parts.most_common()),
                  "differing_fiches": differ[:50], "examples": examples})


def _differing_parts(ref: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """Which parts of two snapshots of one fiche differ (``visible.<field>`` per field)."""
    parts = [name for name in ref if name != "visible" and ref[name] != got[name]]
    fields = set(ref["visible"]) | set(got["visible"])
    return parts + [f"visible.{name}" for name in sorted(fields)
                    if ref["visible"].get(name) != got["visible"].get(name)]


def check_versions(observed: Observed) -> Check:
    """Downstream versions 1..n exactly once per fiche, n = the fiche's version."""
    by_id: dict[str, set[tuple[str, int, str]]] = defaultdict(set)
    for event_id, subject, version, payload in observed.fiche_events:
        by_id[event_id].add((subject, version, payload))
    altered = sorted(i for i, seen in by_id.items() if len(seen) > 1)  # one id, two contents
    ids_per_version: dict[tuple[str, int], set[str]] = defaultdict(set)
    for event_id, seen in by_id.items():
        for subject, version, _ in seen:
            ids_per_version[(subject, version)].add(event_id)
    two_ids = sorted(f"{f}@{v}" for (f, v), ids in ids_per_version.items() if len(ids) > 1)
    seen_versions: dict[str, set[int]] = defaultdict(set)
    for fiche, version in ids_per_version:
        seen_versions[fiche].add(version)
    missing = extra = 0
    bad: list[str] = []
    for fiche in set(observed.versions) | set(seen_versions):
        expected = set(range(1, observed.versions.get(fiche, 0) + 1))
        got = seen_versions.get(fiche, set())
        if got != expected:
            missing += len(expected - got)
            extra += len(got - expected)
            bad.append(fiche)
    copies = len(observed.fiche_events) - len(by_id)
    ok = not (missing or extra or two_ids or altered)
    return Check("fiche versions 1..n exactly once downstream", ok,
                 f"{sum(observed.versions.values())} versions of {len(observed.versions)} "
                 f"fiches: {missing} missing, {extra} unexpected, {len(two_ids)} with two ids "
                 f"({copies} re-sent copies removed by id)",
                 {"versions": sum(observed.versions.values()), "missing": missing,
                  "unexpected": extra, "two_ids_for_one_version": len(two_ids),
                  "same_id_different_content": len(altered), "resent_copies": copies,
                  "fiches_wrong": bad[:10], "examples_two_ids": two_ids[:5]})


def check_order(observed: Observed) -> Check:
    """Each fiche's versions arrive in order: its events share a partition (keyed by fiche id),
    read here in offset order; a re-sent copy repeats an id already seen and is skipped, every
    first sight of an id must carry a higher version than the one before."""
    seen_ids: set[str] = set()
    last: dict[str, int] = {}
    backwards: list[str] = []
    for event_id, subject, version, _ in observed.fiche_events:
        if event_id in seen_ids:
            continue
        seen_ids.add(event_id)
        if version <= last.get(subject, 0):
            backwards.append(f"{subject}: v{version} after v{last[subject]}")
        last[subject] = max(version, last.get(subject, 0))
    return Check("fiche versions in order downstream", not backwards,
                 f"{len(last)} fiches read in partition order: {len(backwards)} versions "
                 "out of order", {"out_of_order": len(backwards), "examples": backwards[:5]})


def check_history(observed: Observed) -> Check:
    """The database's own history agrees: rows 1..n per fiche, no source event applied twice."""
    wrong = [f for f, v in observed.versions.items()
             if observed.history.get(f, (0, 0)) != ((v, v) if v else (0, 0))]
    ok = not wrong and observed.double_causes == 0
    return Check("fiche history has one row per version, one cause per row", ok,
                 f"{observed.history_rows} history rows; {len(wrong)} fiches disagree; "
                 f"{observed.double_causes} source events that made two versions of a fiche",
                 {"rows": observed.history_rows, "fiches_wrong": wrong[:10],
                  "double_causes": observed.double_causes})


def check_fiche_counts(observed: Observed) -> Check:
    """The fiches by kind and status that ``sksync status`` and the gauges report (kept by
    triggers, migration 0022) equal a count of the fiches, after every fault."""
    wrong = {key: pair for key, pair in observed.fiche_counts.items() if pair[0] != pair[1]}
    figure = ", ".join(f"{key} {counted} counted, {kept} kept"
                       for key, (counted, kept) in sorted(observed.fiche_counts.items()))
    return Check("fiche counts kept by triggers equal a count of the fiches", not wrong,
                 figure or "no fiches", {"counts": observed.fiche_counts, "wrong": wrong})


def check_dead_letters(stream: Stream, observed: Observed, settings: Settings) -> Check:
    expected = {(settings.topics.dlq(settings.topics.name(p.topic_key)), p.digest): p
                for p in stream.poison}
    copies = Counter((topic, digest) for topic, digest, _ in observed.dead_letters)
    missing = [expected[k].ref for k in expected if k not in copies]
    unexpected = [k for k in copies if k not in expected]
    wrong_reason = sorted({expected[(t, d)].ref for t, d, reason in observed.dead_letters
                           if (t, d) in expected and reason != REASONS[expected[(t, d)].kind]})
    resent = sum(copies.values()) - len(copies)
    ok = not (missing or unexpected or wrong_reason)
    by_kind = Counter(p.kind for p in stream.poison)
    return Check("dead-letter topics hold exactly the injected poison", ok,
                 f"{len(expected)} injected ({', '.join(f'{k} {v}' for k, v in by_kind.items())}); "
                 f"{len(copies)} distinct dead letters, {len(missing)} missing, "
                 f"{len(unexpected)} unexpected, {len(wrong_reason)} with a wrong reason "
                 f"({resent} re-sent copies)",
                 {"injected": len(expected), "distinct": len(copies), "missing": missing[:10],
                  "unexpected": len(unexpected), "wrong_reason": wrong_reason[:10],
                  "resent_copies": resent})


def check_outbox(observed: Observed, settings: Settings) -> Check:
    """Nothing left in the outbox: the relay deletes a row only once the broker has taken it,
    so a row left is an event not published (or parked). That every fiche version reached its
    topic, and nothing else, is :func:`check_versions`'s."""
    unsent = len(observed.outbox)
    published = len({e[0] for e in observed.fiche_events} | set(observed.notifications))
    return Check("outbox empty, every row published", unsent == 0,
                 f"{unsent} outbox rows left; {published} distinct events on the topics",
                 {"unsent": unsent, "published": published})


@dataclass(frozen=True)
class Expected:
    """What the stream's valid events must leave: the inbox rows of editors' decisions, and
    the highest version of each source record."""

    decisions: set[tuple[str, str]]
    records: dict[tuple[str, str], int]


def expected_effects(stream: Stream) -> Expected:
    """The stream's valid events, mapped as the service maps them (record ids and versions do
    not depend on the secret that hashes SSINs)."""
    context = MappingContext(ssin_secret=b"chaos")
    decisions: set[tuple[str, str]] = set()
    records: dict[tuple[str, str], int] = {}
    done: set[tuple[str, str]] = set()
    for message in (m for chunk in stream.chunks for m in chunk):
        if message.event is None or message.event in done:
            continue
        done.add(message.event)
        try:
            updates = map_event(CloudEvent.model_validate_json(message.value), context)
        except PermanentError:  # dead-lettered: the dead-letter check counts it
            continue
        for update in updates:
            if update.action in GUARDED:
                decisions.add(inbox_key(update))
            else:
                key = (update.source.value, update.record_id)
                records[key] = max(records.get(key, -1), update.source_version)
    return Expected(decisions, records)


def lost_and_doubled(stream: Stream, observed: Observed, versions: Check,
                     outbox: Check) -> tuple[Check, Check]:
    """Events lost: an editor's decision without its inbox row, a source record not held at
    its last version, or an effect never published. Duplicated effects: an event applied
    twice, a version under two ids, an inbox row that no source event explains."""
    expected = expected_effects(stream)
    decisions_missing = len(expected.decisions - set(observed.inbox))
    records_behind = sum(1 for key, version in expected.records.items()
                         if observed.records.get(key, -1) < version)
    not_applied = decisions_missing + records_behind
    stray = len(set(observed.inbox) - expected.decisions)
    lost = not_applied + int(versions.detail["missing"]) + int(outbox.detail["unsent"])
    doubled = (observed.double_causes + int(versions.detail["two_ids_for_one_version"])
               + int(versions.detail["same_id_different_content"]) + stray)
    return (
        Check("events lost", lost == 0, str(lost),
              {"lost": lost, "source_events_not_applied": not_applied,
               "decisions_without_inbox_row": decisions_missing,
               "source_records_behind_their_last_version": records_behind,
               "fiche_versions_not_downstream": versions.detail["missing"],
               "outbox_rows_not_published": outbox.detail["unsent"],
               "decisions_expected": len(expected.decisions),
               "source_records_expected": len(expected.records)}),
        Check("duplicated effects", doubled == 0, str(doubled),
              {"duplicated": doubled, "events_applied_twice": observed.double_causes,
               "versions_with_two_ids": versions.detail["two_ids_for_one_version"],
               "inbox_rows_without_source_event": stray}),
    )


def verify_run(stream: Stream, reference: Observed, chaos: Observed,
               settings: Settings) -> list[Check]:
    """Every check of the chaos run against the reference run."""
    versions = check_versions(chaos)
    outbox = check_outbox(chaos, settings)
    lost, doubled = lost_and_doubled(stream, chaos, versions, outbox)
    return [compare_snapshots(reference, chaos), versions, check_order(chaos),
            check_history(chaos), check_fiche_counts(chaos),
            check_dead_letters(stream, chaos, settings), outbox, lost, doubled]


def outcomes(observed: Observed) -> dict[str, int]:
    return dict(sorted(Counter(observed.inbox.values()).items()))


async def gather_both(ref: Settings, run: Settings) -> tuple[Observed, Observed]:
    """Observe both runs (the reference's dead-letter topics are read too, for comparison)."""
    return await asyncio.gather(observe(ref, dead_letter_topics(ref)),
                                observe(run, dead_letter_topics(run)))
