"""Many reads in one statement: what a batch reads once its fiches are locked, in one round trip.

Once the apply has locked a batch's fiches it reads what they hold (pins, conflicts, records,
identifiers) and what matching will ask (their blocking keys and KBO numbers, the pending
candidates and candidate fiches of the batch's new records). None of these reads needs another's
answer, so :class:`Reads` sends them as one statement of one row, each read a column or a few
(an array of rows each)::

    SELECT ARRAY(SELECT p FROM pin p WHERE ...) AS pins, ...,
           ARRAY(SELECT c FROM match_candidate c WHERE ... ORDER BY ...) AS pending

Every part sees the same snapshot, taken when the statement starts: after the lock was granted,
which is what a read of locked fiches needs (PostgreSQL's READ COMMITTED takes a snapshot per
statement, so a statement of its own after the lock sees what the lock's last holder committed).
This is the reading counterpart of :class:`~sync.store.writes.Writes`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sync.store.writes import Conn, shift_parameters

__all__ = ["Reads"]

Row = Any  # asyncpg.Record: the combined statement's one row


@dataclass(frozen=True)
class _Part:
    columns: str
    args: tuple[Any, ...]
    then: Callable[[Row], None]


@dataclass
class Reads:
    """Reads gathered for one round trip (:meth:`run`)."""

    parts: list[_Part] = field(default_factory=list)

    def add(self, columns: str, *args: Any, then: Callable[[Row], None]) -> None:
        """A select list of expressions needing no ``FROM`` (subqueries, typically
        ``ARRAY(SELECT ...) AS name``), with its own ``$1..$n``; ``then`` is given the
        combined row once it is read and takes its own columns by name. The names must differ
        from those of the other parts."""
        self.parts.append(_Part(columns.strip(), args, then))

    def statement(self) -> tuple[str, list[Any]]:
        """The combined statement and its arguments."""
        lists: list[str] = []
        args: list[Any] = []
        for part in self.parts:
            lists.append(shift_parameters(part.columns, len(args)))
            args.extend(part.args)
        return "SELECT " + ",\n       ".join(lists), args

    async def run(self, conn: Conn) -> None:
        """Send the reads (one round trip) and give each part the row; afterwards this object
        is empty again."""
        if not self.parts:
            return
        sql, args = self.statement()
        parts, self.parts = self.parts, []
        row = await conn.fetchrow(sql, *args)
        for part in parts:
            part.then(row)
