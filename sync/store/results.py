"""What the apply path hands around: the outcome of an update and matching's answers.

Kept apart from :mod:`sync.store.apply` and :mod:`sync.store.linking` so that both can name
them while imports go one way (the applier uses the linker, never the reverse).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sync.errors import PermanentError
from sync.events import EventOrigin, FicheUpdate
from sync.matching import Verdict

__all__ = ["ApplyResult", "Held", "Link"]


@dataclass(frozen=True)
class ApplyResult:
    """What became of one update: ``applied``, ``unchanged``, ``stale`` (an older version of
    its source record than the one held), ``duplicate`` (applied before: the same version of
    its record, or an editor's decision already in the inbox),
    ``refused``, ``rejected`` (a permanent error: ``reason`` says why) or ``pending-review``
    (the record probably is a fiche made by hand: it waits for an editor, no fiche was made).
    ``linked``: the record was linked to an existing fiche by matching."""

    update: FicheUpdate
    outcome: str
    fiche_id: uuid.UUID | None = None
    version: int | None = None
    event_type: str | None = None
    reason: str | None = None
    error: PermanentError | None = None
    linked: bool = False


@dataclass(frozen=True)
class Link:
    """Apply the record to ``fiche_id``: matching (``auto``) or an editor decided so."""

    fiche_id: uuid.UUID
    score: float | None
    match_id: uuid.UUID | None
    decided_by: str
    cause: EventOrigin


@dataclass(frozen=True)
class Held:
    """Keep the update waiting for an editor (``stale``: a newer version already waits;
    ``duplicate``: this very version does)."""

    verdict: Verdict
    stale: bool = False
    duplicate: bool = False
