"""Generate the labelled matching evaluation set in ``tests/data/matching/`` (seeded).

    python scripts/make_matching_eval.py [--seed 20261128] [--out tests/data/matching]

Writes ``fiches.csv`` (an export of hand-made fiches, docs/matching.md), ``records.jsonl``
(source CloudEvents as CoBRHA, the KBO and associations send them) and ``truth.csv`` (for each
record, the export id of the fiche it describes, or nothing when it describes nobody yet, and
the case it illustrates). The variations are the ones seen when hand-made directories meet
authentic sources: typos, first and last name swapped, missing accents, initials and titles,
old municipality names after the 2019 and 2025 mergers, street abbreviations, a practice that
moved, changed phones, two providers at one address, namesakes in other towns, organisations
written with abbreviations and legal forms. The same seed gives the same files.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from matching_eval.cases import CASES
from matching_eval.people import Generator
from matching_eval.vocabulary import COLUMNS

ROOT = Path(__file__).resolve().parents[1]


def generate(seed: int, size: int) -> Generator:
    g = Generator(seed)
    weights = [w for w, _ in CASES]
    for _ in range(size):
        g.rng.choices([c for _, c in CASES], weights)[0](g)
    order = list(range(len(g.records)))
    g.rng.shuffle(order)  # sources do not send records in the order their fiches were made
    g.records = [g.records[i] for i in order]
    g.truth = [g.truth[i] for i in order]
    return g


def write(g: Generator, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "fiches.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(g.fiches)
    with (out / "records.jsonl").open("w", encoding="utf-8") as handle:
        for event in g.records:
            handle.write(json.dumps(event, ensure_ascii=False) + "\n")
    with (out / "truth.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, ("event_id", "fiche_id", "case"))
        writer.writeheader()
        writer.writerows(g.truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--size", type=int, default=420, help="cases to draw")
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "matching")
    args = parser.parse_args()
    g = generate(args.seed, args.size)
    write(g, args.out)
    print(f"{len(g.fiches)} fiches, {len(g.records)} records "
          f"({sum(1 for t in g.truth if t['fiche_id'])} true pairs) in {args.out}")


if __name__ == "__main__":
    main()
