"""Measure matching on a labelled set: ``python -m sync.matching.evaluate [DIR]``.

The set (``tests/data/matching/``, made by ``scripts/make_matching_eval.py``) holds an export
of hand-made fiches, source records as CloudEvents and the truth. The records go through the
real mappers and are matched in order, as the apply path would: blocking keys, the exclusions
of the candidate query (a fiche that already holds a record of the same source or an
identifier of the record's types is someone else) and the decision; a record that links gives
its source and identifiers to the fiche, one that becomes new is itself a fiche for the next
records. Printed for each set: precision and recall of automatic links, recall counting review, the
share sent to review, each against its target; ``--curve`` first prints the precision/recall
curve on the first set and the thresholds read off it (:mod:`sync.matching.learn`).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync.cloudevents import CloudEvent
from sync.events import FicheUpdate, derived_id
from sync.mapping import MappingContext
from sync.matching import (
    Profile,
    Verdict,
    Weights,
    blocking_keys,
    decide,
    default_weights,
    profile_of,
    profile_of_update,
    rank,
)
from sync.matching.export import ExportRow, fiche_id_of, read_export
from sync.sources import map_event

__all__ = ["Report", "evaluate", "main"]

DEFAULT_DIR = Path("tests/data/matching")
CONTEXT = MappingContext(ssin_secret=b"evaluation")


@dataclass
class Report:
    """The figures of one evaluation run, and the records that went wrong."""

    records: int = 0
    true_pairs: int = 0
    auto_links: int = 0
    auto_correct: int = 0
    reviews: int = 0
    reviews_with_truth: int = 0
    mistakes: list[str] = field(default_factory=list)
    by_case: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    @property
    def precision(self) -> float:
        """Share of automatic links that are right (1 when nothing linked)."""
        return self.auto_correct / self.auto_links if self.auto_links else 1.0

    @property
    def recall(self) -> float:
        """Share of true pairs linked, or sent to review with the right fiche among the
        candidates."""
        found = self.auto_correct + self.reviews_with_truth
        return found / self.true_pairs if self.true_pairs else 1.0

    @property
    def auto_recall(self) -> float:
        return self.auto_correct / self.true_pairs if self.true_pairs else 1.0

    @property
    def review_share(self) -> float:
        return self.reviews / self.records if self.records else 0.0

    def against_targets(self) -> list[tuple[str, bool]]:
        """Each target of docs/matching.md with whether this run meets it."""
        return [
            (f"automatic precision {self.precision:.2%} >= 99.5 %", self.precision >= 0.995),
            (f"automatic recall {self.auto_recall:.2%} >= 93 %", self.auto_recall >= 0.93),
            (f"recall with review {self.recall:.2%} >= 97 %", self.recall >= 0.97),
            (f"records sent to review {self.review_share:.2%} < 5 %", self.review_share < 0.05),
        ]

    def lines(self) -> list[str]:
        return [
            f"records {self.records}, true pairs {self.true_pairs}",
            f"automatic links {self.auto_links}: precision {self.precision:.2%} "
            f"({self.auto_links - self.auto_correct} wrong)",
            f"recall counting review {self.recall:.2%} (automatic alone {self.auto_recall:.2%})",
            f"sent to review {self.reviews}: {self.review_share:.2%} of records",
        ]


class Directory:
    """Fiches in memory, with the blocking index and what the candidate query excludes."""

    def __init__(self) -> None:
        self.profiles: dict[uuid.UUID, Profile] = {}
        self.keys: defaultdict[str, set[uuid.UUID]] = defaultdict(set)
        self.sources: defaultdict[uuid.UUID, set[str]] = defaultdict(set)
        self.id_types: defaultdict[uuid.UUID, set[str]] = defaultdict(set)
        self.identifiers: dict[tuple[str, str], uuid.UUID] = {}

    def add(self, fiche_id: uuid.UUID, profile: Profile) -> None:
        self.profiles[fiche_id] = profile
        for key in blocking_keys(profile):
            self.keys[key].add(fiche_id)

    def candidates(self, update: FicheUpdate, record: Profile,
                   limit: int) -> list[tuple[uuid.UUID, Profile]]:
        shared: Counter[uuid.UUID] = Counter()
        for key in blocking_keys(record):
            shared.update(self.keys.get(key, ()))
        types = {i.type for i in update.identifiers}
        eligible = [f for f in shared if self.profiles[f].kind == record.kind
                    and update.source.value not in self.sources[f]
                    and not types & self.id_types[f]]
        eligible.sort(key=lambda f: (-shared[f], f))
        return [(f, self.profiles[f]) for f in eligible[:limit]]

    def holds(self, fiche_id: uuid.UUID, update: FicheUpdate) -> None:
        self.sources[fiche_id].add(update.source.value)
        for identifier in update.identifiers:
            self.id_types[fiche_id].add(identifier.type)
            self.identifiers[(identifier.type, identifier.value)] = fiche_id


def load_fiches(directory: Path) -> list[ExportRow]:
    """The hand-made fiches of the set (its export)."""
    lines = (directory / "fiches.csv").read_text(encoding="utf-8").splitlines()
    return [row for row in read_export(lines, datetime(2026, 11, 28, tzinfo=UTC))
            if isinstance(row, ExportRow)]


def load_truth(directory: Path) -> dict[str, tuple[uuid.UUID | None, str]]:
    """For each record's event id: the fiche it describes (None: nobody yet) and its case."""
    rows = csv.DictReader((directory / "truth.csv").read_text(encoding="utf-8").splitlines())
    return {r["event_id"]: (fiche_id_of(r["fiche_id"]) if r["fiche_id"] else None, r["case"])
            for r in rows}


