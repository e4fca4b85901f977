"""Thresholds read off the precision/recall curve, and Fellegi-Sunter weights measured on the
labelled set: ``python -m sync.matching.learn [DIR]``.

The thresholds of ``weights.json`` are the ones :func:`thresholds` reads off the labelled set
(a unit test keeps them so): ``auto`` is the lowest score above which no automatic link on the
set is wrong, plus :data:`SAFETY` points; ``review`` goes down from ``auto`` for as long as
each step sends editors at least :data:`REVIEW_YIELD` true pairs among the records it adds.

:func:`fellegi_sunter` measures what the splink approach would give: every record compared
with the fiches sharing a blocking key with it, ``m`` the share of true pairs on a level and
``u`` the share of other pairs, the level's points ``log2(m/u)`` (one pseudo-pair per level,
levels kept in order by pooling adjacent violators). Printed next to the shipped points; not
shipped, because on blocked pairs the features are far from independent (colleagues share
address, phone, profession and often the last name) and the learned points then send more
records to review for the same precision (docs/matching.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sync.matching import evaluate, profile_of_update
from sync.matching.score import LEVELS, Weights, default_weights, levels

__all__ = ["Pair", "Point", "choose_auto", "choose_review", "fellegi_sunter", "main", "pairs",
           "points", "thresholds"]

#: Points added to the lowest threshold without a wrong link: the labelled set is small, and
#: the honest check (a set drawn from another seed) must not be what the threshold is fit to.
SAFETY = 4.0
#: The thresholds tried (points).
GRID = [float(t) for t in range(4, 17)]
#: A score band sent to review must hold at least this share of true pairs.
REVIEW_YIELD = 0.5


@dataclass(frozen=True)
class Pair:
    """One record and one blocked candidate fiche: the levels, and whether they are one."""

    kind: str
    levels: dict[str, str]
    same: bool


def pairs(directory: Path, weights: Weights) -> Iterator[Pair]:
    """Every (record, candidate) pair blocking yields on the set in ``directory``."""
    fiches = evaluate.Directory()
    for row in evaluate.load_fiches(directory):
        fiches.add(row.fiche_id, evaluate.fiche_profile(row))
    truth = evaluate.load_truth(directory)
    for event in evaluate.load_records(directory):
        update = evaluate.map_record(event)
        wanted = truth[event["id"]][0]
        record = profile_of_update(update)
        for fiche_id, profile in fiches.candidates(update, record, weights.max_candidates):
            yield Pair(record.kind, levels(record, profile, weights), fiche_id == wanted)


def points(found: list[Pair], prior: float = 1.0) -> dict[str, dict[str, dict[str, float]]]:
    """``log2(m/u)`` per kind, feature and level (rounded to a tenth of a bit)."""
    learned: dict[str, dict[str, dict[str, float]]] = {}
    for kind, features in LEVELS.items():
        learned[kind] = {}
        for feature, names in features.items():
            same, other = Counter[str](), Counter[str]()
            for pair in found:
                if pair.kind == kind and pair.levels[feature] != "missing":
                    (same if pair.same else other)[pair.levels[feature]] += 1
            raw = [math.log2(_share(same, level, names, prior)
                             / _share(other, level, names, prior)) for level in names]
            weights = _monotone(raw, [same[n] + other[n] + 2 * prior for n in names])
            learned[kind][feature] = {n: round(w, 1) for n, w in zip(names, weights, strict=True)}
    return learned


def _monotone(values: list[float], sizes: list[float]) -> list[float]:
    """``values`` (levels best first) made non-increasing by pooling adjacent violators,
    each weighted by its number of pairs: a typo must never weigh more than an exact name,
    whatever a small sample says."""
    blocks: list[tuple[float, float, int]] = []  # (mean, weight, levels pooled)
    for value, size in zip(values, sizes, strict=True):
        blocks.append((value, size, 1))
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            (a, wa, na), (b, wb, nb) = blocks[-2], blocks[-1]
            blocks[-2:] = [((a * wa + b * wb) / (wa + wb), wa + wb, na + nb)]
    return [mean for mean, _, count in blocks for _ in range(count)]


def _share(counts: Counter[str], level: str, names: tuple[str, ...], prior: float) -> float:
    return (counts[level] + prior) / (sum(counts[n] for n in names) + prior * len(names))


@dataclass(frozen=True)
class Point:
    """The whole decision on the labelled set at one (auto, review) pair of thresholds."""

    auto: float
    review: float
    report: evaluate.Report


def choose_auto(directory: Path, weights: Weights, grid: list[float]) -> tuple[float, list[Point]]:
    """The lowest auto threshold (review just below it) at which no automatic link on the
    set is wrong, plus :data:`SAFETY` points; and the curve it was read from."""
    curve = [Point(t, t, evaluate.evaluate(directory, dataclasses.replace(
        weights, auto=t, review=t))) for t in grid]
    clean = [p.auto for p in curve if p.report.auto_links == p.report.auto_correct
             and all(q.report.auto_links == q.report.auto_correct
                     for q in curve if q.auto >= p.auto)]
    return min(clean, default=max(grid)) + SAFETY, curve


def choose_review(directory: Path, weights: Weights, grid: list[float]) -> tuple[
        float, list[Point]]:
    """Lowering the review threshold step by step from ``weights.auto``: the last step whose
    newly reviewed records are still at least :data:`REVIEW_YIELD` true pairs; and the curve."""
    curve = [Point(weights.auto, t, evaluate.evaluate(directory, dataclasses.replace(
        weights, review=t))) for t in sorted(grid, reverse=True) if t <= weights.auto]
    chosen = weights.auto
    for before, after in itertools.pairwise(curve):
        added = after.report.reviews - before.report.reviews
        found = after.report.reviews_with_truth - before.report.reviews_with_truth
        if added and found / added < REVIEW_YIELD:
            break
        chosen = after.review
    return chosen, curve


def thresholds(directory: Path, weights: Weights) -> tuple[float, float, list[Point]]:
    """``(auto, review, curve)`` read off the labelled set in ``directory``."""
    auto, auto_curve = choose_auto(directory, weights, GRID)
    review, review_curve = choose_review(
        directory, dataclasses.replace(weights, auto=auto), GRID)
    return auto, review, auto_curve + review_curve


def fellegi_sunter(directory: Path, base: Weights) -> Weights:
    """The shipped weights with every level's points replaced by ``log2(m/u)`` learned on
    the set: a measurement, kept to compare with the shipped points."""
    return dataclasses.replace(base, points=points(list(pairs(directory, base))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Learned weights and the thresholds' curve.")
    parser.add_argument("directory", nargs="?", type=Path, default=evaluate.DEFAULT_DIR)
    args = parser.parse_args(argv)
    shipped = default_weights()
    learned = fellegi_sunter(args.directory, shipped)
    for kind in ("person", "organisation"):
        for feature, value in learned.points[kind].items():
            print(f"{kind:12} {feature:10} " + ", ".join(f"{k} {v:+g}" for k, v in value.items()))
    for name, weights in (("shipped points", shipped), ("learned points", learned)):
        auto, review, _ = thresholds(args.directory, weights)
        report = evaluate.evaluate(args.directory, dataclasses.replace(
            weights, auto=auto, review=review))
        print(f"{name}: auto {auto:g}, review {review:g}: " + "; ".join(report.lines()[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
