"""Many writes in one statement: a batch's buffered writes reach PostgreSQL in one round trip.

The apply transaction writes to a dozen tables at the end of a batch (fiches, values, records,
identifiers, history, outbox, matching, inbox). Sent one statement after another, a small
batch spends most of its time waiting for the round trips. :class:`Writes` collects them and
sends them as one statement, each write a data-modifying ``WITH`` query::

    WITH w0 AS (INSERT ...), w1 AS (UPDATE ...), w2 AS (INSERT ... RETURNING ...)
    SELECT (SELECT count(*) FROM w2) AS w2

What PostgreSQL guarantees for such a statement is what the writes need: every part runs,
within the transaction, against the same snapshot; foreign keys are checked at the end of the
statement (a value may name a fiche inserted by another part). What it does not allow is two
parts changing the same row, so the parts must touch different rows; the repositories coalesce
their buffers per key before they add them (one upsert per source record, new fiches inserted
with their last state instead of inserted then updated).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sync.errors import TransientError

__all__ = ["Writes", "shift_parameters"]

Conn = Any  # asyncpg.Connection or its pool proxy

_PARAMETER = re.compile(r"\$(\d+)")


@functools.lru_cache(maxsize=4096)
def shift_parameters(sql: str, offset: int) -> str:
    """``sql`` with each ``$n`` renumbered ``$(n + offset)``: its arguments follow ``offset``
    others in a combined statement. Remembered: a batch combines the same few texts at the
    same few offsets every time (a batch of one update: 1,179 against 1,241 us of the
    apply's CPU, `python -m bench.apply_cpu --batch 1`)."""
    return _PARAMETER.sub(lambda match: f"${int(match.group(1)) + offset}", sql)


@dataclass(frozen=True)
class _Part:
    sql: str
    args: tuple[Any, ...]
    expect: int | None  # RETURNING rows the part must give, else the batch is retried
    why: str


@dataclass
class Writes:
    """Writes gathered for one round trip (:meth:`run`), and statements that must follow."""

    parts: list[_Part] = field(default_factory=list)
    following: list[tuple[str, list[tuple[Any, ...]]]] = field(default_factory=list)

    def add(self, sql: str, *args: Any, expect: int | None = None, why: str = "") -> None:
        """A data-modifying statement (``INSERT``/``UPDATE``/``DELETE``, or a ``SELECT`` of a
        function called for its effect) with its own ``$1..$n``. With ``expect``, it has a
        ``RETURNING`` clause and must return that many rows, else :meth:`run` raises
        :class:`TransientError` (``why``), which rolls the transaction back for a retry."""
        self.parts.append(_Part(sql.strip(), args, expect, why))

    def then(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """A statement run for each of ``rows`` after the combined one (``executemany``)."""
        self.following.append((sql, list(rows)))

    def statement(self) -> tuple[str, list[Any]]:
        """The combined statement and its arguments."""
        queries: list[str] = []
        args: list[Any] = []
        counted: list[str] = []
        for number, part in enumerate(self.parts):
            sql = shift_parameters(part.sql, len(args))
            queries.append(f"w{number} AS ({sql})")
            args.extend(part.args)
            if part.expect is not None or part.sql.upper().startswith("SELECT"):
                # Names made here, never from input: w0, w1, ...
                counted.append(f"(SELECT count(*) FROM w{number}) AS w{number}")  # noqa: S608
        select = ", ".join(counted) or "1 AS done"
        return f"WITH {', '.join(queries)}\nSELECT {select}", args

    async def run(self, conn: Conn) -> None:
        """Send the writes (one round trip), check what they returned, then the following
        statements; afterwards this object is empty again."""
        parts, following = self.parts, self.following
        statement = self.statement() if parts else None
        self.parts, self.following = [], []
        if statement is not None:
            row = await conn.fetchrow(statement[0], *statement[1])
            for number, part in enumerate(parts):
                if part.expect is not None and row[f"w{number}"] < part.expect:
                    raise TransientError(part.why)
        for sql, rows in following:
            await conn.executemany(sql, rows)
