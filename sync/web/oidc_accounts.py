"""The console accounts of sign-ins through an OpenID Connect provider.

The provider vouches for who someone is and which console roles they hold (a claim listing
``operator`` and/or ``editor``); the console then keeps its own session as for a local
account. Such accounts are named ``oidc:<name>``, carry no password, and take their roles
from each sign-in.
"""

from __future__ import annotations

from typing import Any

from sync.store.conflicts import Conn
from sync.web.accounts import ROLES, Account
from sync.web.oidc import OidcError

__all__ = ["NAME_CLAIM", "oidc_account"]

#: The claim that names the person (else their subject identifier).
NAME_CLAIM = "preferred_username"
#: Never a valid argon2 hash: an OIDC account cannot sign in with a password.
NO_PASSWORD = "!oidc"  # noqa: S105 (a marker that no password can match, not a secret)
UPSERT = """
INSERT INTO console_user (name, password_hash, roles) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET roles = EXCLUDED.roles
WHERE console_user.password_hash = $2
RETURNING name
"""


async def oidc_account(conn: Conn, claims: dict[str, Any], roles_claim: str) -> Account:
    """The console account of a verified sign-in: ``oidc:<name>`` with the roles the
    provider gives it now (in the claim ``roles_claim``). A sign-in without a console role
    is refused."""
    given = claims.get(roles_claim) or []
    roles = [role for role in ROLES if isinstance(given, list) and role in given]
    if not roles:
        raise OidcError("the provider gives this person no console role")
    name = "oidc:" + str(claims.get(NAME_CLAIM) or claims["sub"])[:90]
    if await conn.fetchval(UPSERT, name, NO_PASSWORD, roles) is None:
        raise OidcError(f"{name} is a local account")
    return Account(name, tuple(roles))
