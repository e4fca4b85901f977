"""OpenSearch side of the indexer: the index behind its alias, and versioned bulk writes.

Each fiche is one document whose id is the fiche id and whose *external* version is the fiche
version: OpenSearch keeps a write only when its version is higher than the one it holds, so a
redelivered event or one that arrives after a newer one changes nothing (409, counted as
``stale``). That makes the indexer idempotent and ordered without any state of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from opensearchpy import OpenSearch

from sync.search.document import IndexAction
from sync.search.mapping import index_body

__all__ = ["BulkResult", "TransientWriteError", "ensure_index", "write"]


class TransientWriteError(RuntimeError):
    """OpenSearch could not take (part of) a batch now: retry the whole batch later."""


@dataclass
class BulkResult:
    indexed: int = 0
    stale: int = 0
    refused: list[str] = field(default_factory=list)


def ensure_index(client: OpenSearch, alias: str, replicas: int = 0, *, fresh: bool = False) -> str:
    """The index behind ``alias``, created when missing; with ``fresh``, a new empty one
    replaces it (a rebuild). Returns the concrete index name."""
    found = client.indices.get_alias(name=alias) if client.indices.exists_alias(name=alias) else {}
    existing = sorted(found, key=lambda name: int(name.rsplit("-", 1)[1]))
    if existing and not fresh:
        return str(existing[0])
    number = 1 + max((int(name.rsplit("-", 1)[1]) for name in existing), default=0)
    name = f"{alias}-{number}"
    client.indices.create(index=name, body=index_body(replicas))
    actions: list[dict[str, Any]] = [{"remove_index": {"index": old}} for old in existing]
    client.indices.update_aliases(body={"actions": [{"add": {"index": name, "alias": alias}},
                                                    *actions]})
    return name


def newest(actions: Iterable[IndexAction]) -> list[IndexAction]:
    """The highest version per fiche: an older one in the same batch would be stale anyway."""
    best: dict[str, IndexAction] = {}
    for action in actions:
        if action.fiche_id not in best or action.version > best[action.fiche_id].version:
            best[action.fiche_id] = action
    return list(best.values())


def write(client: OpenSearch, alias: str, actions: list[IndexAction]) -> BulkResult:
    """One bulk request with external versions. Raises :class:`TransientWriteError` when any
    item failed for a reason that may pass (overload, a shard unavailable, ...)."""
    result = BulkResult()
    if not actions:
        return result
    body: list[dict[str, Any]] = []
    for action in actions:
        body += [{"index": {"_index": alias, "_id": action.fiche_id, "version": action.version,
                            "version_type": "external"}}, action.document]
    response = client.bulk(body=body)
    for action, item in zip(actions, response["items"], strict=True):
        status = int(item["index"]["status"])
        if status in (200, 201):
            result.indexed += 1
        elif status == 409:
            result.stale += 1
        elif status == 429 or status >= 500:
            raise TransientWriteError(f"fiche {action.fiche_id}: {status} "
                                      f"{item['index'].get('error', {}).get('type')}")
        else:
            reason = item["index"].get("error", {}).get("reason", "")
            result.refused.append(f"fiche {action.fiche_id} v{action.version}: {status} "
                                  f"{str(reason)[:200]}")
    return result
