"""Signed-in browsers: a random token in a cookie, its SHA-256 and an expiry in PostgreSQL.

A session ends after ``idle`` without a request, and in any case ``lifetime`` after it began;
each request pushes the idle expiry forward. Its CSRF token is drawn with it and checked on
every change (:mod:`sync.web.security`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sync.store.conflicts import Conn
from sync.web.accounts import Account

__all__ = ["Session", "end_session", "open_session", "valid_session"]

INSERT = """
INSERT INTO console_session (token_hash, user_name, csrf_token, expires_at)
VALUES ($1, $2, $3, now() + $4::interval)
"""
#: Valid and not expired: the idle expiry moves forward, never past the session's lifetime.
TOUCH = """
UPDATE console_session s
SET expires_at = least(now() + $2::interval, s.created_at + $3::interval)
FROM console_user u
WHERE s.token_hash = $1 AND s.expires_at > now() AND s.created_at + $3::interval > now()
  AND u.name = s.user_name
RETURNING u.name, u.roles, s.csrf_token
"""
DELETE = "DELETE FROM console_session WHERE token_hash = $1"
DELETE_EXPIRED = "DELETE FROM console_session WHERE expires_at < now() - interval '1 day'"


@dataclass(frozen=True)
class Session:
    """A valid session: its account and its CSRF token."""

    account: Account
    csrf_token: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(conn: Conn, account: Account, idle: timedelta) -> str:
    """A new session for ``account``; returns the cookie's token (kept nowhere else)."""
    token = secrets.token_urlsafe(32)
    await conn.execute(DELETE_EXPIRED)
    await conn.execute(INSERT, _hash(token), account.name, secrets.token_urlsafe(32), idle)
    return token


async def valid_session(
    conn: Conn, token: str, idle: timedelta, lifetime: timedelta,
) -> Session | None:
    """The session of ``token`` when it has not expired (its idle expiry moves on)."""
    row = await conn.fetchrow(TOUCH, _hash(token), idle, lifetime)
    if row is None:
        return None
    return Session(Account(row["name"], tuple(row["roles"])), row["csrf_token"])


async def end_session(conn: Conn, token: str) -> None:
    """Sign out: the token no longer opens anything."""
    await conn.execute(DELETE, _hash(token))
