"""Which sessions holding others up ``sksync status`` calls a problem, and how it says so."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from sync.cli.status import render
from sync.ops.status import HOLDING_PROBLEM_S, holding_problems


def _head(**fields: Any) -> dict[str, Any]:
    return {"pid": 4242, "state": "active", "wait": "ClientRead", "holdsUp": 3,
            "longestWaitSeconds": 4.0, "transactionAgeSeconds": 95.0,
            "statement": "WITH w0 AS (UPDATE fiche ...", **fields}


def _waits(*heads: dict[str, Any]) -> dict[str, Any]:
    return {"sessions": 3, "longestSeconds": 4.0, "heldBy": list(heads)}


def test_a_transaction_held_past_the_threshold_is_a_problem_naming_how_to_end_it() -> None:
    assert holding_problems(_waits(_head())) == [
        "database: session 4242 (active, waiting for ClientRead) has held its transaction for "
        "95 s and holds up 3 session(s); if it does not move, "
        "`SELECT pg_terminate_backend(4242)` ends it and releases its locks"]


def test_a_moment_of_contention_is_not_a_problem() -> None:
    young = _head(transactionAgeSeconds=HOLDING_PROBLEM_S / 2)
    assert holding_problems(_waits(young)) == []
    assert holding_problems(_waits()) == []


def test_a_session_this_role_cannot_see_is_said_so_or_left_out_without_an_age() -> None:
    hidden = _head(state=None, wait=None)
    [line] = holding_problems(_waits(hidden))
    assert "(state not visible to this role)" in line
    assert holding_problems(_waits(_head(state=None, wait=None,
                                         transactionAgeSeconds=None))) == []


def test_the_status_table_shows_the_waits_and_who_holds_them() -> None:
    doc = {"at": "2026-12-08T01:00:00+00:00", "problems": [],
           "lockWaits": _waits(_head(state="idle in transaction", wait=None))}
    console = Console(width=200, record=True)
    console.print(render(doc))
    text = console.export_text()
    assert "sessions waiting for a lock" in text
    assert "3 (longest 4.0 s)" in text
    assert "holding them: session 4242" in text
    assert "idle in transaction, no wait; transaction 1.6 min, holds up 3" in text
