"""What the provider pages read and write in PostgreSQL, named once, here: sign-in links,
provider sessions, the attempts the limits count, and the fiches a binding reaches.

The fiches themselves are never written here: a provider's change is published as a manual
edit and applied by the service like every other.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sync.providers.binding import Binding
from sync.providers.tokens import AttemptKind, LinkState, token_hash
from sync.store.conflicts import Conn
from sync.web.accounts import Account
from sync.web.sessions import Session

__all__ = ["ProviderSession", "addresses_of", "count_attempts", "create_link", "end_session",
           "fiches_of", "link_state", "open_session", "record_attempts", "use_link",
           "valid_session"]

FICHES = """
SELECT fiche_id FROM fiche_identifier WHERE type = $1 AND value = $2 ORDER BY fiche_id
"""
ADDRESSES = """
SELECT DISTINCT f.visible ->> 'contact.email' AS email
FROM fiche_identifier i JOIN fiche f ON f.id = i.fiche_id
WHERE i.type = $1 AND i.value = $2 AND f.visible ? 'contact.email'
ORDER BY 1
"""
COUNT_ATTEMPTS = """
SELECT kind, count(*) AS n FROM provider_attempt
WHERE (kind, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))
  AND at > now() - $3::interval
GROUP BY kind
"""
RECORD_ATTEMPTS = """
INSERT INTO provider_attempt (kind, key) SELECT * FROM unnest($1::text[], $2::text[])
"""
FORGET_OLD_ATTEMPTS = "DELETE FROM provider_attempt WHERE at < now() - interval '2 days'"
INSERT_LINK = """
INSERT INTO provider_link (token_hash, binding_type, binding_value, expires_at)
VALUES ($1, $2, $3, now() + $4::interval)
"""
LINK = "SELECT expires_at, used_at FROM provider_link WHERE token_hash = $1"
#: Used once: the row is marked in the same statement that checks it, so two browsers
#: sending the same link at the same moment cannot both sign in.
USE_LINK = """
UPDATE provider_link SET used_at = now()
WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
RETURNING binding_type, binding_value
"""
FORGET_OLD_LINKS = "DELETE FROM provider_link WHERE expires_at < now() - interval '7 days'"
INSERT_SESSION = """
INSERT INTO provider_session (token_hash, binding_type, binding_value, csrf_token, expires_at)
VALUES ($1, $2, $3, $4, now() + $5::interval)
"""
TOUCH_SESSION = """
UPDATE provider_session SET expires_at = least(now() + $2::interval, created_at + $3::interval)
WHERE token_hash = $1 AND expires_at > now() AND created_at + $3::interval > now()
RETURNING binding_type, binding_value, csrf_token
"""
DELETE_SESSION = "DELETE FROM provider_session WHERE token_hash = $1"
DELETE_EXPIRED_SESSIONS = """
DELETE FROM provider_session WHERE expires_at < now() - interval '1 day'
"""


@dataclass(frozen=True)
class ProviderSession(Session):
    """A signed-in provider: the web layer's session, with the identifier it is bound to."""

    binding: Binding


async def fiches_of(conn: Conn, binding: Binding) -> list[uuid.UUID]:
    """The fiches that hold the binding's identifier now."""
    return [row["fiche_id"] for row in await conn.fetch(FICHES, binding.type, binding.value)]


async def addresses_of(conn: Conn, binding: Binding) -> list[str]:
    """The e-mail addresses shown on those fiches: where a sign-in link may go."""
    rows = await conn.fetch(ADDRESSES, binding.type, binding.value)
    return [str(row["email"]) for row in rows if row["email"]]


async def count_attempts(
    conn: Conn, keys: dict[AttemptKind, list[str]], window: timedelta,
) -> dict[AttemptKind, int]:
    """Per kind, the most attempts any of its keys saw within ``window``."""
    pairs = [(kind, key) for kind, values in keys.items() for key in values]
    rows = await conn.fetch(COUNT_ATTEMPTS, [p[0] for p in pairs], [p[1] for p in pairs], window)
    return {row["kind"]: int(row["n"]) for row in rows}


async def record_attempts(conn: Conn, keys: dict[AttemptKind, list[str]]) -> None:
    """Count one attempt against every key (and forget attempts older than any window)."""
    pairs = [(kind, key) for kind, values in keys.items() for key in values]
    await conn.execute(FORGET_OLD_ATTEMPTS)
    await conn.execute(RECORD_ATTEMPTS, [p[0] for p in pairs], [p[1] for p in pairs])


async def create_link(conn: Conn, binding: Binding, token: str, ttl: timedelta) -> None:
    """Store a link for ``token`` (its hash only), valid for ``ttl``."""
    await conn.execute(FORGET_OLD_LINKS)
    await conn.execute(INSERT_LINK, token_hash(token), binding.type, binding.value, ttl)


async def link_state(conn: Conn, token: str) -> LinkState | None:
    """The stored link of ``token``, if any."""
    row = await conn.fetchrow(LINK, token_hash(token))
    return LinkState(row["expires_at"], row["used_at"]) if row else None


async def use_link(conn: Conn, token: str) -> Binding | None:
    """The binding of ``token`` when its link is usable, marking it used; else None."""
    row = await conn.fetchrow(USE_LINK, token_hash(token))
    return Binding(row["binding_type"], row["binding_value"]) if row else None


async def open_session(conn: Conn, binding: Binding, idle: timedelta) -> str:
    """A new provider session; returns the cookie's token (kept nowhere else)."""
    token = secrets.token_urlsafe(32)
    await conn.execute(DELETE_EXPIRED_SESSIONS)
    await conn.execute(INSERT_SESSION, token_hash(token), binding.type, binding.value,
                       secrets.token_urlsafe(32), idle)
    return token


async def valid_session(conn: Conn, token: str, idle: timedelta,
                        lifetime: timedelta) -> ProviderSession | None:
    """The session of ``token`` when it has not expired (its idle expiry moves on)."""
    row = await conn.fetchrow(TOUCH_SESSION, token_hash(token), idle, lifetime)
    if row is None:
        return None
    binding = Binding(row["binding_type"], row["binding_value"])
    return ProviderSession(Account(binding.label, ("provider",)), row["csrf_token"], binding)


async def end_session(conn: Conn, token: str) -> None:
    """Sign out: the token no longer opens anything."""
    await conn.execute(DELETE_SESSION, token_hash(token))
