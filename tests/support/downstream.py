"""What a downstream consumer of ``sk.fiche.event`` may rely on, as checks on what it read."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["check_order", "one_id_per_version"]


def check_order(records: list[Any]) -> int:
    """Read as a downstream consumer does, each partition in offset order: a fiche's events
    are all in one partition, and each is either a re-send (an id seen before, with the
    same version) or the fiche's next version (the last one plus one). Returns how many
    events were re-sends."""
    partition_of: dict[str, int] = {}
    last: dict[str, int] = {}
    version_of: dict[str, int] = {}
    resent = 0
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        event = json.loads(record.value)
        fiche, version = event["subject"], event["data"]["version"]
        assert partition_of.setdefault(fiche, record.partition) == record.partition, fiche
        if event["id"] in version_of:
            assert version_of[event["id"]] == version, (fiche, event["id"])
            resent += 1
            continue
        assert version == last.get(fiche, 0) + 1, (fiche, last.get(fiche), version, record)
        last[fiche] = version
        version_of[event["id"]] = version
    return resent


def one_id_per_version(events: list[dict[str, Any]]) -> list[tuple[str, int, set[str]]]:
    """The (fiche, version) pairs that reached downstream under more than one event id."""
    ids: dict[tuple[str, int], set[str]] = {}
    for event in events:
        ids.setdefault((event["subject"], event["data"]["version"]), set()).add(event["id"])
    return [(*key, found) for key, found in ids.items() if len(found) > 1]
