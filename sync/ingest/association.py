"""Ingest an association's member export (``sksync ingest association --association ID FILE``).

An export is a full list. Per valid row: publish ``be.association.member.upserted`` when the
member is new, changed or back (its digest differs from the one stored). After the file:
publish ``be.association.member.removed`` for each member listed before and missing now.
A bad row is skipped and reported; its member, when its id can be read, is not treated as
removed. When a bad row's member cannot be known at all, no member is removed this time
(``removals_suppressed``): a broken line must not look like somebody leaving. An export that
names no member at all is refused when members were listed before.

Everything runs in one transaction and events are published before the commit: a failed
run publishes again with the same ids (``<association>-<member>-<sourceVersion>``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from sync.ingest.association_csv import BadMember, IgnoredColumns, Member, read_members
from sync.ingest.common import (
    Flush,
    IngestError,
    InvalidRow,
    InvalidRows,
    Progress,
    Publish,
    cloud_event,
)
from sync.mapping.association import (
    TYPE_REMOVED,
    TYPE_UPSERTED,
    MemberKey,
    association_source,
)
from sync.mapping.association import Member as MemberData

__all__ = ["AssociationIngestSummary", "default_source_version", "ingest_association_csv"]

log = structlog.get_logger(__name__)

BATCH = 500
_ASSOCIATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

_LAST_VERSION = "SELECT max(source_version) FROM association_export WHERE association_id = $1"
_RECORD_EXPORT = """
INSERT INTO association_export (association_id, source_version, file_name) VALUES ($1, $2, $3)
"""
_PREVIOUS = """
SELECT member_id, digest, present FROM association_member_state
WHERE association_id = $1 AND member_id = ANY($2::text[])
"""
_UPSERT = """
INSERT INTO association_member_state (association_id, member_id, digest, source_version, present)
SELECT $1, m, d, $4, true FROM unnest($2::text[], $3::text[]) AS x(m, d)
ON CONFLICT (association_id, member_id) DO UPDATE
SET digest = EXCLUDED.digest, source_version = EXCLUDED.source_version, present = true
"""
_GONE = """
SELECT member_id FROM association_member_state
WHERE association_id = $1 AND present AND NOT member_id = ANY($2::text[])
ORDER BY member_id
"""
_MARK_GONE = """
UPDATE association_member_state SET present = false, source_version = $3
WHERE association_id = $1 AND member_id = ANY($2::text[])
"""


@dataclass
class AssociationIngestSummary:
    """What one export did. ``rows_read``: valid member rows."""

    association_id: str
    source_version: int
    rows_read: int = 0
    invalid_rows: list[InvalidRow] = field(default_factory=list)
    invalid_row_count: int = 0
    members_upserted: int = 0
    members_unchanged: int = 0
    members_removed: int = 0
    removals_suppressed: bool = False
    ignored_columns: tuple[str, ...] = ()


def default_source_version(now: datetime | None = None) -> int:
    """The current UTC time as YYYYMMDDHHMMSS: grows with every later export."""
    return int((now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d%H%M%S"))


async def ingest_association_csv(
    conn: asyncpg.Connection,
    association_id: str,
    path: Path,
    publish: Publish,
    *,
    source_version: int | None = None,
    progress: Progress | None = None,
    flush: Flush | None = None,
) -> AssociationIngestSummary:
    """Ingest one full member export of ``association_id`` and publish member events.

    ``source_version`` must exceed the previous export's (default: now, YYYYMMDDHHMMSS).
    Raises :class:`IngestError` when the file or the version is unusable.
    """
    if not _ASSOCIATION_ID.fullmatch(association_id):
        raise IngestError(f"association id {association_id[:70]!r} is not a short code")
    version = source_version if source_version is not None else default_source_version()
    run = _Run(conn, publish, AssociationIngestSummary(association_id, version), path.name)
    async with conn.transaction():
        await _check_version(conn, association_id, version)
        rows = read_members(path, association_id, version)
        while batch := list(islice(rows, BATCH)):
            await run.batch(batch)
            if progress is not None:
                progress(path.name, run.summary.rows_read)
        await run.removals()
        await conn.execute(_RECORD_EXPORT, association_id, version, path.name)
        if flush is not None:
            await flush()  # every event on the broker before the state that says so commits
    run.summary.invalid_rows, run.summary.invalid_row_count = run.invalid.rows, run.invalid.count
    log.info("association export ingested", association=association_id, version=version,
             upserted=run.summary.members_upserted, removed=run.summary.members_removed,
             invalid_rows=run.invalid.count)
    return run.summary


async def _check_version(conn: asyncpg.Connection, association_id: str, version: int) -> None:
    last: int | None = await conn.fetchval(_LAST_VERSION, association_id)
    if last is not None and version <= last:
        raise IngestError(f"sourceVersion {version} refused: export {last} of {association_id} "
                          "was already ingested (versions must grow)")


class _Run:
    """The state of one export being ingested: members seen, kept, invalid rows."""

    def __init__(self, conn: asyncpg.Connection, publish: Publish,
                 summary: AssociationIngestSummary, name: str) -> None:
        self.conn, self.publish, self.summary, self.name = conn, publish, summary, name
        self.invalid = InvalidRows()
        self.lines: dict[str, int] = {}  # member id -> line it was first listed on

    async def batch(self, rows: list[Member | BadMember | IgnoredColumns]) -> None:
        """Publish and record the new or changed members among ``rows``."""
        members = [member for row in rows if (member := self._accept(row)) is not None]
        ids = [member.data.member_id for member in members]
        previous = {r["member_id"]: r for r in await self.conn.fetch(
            _PREVIOUS, self.summary.association_id, ids)}
        changed: list[tuple[str, str]] = []
        for member in members:
            digest = _digest(member.data)
            before = previous.get(member.data.member_id)
            if before is not None and before["digest"] == digest and before["present"]:
                self.summary.members_unchanged += 1
                continue
            await self.publish(self._event(TYPE_UPSERTED, member.data.member_id,
                                           member.data.model_dump(mode="json", by_alias=True)))
            changed.append((member.data.member_id, digest))
        self.summary.members_upserted += len(changed)
        if changed:
            await self.conn.execute(_UPSERT, self.summary.association_id,
                                    [m for m, _ in changed], [d for _, d in changed],
                                    self.summary.source_version)

    async def removals(self) -> None:
        """Publish ``removed`` for members listed before and absent now."""
        if self.summary.removals_suppressed:
            return
        summary = self.summary
        gone = [r["member_id"] for r in await self.conn.fetch(
            _GONE, summary.association_id, list(self.lines))]
        if gone and not self.lines:
            # An export naming nobody is far likelier a failed export than a dissolved
            # association: refuse rather than publish that every member left.
            raise IngestError(f"{self.name} lists no member at all: refusing to remove all "
                              f"{len(gone)} members of {summary.association_id}")
        for member_id in gone:
            data = MemberKey(source_version=summary.source_version,
                             association_id=summary.association_id, member_id=member_id)
            await self.publish(self._event(TYPE_REMOVED, member_id, data.model_dump(
                mode="json", by_alias=True, exclude={"nihii"})))
        summary.members_removed = len(gone)
        await self.conn.execute(_MARK_GONE, summary.association_id, gone, summary.source_version)

    def _accept(self, row: Member | BadMember | IgnoredColumns) -> Member | None:
        """A valid row seen for the first time; remember every member id the file names."""
        if isinstance(row, IgnoredColumns):
            self.summary.ignored_columns = row.columns
            log.warning("association export has columns it does not use", file=self.name,
                        columns=list(row.columns))
            return None
        if isinstance(row, BadMember):
            self.invalid.add(self.name, row.line, row.reason)
            if row.member_id is None:
                self.summary.removals_suppressed = True
            else:
                self.lines.setdefault(row.member_id, row.line)
            return None
        first = self.lines.setdefault(row.data.member_id, row.line)
        if first != row.line:
            self.invalid.add(self.name, row.line, f"member_id listed before, on line {first}")
            return None
        self.summary.rows_read += 1
        return row

    def _event(self, kind: str, member_id: str, data: dict[str, Any]) -> dict[str, Any]:
        association, version = self.summary.association_id, self.summary.source_version
        return cloud_event(
            id=f"{association}-{member_id}-{version}", source=association_source(association),
            type=kind, subject=f"{association}:{member_id}", time=datetime.now(UTC), data=data,
        )


def _digest(data: MemberData) -> str:
    """The member's content without sourceVersion: the same row in two exports is equal."""
    content = data.model_dump(mode="json", by_alias=True, exclude={"source_version"})
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
