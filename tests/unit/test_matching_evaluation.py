"""The matching quality targets, measured on the labelled set (the CI check of docs/matching.md)."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

from sync.matching.evaluate import evaluate
from sync.matching.learn import thresholds
from sync.matching.score import default_weights

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "matching"


def fresh_seed() -> int:
    """The seed ``make eval-matching`` draws its second set from."""
    found = re.search(r"^MATCHING_SEED \?= (\d+)$", (ROOT / "Makefile").read_text(), re.M)
    assert found, "MATCHING_SEED in the Makefile"
    return int(found.group(1))


def test_the_labelled_set_is_big_enough_and_holds_the_hard_cases() -> None:
    """At least ~300 records, with every variation the issue names."""
    truth = list(csv.DictReader((DATA / "truth.csv").read_text(encoding="utf-8").splitlines()))
    cases = {row["case"] for row in truth}
    assert len(truth) >= 300
    assert {"typo in the last name", "first and last name swapped", "accents missing, capitals",
            "old municipality name", "moved practice", "two providers at one address",
            "namesake in another town (new)", "initial of the first name",
            "moved within the municipality", "colleague with the same initial (new)",
            "namesake with another profession (new)"} <= cases


def test_automatic_links_are_precise_recall_counts_review_and_review_stays_small() -> None:
    """Precision of automatic links >= 99.5 %, automatic recall >= 93 %, recall counting
    review >= 97 %, < 5 % of records to review."""
    report = evaluate(DATA)
    print("\n".join(report.lines()))  # shown by pytest -s and in CI logs on failure
    assert report.precision >= 0.995, report.mistakes
    assert report.auto_recall >= 0.93, report.mistakes
    assert report.recall >= 0.97, report.mistakes
    assert report.review_share < 0.05, report.lines()
    assert all(ok for _, ok in report.against_targets())


def test_no_hard_negative_of_the_set_is_linked_automatically() -> None:
    """Namesakes, colleagues and other organisations at one address never take a fiche."""
    report = evaluate(DATA)
    negatives = {case: outcomes for case, outcomes in report.by_case.items()
                 if case.endswith("(new)")}
    assert len(negatives) >= 6
    assert all(not outcomes["linked"] and not outcomes["WRONG LINK"]
               for outcomes in negatives.values()), negatives


def test_the_shipped_thresholds_are_the_ones_read_off_the_curve() -> None:
    """weights.json's auto and review thresholds are what sync.matching.learn chooses."""
    weights = default_weights()
    auto, review, _ = thresholds(DATA, weights)
    assert (weights.auto, weights.review) == (auto, review)


def test_a_set_drawn_from_another_seed_meets_the_targets_too(tmp_path: Path) -> None:
    """The set ``make eval-matching`` draws at run time: nothing was fitted to it."""
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_matching_eval.py"),  # noqa: S603 - our own script
                    "--seed", str(fresh_seed()), "--out", str(tmp_path)],
                   check=True, timeout=120, capture_output=True)
    report = evaluate(tmp_path)
    print("\n".join(report.lines()))
    assert all(ok for _, ok in report.against_targets()), (report.lines(), report.mistakes)
    assert all(not outcomes["WRONG LINK"] for outcomes in report.by_case.values())
