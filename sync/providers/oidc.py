"""Signing in by OpenID Connect, when configured: the authorization code flow with PKCE.

The provider pages send the browser to the identity provider with a random ``state``,
``nonce`` and PKCE challenge (kept in a short-lived cookie), take the code back, exchange it
for an ID token, check the token (signature by the provider's published keys, issuer,
audience, expiry, nonce) and bind the session to the number a configured claim holds: the
same binding as a mailed link, so the same fiches open.
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

from sync.providers.binding import Binding, BindingError, binding_of
from sync.settings import Settings

__all__ = ["OidcClient", "OidcConfig", "OidcError", "Pending", "binding_from_claims",
           "oidc_config"]

TIMEOUT_S = 10.0


class OidcError(Exception):
    """The sign-in could not be completed (the message says why, for the log)."""


@dataclass(frozen=True)
class OidcConfig:
    """Where the identity provider is, who we are to it, and which claims carry numbers."""

    issuer: str
    client_id: str
    client_secret: str | None
    redirect_url: str
    claims: dict[str, str]  # claim name -> binding kind (nihii, cbe, establishment)
    scope: str = "openid"


@dataclass(frozen=True)
class Pending:
    """What the browser carries between leaving and coming back (in a cookie)."""

    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> Pending:
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24),
                   secrets.token_urlsafe(48))

    def cookie(self) -> str:
        return ".".join((self.state, self.nonce, self.verifier))

    @classmethod
    def from_cookie(cls, text: str) -> Pending | None:
        parts = text.split(".")
        return cls(*parts) if len(parts) == 3 and all(parts) else None

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def oidc_config(settings: Settings, public_url: str) -> OidcConfig | None:
    """The OIDC configuration, or None when no issuer is set."""
    if not settings.provider_oidc_issuer or not settings.provider_oidc_client_id:
        return None
    secret = settings.provider_oidc_client_secret
    return OidcConfig(settings.provider_oidc_issuer.rstrip("/"),
                      settings.provider_oidc_client_id,
                      secret.get_secret_value() if secret else None,
                      f"{public_url}/provider/oidc/callback",
                      _claims(settings.provider_oidc_claims), settings.provider_oidc_scope)


def _claims(text: str) -> dict[str, str]:
    """``claim=kind`` pairs, in order."""
    pairs = [part.split("=", 1) for part in text.split(",") if "=" in part]
    return {claim.strip(): kind.strip() for claim, kind in pairs}


def binding_from_claims(claims: dict[str, Any], wanted: dict[str, str]) -> Binding | None:
    """The binding of the first configured claim that holds a valid number. Pure."""
    for claim, kind in wanted.items():
        value = claims.get(claim)
        if isinstance(value, str) and value:
            try:
                return binding_of(kind, value)
            except BindingError:
                continue
    return None


class OidcClient:
    """Talks to one identity provider (its discovery document and keys fetched once)."""

    def __init__(self, config: OidcConfig, http: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._http = http or httpx.AsyncClient(timeout=TIMEOUT_S)
        self._meta: dict[str, Any] | None = None
        self._keys: jwt.PyJWKSet | None = None

    async def _metadata(self) -> dict[str, Any]:
        if self._meta is None:
            url = f"{self.config.issuer}/.well-known/openid-configuration"
            self._meta = await self._get_json(url)
            if self._meta.get("issuer", "").rstrip("/") != self.config.issuer:
                raise OidcError("the discovery document names another issuer")
        return self._meta

    async def _get_json(self, url: str) -> dict[str, Any]:
        response = await self._http.get(url)
        if response.status_code != 200:
            raise OidcError(f"{url} answered {response.status_code}")
        document: dict[str, Any] = response.json()
        return document

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
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": self.config.redirect_url, "client_id": self.config.client_id,
                "code_verifier": pending.verifier}
        if self.config.client_secret:
            form["client_secret"] = self.config.client_secret
        response = await self._http.post(meta["token_endpoint"], data=form)
        token = response.json().get("id_token") if response.status_code == 200 else None
        if not isinstance(token, str):
            raise OidcError(f"the token endpoint answered {response.status_code}")
        return await self._checked(token, pending.nonce, meta)

    async def _checked(self, token: str, nonce: str, meta: dict[str, Any]) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = await self._key(kid, meta)
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=["RS256", "ES256", "PS256"],
                audience=self.config.client_id, issuer=meta["issuer"],
                options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except (jwt.PyJWTError, KeyError) as error:
            raise OidcError(f"the ID token is not valid: {type(error).__name__}") from None
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OidcError("the ID token is for another sign-in (nonce)")
        return claims

    async def _key(self, kid: str | None, meta: dict[str, Any]) -> Any:
        """The provider's key ``kid``; the key set is fetched again once for a new key."""
        for attempt in range(2):
            if self._keys is None or attempt:
                self._keys = jwt.PyJWKSet.from_dict(await self._get_json(meta["jwks_uri"]))
            for key in self._keys.keys:
                if kid is None or key.key_id == kid:
                    return key.key
        raise OidcError("the ID token is signed by an unknown key")
