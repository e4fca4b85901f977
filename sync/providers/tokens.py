"""The rules of sign-in links and of the limits on asking for them. Pure.

A link holds a random token; only its SHA-256 is stored, so the table cannot be used to sign
in. A link works once and until it expires. Asking for links is limited per identifier, per
e-mail address and per client within a window; the attempts are counted under a hash of what
they count against, so the table keeps no address in clear.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

__all__ = [
    "Limits",
    "LinkState",
    "attempt_key",
    "link_status",
    "new_token",
    "over_limit",
    "token_hash",
]

LinkStatus = Literal["usable", "unknown", "used", "expired"]
AttemptKind = Literal["identifier", "address", "client"]


def new_token() -> str:
    """A fresh link token: 32 random bytes, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored of a token (and looked up when it comes back)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class LinkState:
    """A stored link: when it expires and when (if ever) it was used."""

    expires_at: datetime
    used_at: datetime | None = None


def link_status(link: LinkState | None, now: datetime) -> LinkStatus:
    """Whether a link can still sign in; a used link stays used even before it expires."""
    if link is None:
        return "unknown"
    if link.used_at is not None:
        return "used"
    return "usable" if now < link.expires_at else "expired"


@dataclass(frozen=True)
class Limits:
    """At most so many links asked per identifier, e-mail address and client per window."""

    window: timedelta
    per_identifier: int
    per_address: int
    per_client: int

    def of(self, kind: AttemptKind) -> int:
        """The limit on ``kind``."""
        return {"identifier": self.per_identifier, "address": self.per_address,
                "client": self.per_client}[kind]


def over_limit(counts: dict[AttemptKind, int], limits: Limits) -> AttemptKind | None:
    """The first kind whose count within the window has reached its limit, else None."""
    for kind in ("client", "identifier", "address"):
        if counts.get(kind, 0) >= limits.of(kind):
            return kind
    return None


def attempt_key(kind: AttemptKind, value: str) -> str:
    """The key an attempt is counted under: a hash, so no address is kept in clear."""
    return hashlib.sha256(f"{kind}\x1f{value.strip().lower()}".encode()).hexdigest()
