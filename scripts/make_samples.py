"""Writes the sample source feeds in ``schemas/samples/`` (deterministic: fixed seeds).

One file per source topic: ``cobrha-professional``, ``cobrha-organisation``, ``kbo-entity``,
``association-member`` and ``manual-edit`` (``.jsonl``, one CloudEvent a line). Every
identifier carries valid check digits, except in the events meant to be dead-lettered; every
address is a real Flemish municipality with its real postcode. The feeds tell one story when
applied in that order: the association and the editors speak about fiches CoBRHA made
(a psychologist and a home nurse share their NIHII number with CoBRHA professionals; an
editor pins the phone of the first professional, whose later CoBRHA phone then raises a
conflict), and KBO joins CoBRHA organisations through their enterprise numbers.
Run ``python scripts/make_samples.py`` after changing it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from samples.association import association_feed
from samples.cobrha import organisation_feed, professional_feed
from samples.kbo import kbo_feed
from samples.manual import manual_feed

OUT = Path(__file__).resolve().parent.parent / "schemas" / "samples"


def write(name: str, feed: list[dict[str, Any]]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / name).open("w", encoding="utf-8") as handle:
        for item in feed:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")


def main() -> None:
    rng = random.Random(20261128)
    base, professionals = professional_feed(rng)
    write("cobrha-professional.jsonl", professionals)
    write("cobrha-organisation.jsonl", organisation_feed())
    write("kbo-entity.jsonl", kbo_feed())
    write("association-member.jsonl", association_feed(random.Random(4711), base))
    write("manual-edit.jsonl", manual_feed(base))


if __name__ == "__main__":
    main()
