"""The matching quality targets, measured on the labelled set (the CI check of issue 8)."""

from __future__ import annotations

import csv
from pathlib import Path

from sync.matching.evaluate import evaluate

DATA = Path(__file__).resolve().parents[1] / "data" / "matching"


def test_the_labelled_set_is_big_enough_and_holds_the_hard_cases() -> None:
    """At least ~300 records, with every variation the issue names."""
    truth = list(csv.DictReader((DATA / "truth.csv").read_text(encoding="utf-8").splitlines()))
    cases = {row["case"] for row in truth}
    assert len(truth) >= 300
    assert {"typo in the last name", "first and last name swapped", "accents missing, capitals",
            "old municipality name", "moved practice", "two providers at one address",
            "namesake in another town (new)"} <= cases


def test_automatic_links_are_precise_recall_counts_review_and_review_stays_small() -> None:
    """Precision of automatic links >= 99.5 %, recall counting review >= 95 %, < 5 % to review."""
    report = evaluate(DATA)
    print("\n".join(report.lines()))  # shown by pytest -s and in CI logs on failure
    assert report.precision >= 0.995, report.mistakes
    assert report.recall >= 0.95, report.mistakes
    assert report.review_share < 0.05, report.lines()
