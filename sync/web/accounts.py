"""Local accounts of the web pages: a name, roles and an argon2id password hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sync.store.conflicts import Conn

__all__ = ["ROLES", "Account", "add_account", "check_password", "hash_password",
           "list_accounts", "remove_account"]

#: operator: lag, readiness, dead letters. editor: conflicts, matches, splits.
ROLES = ("operator", "editor")
_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
#: Verified when the name is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("no such account")

UPSERT = """
INSERT INTO console_user (name, password_hash, roles) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET password_hash = EXCLUDED.password_hash, roles = EXCLUDED.roles
"""
SELECT_ALL = "SELECT name, roles, created_at FROM console_user ORDER BY name"
SELECT_ONE = "SELECT name, roles, created_at, password_hash FROM console_user WHERE name = $1"
DELETE = "DELETE FROM console_user WHERE name = $1"


@dataclass(frozen=True)
class Account:
    """Who is signed in (or listed): never the password hash."""

    name: str
    roles: tuple[str, ...]
    created_at: datetime | None = None

    def may(self, role: str) -> bool:
        """Whether the account holds ``role``."""
        return role in self.roles


def hash_password(password: str) -> str:
    """The argon2id PHC string of ``password``."""
    return _HASHER.hash(password)


def _checked_roles(roles: list[str]) -> list[str]:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise ValueError(f"roles are {' and '.join(ROLES)}, not {', '.join(unknown) or 'none'}")
    return [role for role in ROLES if role in roles]


async def add_account(conn: Conn, name: str, password: str, roles: list[str]) -> None:
    """Create the account, or replace its password and roles when it exists."""
    if not 1 <= len(name) <= 100 or name != name.strip():
        raise ValueError("a name has 1 to 100 characters and no surrounding spaces")
    if len(password) < 12:
        raise ValueError("a password has at least 12 characters")
    await conn.execute(UPSERT, name, hash_password(password), _checked_roles(roles))


async def list_accounts(conn: Conn) -> list[Account]:
    """Every account, by name."""
    return [Account(r["name"], tuple(r["roles"]), r["created_at"])
            for r in await conn.fetch(SELECT_ALL)]


async def remove_account(conn: Conn, name: str) -> bool:
    """Remove the account (its sessions end with it); False when there was none."""
    return bool(await conn.execute(DELETE, name) != "DELETE 0")


async def check_password(conn: Conn, name: str, password: str) -> Account | None:
    """The account when ``password`` is its password, else None (same cost either way)."""
    row = await conn.fetchrow(SELECT_ONE, name)
    try:
        _HASHER.verify(row["password_hash"] if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return Account(row["name"], tuple(row["roles"]), row["created_at"]) if row else None
