"""Ids as operators type them (sync/ops/ids.py) and lists that never cut them."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from sync.ops.ids import IdProblem, is_id_text, one_of
from sync.ops.listing import print_rows

LETTERS = ["sk.kbo.dlq:0:1", "sk.kbo.dlq:0:12", "sk.kbo.dlq:1:3"]
ID = "3f2a9c1e-5b7d-4e0f-9a1b-2c3d4e5f6a7b"


def test_a_whole_id_is_itself_even_when_it_starts_another() -> None:
    assert one_of(LETTERS, "sk.kbo.dlq:0:1", "dead letter") == "sk.kbo.dlq:0:1"


def test_a_start_only_one_id_has_names_it() -> None:
    assert one_of(LETTERS, "sk.kbo.dlq:1", "dead letter") == "sk.kbo.dlq:1:3"


@pytest.mark.parametrize(("text", "message"), [
    ("sk.kbo.dlq:0", "starts 2 dead letter ids"), ("sk.cobrha", "no dead letter")])
def test_a_shared_or_unknown_start_is_a_problem_saying_which(text: str, message: str) -> None:
    with pytest.raises(IdProblem, match=message):
        one_of(LETTERS, text, "dead letter")


@pytest.mark.parametrize(("text", "ok"), [
    ("3f2a9c", True), ("3F2A9C1E-5B7D", True), ("", False), ("not-an-id", False),
    ("NIHII-PERSON:1", False)])
def test_an_id_text_is_hexadecimal_digits_and_dashes(text: str, ok: bool) -> None:
    assert is_id_text(text) is ok


def test_a_list_too_wide_for_the_terminal_prints_each_id_whole() -> None:
    """80 columns cannot hold two UUIDs and five values side by side: blocks, not ellipses."""
    out = io.StringIO()
    print_rows(Console(file=out, width=80), "1 open conflict(s)",
               ("conflict", "fiche", "field", "candidate", "current (pinned)"),
               [(ID, ID.replace("3f", "4e"), "contact.phone", '"+3255445566"', '"+325500"')])
    text = out.getvalue()
    assert f"conflict {ID}" in text
    assert ID.replace("3f", "4e") in text
    assert "…" not in text


def test_a_list_that_fits_is_a_table() -> None:
    out = io.StringIO()
    print_rows(Console(file=out, width=200), "1", ("conflict", "field"), [(ID, "phone")])
    assert "┃ conflict" in out.getvalue()
