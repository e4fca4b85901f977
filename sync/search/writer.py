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

__all__ = [
    "BulkResult", "TransientWriteError", "ensure_index", "new_index", "newest", "point_alias",
    "write",
]


class TransientWriteError(RuntimeError):
    """OpenSearch could not take (part of) a batch now: retry the whole batch later."""


@dataclass
class BulkResult:
    indexed: int = 0
    stale: int = 0
    refused: list[str] = field(default_factory=list)


def _indexes(client: OpenSearch, alias: str) -> list[str]:
    """The indexes behind ``alias``, oldest first (``<alias>-<n>``)."""
    found = client.indices.get_alias(name=alias) if client.indices.exists_alias(name=alias) else {}
    return sorted(found, key=lambda name: int(name.rsplit("-", 1)[1]))


def ensure_index(client: OpenSearch, alias: str, replicas: int = 0) -> str:
    """The index behind ``alias``, created (as ``<alias>-1``) when there is none."""
    existing = _indexes(client, alias)
    if existing:
        return existing[-1]
    name = new_index(client, alias, replicas)
    point_alias(client, alias, name)
    return name


def new_index(client: OpenSearch, alias: str, replicas: int = 0) -> str:
    """A new empty index ``<alias>-<n+1>`` for a rebuild; searches go on using the old one."""
    existing = client.indices.get(index=f"{alias}-*", ignore_unavailable=True) or {}
    number = 1 + max((int(name.rsplit("-", 1)[1]) for name in existing), default=0)
    name = f"{alias}-{number}"
    client.indices.create(index=name, body=index_body(replicas))
    return name


def point_alias(client: OpenSearch, alias: str, name: str) -> None:
    """Move ``alias`` to ``name`` in one step and delete the indexes it pointed to before."""
    old = [index for index in _indexes(client, alias) if index != name]
    client.indices.update_aliases(body={"actions": [
        {"add": {"index": name, "alias": alias}},
        *({"remove_index": {"index": index}} for index in old)]})


def newest(actions: Iterable[IndexAction]) -> list[IndexAction]:
    """The highest version per fiche: an older one in the same batch would be stale anyway."""
    best: dict[str, IndexAction] = {}
    for action in actions:
        if action.fiche_id not in best or action.version > best[action.fiche_id].version:
            best[action.fiche_id] = action
    return list(best.values())


def write(client: OpenSearch, index: str, actions: list[IndexAction]) -> BulkResult:
    """One bulk request with external versions. Raises :class:`TransientWriteError` when any
    item failed for a reason that may pass (overload, a shard unavailable, ...)."""
    result = BulkResult()
    if not actions:
        return result
    body: list[dict[str, Any]] = []
    for action in actions:
        body += [{"index": {"_index": index, "_id": action.fiche_id, "version": action.version,
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