def load_records(directory: Path) -> list[dict[str, Any]]:
    """The source records of the set, as CloudEvent documents, in arrival order."""
    with (directory / "records.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def map_record(document: dict[str, Any]) -> FicheUpdate:
    """The canonical update the real mapper makes of a record (or of an export row)."""
    return map_event(CloudEvent.model_validate(document), CONTEXT)[0]


def fiche_profile(row: ExportRow) -> Profile:
    """A hand-made fiche's profile, as the store computes it after loading the export."""
    update = map_record(row.event)
    return profile_of(update.kind.value, update.fields, row.kbo_numbers)


def evaluate(directory: Path = DEFAULT_DIR, weights: Weights | None = None) -> Report:
    """Match every record of the set in ``directory`` and count the outcomes."""
    weights = weights or default_weights()
    fiches = Directory()
    for row in load_fiches(directory):
        fiches.add(row.fiche_id, fiche_profile(row))
    truth = load_truth(directory)
    report = Report()
    for event in load_records(directory):
        wanted, case = truth[event["id"]]
        verdict = _match(fiches, map_record(event), weights)
        _count(report, verdict, wanted, case, event["id"])
    return report


def _match(fiches: Directory, update: FicheUpdate, weights: Weights) -> Verdict:
    """What the apply path decides for ``update``, and its effect on the directory."""
    known = [fiches.identifiers[(i.type, i.value)] for i in update.identifiers
             if (i.type, i.value) in fiches.identifiers]
    if known:  # deterministic: an identifier is already on a fiche
        fiches.holds(known[0], update)
        return Verdict("new")
    record = profile_of_update(update)
    verdict = decide(rank(record, fiches.candidates(update, record, weights.max_candidates),
                          weights), weights)
    if verdict.outcome == "link" and verdict.best is not None:
        fiches.holds(verdict.best.fiche_id, update)
    elif verdict.outcome == "new":
        first = update.identifiers[0]
        created = derived_id("fiche", update.kind.value, first.type, first.value)
        fiches.add(created, record)
        fiches.holds(created, update)
    return verdict


def _count(report: Report, verdict: Verdict, wanted: uuid.UUID | None, case: str,
           event_id: str) -> None:
    report.records += 1
    report.true_pairs += wanted is not None
    best = verdict.best
    if verdict.outcome == "link" and best is not None:
        report.auto_links += 1
        right = best.fiche_id == wanted
        report.auto_correct += right
        report.by_case[case]["linked" if right else "WRONG LINK"] += 1
        if not right:
            report.mistakes.append(f"{event_id} [{case}] wrongly linked: {best.score.explain()}")
        return
    if verdict.outcome == "review":
        report.reviews += 1
        hit = wanted is not None and any(c.fiche_id == wanted for c in verdict.candidates)
        report.reviews_with_truth += hit
        report.by_case[case]["review"] += 1
        return
    report.by_case[case]["new"] += 1
    if wanted is not None:
        report.mistakes.append(f"{event_id} [{case}] missed: became a new fiche")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure matching on labelled sets.")
    parser.add_argument("directories", nargs="*", type=Path, default=[DEFAULT_DIR])
    parser.add_argument("--cases", action="store_true", help="outcomes per case")
    parser.add_argument("--mistakes", action="store_true", help="list what went wrong")
    parser.add_argument("--curve", action="store_true",
                        help="the precision/recall curve the thresholds are read from")
    args = parser.parse_args(argv)
    if args.curve:
        _print_curve(args.directories[0])
    met = True
    for directory in args.directories:
        report = evaluate(directory)
        print(f"\n== {directory}")
        print("\n".join(report.lines()))
        for line, ok in report.against_targets():
            print(f"  {'ok  ' if ok else 'MISS'} {line}")
            met &= ok
        if args.cases:
            for case, outcomes in sorted(report.by_case.items()):
                print(f"  {case:48} " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
        if args.mistakes:
            print("\n".join(report.mistakes))
    return 0 if met else 1


def _print_curve(directory: Path) -> None:
    from sync.matching.learn import thresholds  # learn measures with this module

    weights = default_weights()
    auto, review, curve = thresholds(directory, weights)
    print(f"curve on {directory} (auto, review: precision, automatic recall, recall, review)")
    for point in curve:
        r = point.report
        print(f"  {point.auto:5g} {point.review:5g}: {r.precision:7.2%} {r.auto_recall:7.2%} "
              f"{r.recall:7.2%} {r.review_share:6.2%}")
    print(f"chosen: auto {auto:g}, review {review:g}; weights.json: auto {weights.auto:g}, "
          f"review {weights.review:g}")


if __name__ == "__main__":
    sys.exit(main())
