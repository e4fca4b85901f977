"""An OpenID Connect client, shared by the console's and the provider pages' sign-in: the
authorization code flow with PKCE, a state and a nonce.

The client reads the identity provider's discovery document (once), sends the browser there
with a random ``state``, ``nonce`` and PKCE challenge (the caller keeps them in a short-lived
cookie), exchanges the code that comes back for an ID token and checks that token: signature
by the provider's published keys, issuer, audience, expiry and nonce. What the claims then
mean (console roles, a provider's number) is each caller's business.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

__all__ = ["OidcClient", "OidcConfig", "OidcError", "Pending"]

TIMEOUT_S = 10.0
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


class OidcError(Exception):
    """A sign-in through the provider that cannot be completed or trusted (the message
    says why)."""


@dataclass(frozen=True)
class OidcConfig:
    """The identity provider and this site's registration with it.

    ``secret_in_form``: send the client secret in the token request's form
    (``client_secret_post``) rather than as HTTP Basic authentication
    (``client_secret_basic``, the default of the standard)."""

    issuer: str
    client_id: str
    client_secret: str | None
    redirect_url: str
    scope: str = "openid"
    secret_in_form: bool = False


@dataclass(frozen=True)
class Pending:
    """What the browser carries (in a cookie) between leaving and coming back: the state,
    nonce and PKCE verifier of this sign-in, and the page to land on afterwards."""

    state: str
    nonce: str
    verifier: str
    next: str = ""

    @classmethod
    def new(cls, next_page: str = "") -> Pending:
        """A fresh sign-in that lands on ``next_page``."""
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24),
                   secrets.token_urlsafe(48), next_page)

    def encode(self) -> str:
        """The cookie's value."""
        return "|".join((self.state, self.nonce, self.verifier, self.next))

    @classmethod
    def decode(cls, text: str) -> Pending | None:
        """The sign-in a cookie's value holds, or None when it holds none."""
        parts = text.split("|", 3)
        return cls(*parts) if len(parts) == 4 and all(parts[:3]) else None

    @property
    def challenge(self) -> str:
        """The PKCE challenge (S256) of the verifier."""
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class OidcClient:
    """Talks to one identity provider (its discovery document and keys fetched once, the
    keys again when a token names one not seen yet)."""

    def __init__(self, config: OidcConfig, http: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=TIMEOUT_S)
        self._meta: dict[str, Any] | None = None
        self._keys: jwt.PyJWKSet | None = None

    async def aclose(self) -> None:
        """Close the HTTP client, unless it was given (then its giver closes it)."""
        if self._owns_http:
            await self._http.aclose()

    async def authorize_url(self, pending: Pending) -> str:
        """Where to send the browser to sign in."""
        meta = await self._metadata()
        query = urlencode({
            "response_type": "code", "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_url, "scope": self.config.scope,
            "state": pending.state, "nonce": pending.nonce,
            "code_challenge": pending.challenge, "code_challenge_method": "S256"})
        return f"{meta['authorization_endpoint']}?{query}"

    async def claims(self, code: str, pending: Pending) -> dict[str, Any]:
        """The checked claims of the ID token the ``code`` is exchanged for."""
        meta = await self._metadata()
        response = await self._http.post(meta["token_endpoint"], **self._token_request(
            code, pending))
        token = response.json().get("id_token") if response.status_code == 200 else None
        if not isinstance(token, str):
            raise OidcError(f"the provider refused the code (HTTP {response.status_code})")
        return await self._checked(token, pending.nonce, meta)

    def _token_request(self, code: str, pending: Pending) -> dict[str, Any]:
        """The token request's form, and its authentication when there is a secret."""
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": self.config.redirect_url, "code_verifier": pending.verifier}
        secret = self.config.client_secret
        if self.config.secret_in_form or not secret:
            form["client_id"] = self.config.client_id
            if secret:
                form["client_secret"] = secret
            return {"data": form}
        return {"data": form, "auth": (self.config.client_id, secret)}

    async def _metadata(self) -> dict[str, Any]:
        if self._meta is None:
            issuer = self.config.issuer.rstrip("/")
            meta = await self._get_json(f"{issuer}/.well-known/openid-configuration")
            if str(meta.get("issuer", "")).rstrip("/") != issuer:
                raise OidcError("the provider's discovery document names another issuer")
            self._meta = meta
        return self._meta

    async def _get_json(self, url: str) -> dict[str, Any]:
        response = await self._http.get(url)
        if response.status_code != 200:
            raise OidcError(f"{url} answered {response.status_code}")
        document: dict[str, Any] = response.json()
        return document

    async def _checked(self, token: str, nonce: str, meta: dict[str, Any]) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = await self._key(kid, meta)
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=ALGORITHMS, audience=self.config.client_id,
                issuer=meta["issuer"], options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except (jwt.PyJWTError, KeyError) as error:
            raise OidcError(f"the ID token is not valid: {type(error).__name__}") from None
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OidcError("the ID token was not issued for this sign-in (nonce)")
        return claims

    async def _key(self, kid: str | None, meta: dict[str, Any]) -> Any:
        """The provider's key ``kid``; the key set is fetched again once for a new key."""
        for attempt in range(2):
            if self._keys is None or attempt:
                self._keys = jwt.PyJWKSet.from_dict(await self._get_json(meta["jwks_uri"]))
            for key in self._keys.keys:
                if kid is None or key.key_id == kid:
                    return key.key
        raise OidcError("the ID token is signed with a key the provider does not publish")
