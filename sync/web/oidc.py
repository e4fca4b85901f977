"""Sign-in through an OpenID Connect provider (the Flemish government login is one), when
configured: the authorization code flow with PKCE, a state and a nonce.

The provider vouches for who someone is and which console roles they hold (a claim listing
``operator`` and/or ``editor``); the console then keeps its own session as for a local
account. Such accounts are named ``oidc:<name>``, carry no password, and take their roles
from each sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from sync.store.conflicts import Conn
from sync.web.accounts import ROLES, Account

__all__ = ["OidcConfig", "OidcError", "OidcProvider", "Pending", "oidc_account"]

TIMEOUT_S = 10.0
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
#: Never a valid argon2 hash: an OIDC account cannot sign in with a password.
NO_PASSWORD = "!oidc"  # noqa: S105 (a marker that no password can match, not a secret)
UPSERT = """
INSERT INTO console_user (name, password_hash, roles) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET roles = EXCLUDED.roles
WHERE console_user.password_hash = $2
RETURNING name
"""


class OidcError(Exception):
    """A sign-in through the provider that cannot be trusted or gives no console role."""


@dataclass(frozen=True)
class OidcConfig:
    """The provider and this console's registration with it."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_url: str
    roles_claim: str = "roles"
    name_claim: str = "preferred_username"
    scope: str = "openid profile"


@dataclass(frozen=True)
class Pending:
    """What the browser keeps (in a short-lived cookie) between leaving and coming back."""

    state: str
    nonce: str
    verifier: str
    next: str

    def encode(self) -> str:
        return "|".join((self.state, self.nonce, self.verifier, self.next))

    @staticmethod
    def decode(text: str) -> Pending | None:
        parts = text.split("|", 3)
        return Pending(*parts) if len(parts) == 4 else None


@dataclass
class OidcProvider:
    """The provider's endpoints (from its discovery document, read once) and its keys."""

    config: OidcConfig
    _metadata: dict[str, Any] = field(default_factory=dict)

    async def _discover(self) -> dict[str, Any]:
        if not self._metadata:
            url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            self._metadata = await _get_json(url)
            if self._metadata.get("issuer") != self.config.issuer:
                raise OidcError("the provider's discovery document names another issuer")
        return self._metadata

    async def start(self, next_page: str) -> tuple[str, Pending]:
        """Where to send the browser, and what to keep until it comes back."""
        metadata = await self._discover()
        pending = Pending(secrets.token_urlsafe(24), secrets.token_urlsafe(24),
                          secrets.token_urlsafe(48), next_page)
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(pending.verifier.encode()).digest()).rstrip(b"=").decode()
        query = urlencode({
            "response_type": "code", "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_url, "scope": self.config.scope,
            "state": pending.state, "nonce": pending.nonce, "code_challenge": challenge,
            "code_challenge_method": "S256"})
        return f"{metadata['authorization_endpoint']}?{query}", pending

    async def finish(self, code: str, pending: Pending) -> dict[str, Any]:
        """The ID token's verified claims for ``code`` (signature, issuer, audience, expiry
        and nonce checked)."""
        metadata = await self._discover()
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as http:
            response = await http.post(metadata["token_endpoint"], data={
                "grant_type": "authorization_code", "code": code,
                "redirect_uri": self.config.redirect_url, "code_verifier": pending.verifier,
            }, auth=(self.config.client_id, self.config.client_secret))
        if response.status_code != 200 or "id_token" not in response.json():
            raise OidcError(f"the provider refused the code (HTTP {response.status_code})")
        token = response.json()["id_token"]
        keys = jwt.PyJWKSet.from_dict(await _get_json(metadata["jwks_uri"]))
        kid = jwt.get_unverified_header(token).get("kid")
        key = next((k for k in keys.keys if kid is None or k.key_id == kid), None)
        if key is None:
            raise OidcError("the ID token is signed with a key the provider does not publish")
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key=key.key, algorithms=ALGORITHMS, audience=self.config.client_id,
                issuer=self.config.issuer, options={"require": ["exp", "iat", "sub"]})
        except jwt.PyJWTError as error:
            raise OidcError(f"the ID token is not valid: {error}") from None
        if claims.get("nonce") != pending.nonce:
            raise OidcError("the ID token was not issued for this sign-in (nonce)")
        return claims


async def _get_json(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=TIMEOUT_S) as http:
        response = await http.get(url)
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


async def oidc_account(conn: Conn, claims: dict[str, Any], config: OidcConfig) -> Account:
    """The console account of a verified sign-in: ``oidc:<name>`` with the roles the
    provider gives it now. A sign-in without a console role is refused."""
    given = claims.get(config.roles_claim) or []
    roles = [role for role in ROLES if isinstance(given, list) and role in given]
    if not roles:
        raise OidcError("the provider gives this person no console role")
    name = "oidc:" + str(claims.get(config.name_claim) or claims["sub"])[:90]
    if await conn.fetchval(UPSERT, name, NO_PASSWORD, roles) is None:
        raise OidcError(f"{name} is a local account")
    return Account(name, tuple(roles))
