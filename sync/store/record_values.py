"""A source record's values as one row of ``source_record`` (migration 0020), and back.

The merge keeps provenance per (field, source, record): the last value each source record gave
for each field, with that record's ``sourceVersion`` and observation time. The store keeps it
per record: the values as one JSON object (``fields``: ``{field: value}``), the texts as given
where mapping normalised a value (``as_given``: ``{field: text}``, NULL when there are none),
and the version and times of the record's latest values on the row itself. A value that an
earlier version of the record gave (a later version left the field out) keeps its own version
and times in ``per_field`` (``{field: {source_version, observed_at, verified_at}}``, NULL when
every value has the row's): reading the row back gives the same :class:`Provenance` entries
the merge wrote, field for field.

One row per record and per update, rewritten whole: a value a record no longer gives is an
edit of that object, not a row deleted; a record whose values are all gone keeps its row (with
``{}``), which still holds the version that makes an older update stale.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sync.events import Source
from sync.jsontext import dumps
from sync.merge import Provenance
from sync.sources import is_authentic

__all__ = ["RecordValues", "provenance_of", "record_values"]


class Row(Protocol):
    """A row by column name: an ``asyncpg.Record``, or a mapping."""

    def __getitem__(self, key: str, /) -> Any: ...


@dataclass(frozen=True)
class RecordValues:
    """The value columns of one ``source_record`` row (JSON as text, as the driver sends it)."""

    fields: str
    as_given: str | None
    observed_at: datetime | None
    verified_at: datetime | None
    per_field: str | None


def _instant(moment: datetime | None) -> str | None:
    # In UTC, so that one instant is always the same text, however the update wrote it.
    return None if moment is None else moment.astimezone(UTC).isoformat()


def record_values(version: int, entries: Iterable[Provenance]) -> RecordValues:
    """The columns for one record at ``version`` (its last applied ``sourceVersion``) holding
    ``entries``, the provenance entries of that record."""
    items = sorted(entries, key=lambda e: e.field)
    if not items:
        return RecordValues("{}", None, None, None, None)
    # An authentic source's value verifies the fiche when it was observed.
    authentic = is_authentic(items[0].source)
    latest = max(items, key=lambda e: (e.source_version, e.observed_at))
    observed = latest.observed_at
    own = {e.field: {"source_version": e.source_version, "observed_at": _instant(e.observed_at),
                     "verified_at": _instant(e.observed_at) if authentic else None}
           for e in items if e.source_version != version or e.observed_at != observed}
    given = {e.field: e.as_given for e in items if e.as_given is not None}
    return RecordValues(
        fields=dumps({e.field: e.value for e in items}),
        as_given=dumps(given) if given else None,
        observed_at=observed, verified_at=observed if authentic else None,
        per_field=dumps(own) if own else None,
    )


def provenance_of(row: Row) -> list[Provenance]:
    """The provenance entries a ``source_record`` row holds (a row as ``SELECT *`` gives it,
    JSON as text)."""
    source, record_id = Source(row["source"]), row["record_id"]
    given = json.loads(row["as_given"]) if row["as_given"] is not None else {}
    own = json.loads(row["per_field"]) if row["per_field"] is not None else {}
    entries = []
    for name, value in json.loads(row["fields"]).items():
        meta = own.get(name)
        version = row["source_version"] if meta is None else meta["source_version"]
        observed = (row["observed_at"] if meta is None
                    else datetime.fromisoformat(meta["observed_at"]))
        entries.append(Provenance(name, source, record_id, value, version, observed,
                                  given.get(name)))
    return entries
