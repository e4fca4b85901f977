"""Signing in to the provider pages by OpenID Connect, against an identity provider in this
process (its discovery document, keys and token endpoint), on a real PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sync.providers.app import provider_app
from sync.providers.oidc import oidc_config
from sync.settings import Settings
from sync.web.oidc import OidcClient
from tests.integration.test_provider_signin import Outbox, Published, a_fiche
from tests.support.builders import nihii
from tests.support.lifespan import in_lifespan

ISSUER = "https://idp.example"
CLIENT = "sociale-kaart"


@dataclass
class IdentityProvider:
    """Issues codes for whoever the test says signed in; signs ID tokens with its own key."""

    key: Any = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    audience: str = CLIENT

    def app(self) -> Starlette:
        async def discovery(request: Request) -> JSONResponse:
            return JSONResponse({"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/auth",
                                 "token_endpoint": f"{ISSUER}/token",
                                 "jwks_uri": f"{ISSUER}/jwks"})

        async def jwks(request: Request) -> JSONResponse:
            public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
            return JSONResponse({"keys": [{**public, "kid": "k1", "use": "sig"}]})

        async def token(request: Request) -> JSONResponse:
            form = await request.form()
            grant = self.codes.pop(str(form["code"]), None)
            digest = hashlib.sha256(str(form.get("code_verifier", "")).encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if grant is None or grant["challenge"] != challenge:
                return JSONResponse({"error": "invalid_grant"}, 400)
            now = int(time.time())
            claims = {"iss": ISSUER, "aud": self.audience, "sub": uuid.uuid4().hex,
                      "iat": now, "exp": now + 300, "nonce": grant["nonce"], **grant["claims"]}
            signed = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})
            return JSONResponse({"id_token": signed, "token_type": "Bearer"})

        return Starlette(routes=[Route("/.well-known/openid-configuration", discovery),
                                 Route("/jwks", jwks), Route("/token", token,
                                                             methods=["POST"])])

    def sign_in(self, authorize_url: str, **claims: Any) -> tuple[str, str]:
        """The person signs in: a code for the callback, and the state to send back."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        assert query["code_challenge_method"] == "S256"
        code = uuid.uuid4().hex
        self.codes[code] = {"nonce": query["nonce"], "challenge": query["code_challenge"],
                            "claims": claims}
        return code, query["state"]


@pytest.fixture
async def idp_and_pages(pg_pool: asyncpg.Pool) -> AsyncIterator[tuple[IdentityProvider,
                                                                      httpx.AsyncClient]]:
    idp = IdentityProvider()
    settings = Settings(database_url="postgresql://unused/unused", provider_oidc_issuer=ISSUER,
                        provider_oidc_client_id=CLIENT,
                        provider_public_url="https://mijnfiche.example")
    config = oidc_config(settings, "https://mijnfiche.example")
    assert config is not None
    to_idp = httpx.AsyncClient(transport=httpx.ASGITransport(app=idp.app()))
    app = provider_app(settings, pg_pool, publish=Published(), sender=Outbox(),
                       oidc=OidcClient(config, to_idp))
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with to_idp, httpx.AsyncClient(transport=transport,
                                         base_url="https://mijnfiche.example") as http:
        yield idp, http


async def leave(http: httpx.AsyncClient) -> str:
    started = await http.get("/provider/oidc/start")
    assert started.status_code == 303
    target = started.headers["location"]
    assert target.startswith(f"{ISSUER}/auth?")
    assert "redirect_uri=https%3A%2F%2Fmijnfiche.example%2Fprovider%2Foidc%2Fcallback" in target
    return target


async def test_a_provider_signs_in_with_oidc_and_reaches_their_fiche(
    idp_and_pages: tuple[IdentityProvider, httpx.AsyncClient], pg_conn: asyncpg.Connection,
) -> None:
    """The NIHII claim binds the session like a mailed link: their fiche opens."""
    idp, http = idp_and_pages
    number = nihii("3")
    mine = await a_fiche(pg_conn, "NIHII-PERSON", number[:8], {"name.last": "Declercq"})
    code, state = idp.sign_in(await leave(http), nihii=number)
    back = await http.get(f"/provider/oidc/callback?code={code}&state={state}")
    assert back.status_code == 200
    assert 'id="continue"' in back.text
    landed = await http.get("/provider/fiches")
    assert landed.headers["location"] == f"/provider/fiches/{mine}"
    assert "Declercq" in (await http.get(f"/provider/fiches/{mine}")).text


@pytest.mark.parametrize("wrong", ["state", "audience", "no-number"])
async def test_an_oidc_sign_in_that_does_not_check_out_opens_nothing(
    idp_and_pages: tuple[IdentityProvider, httpx.AsyncClient], wrong: str,
) -> None:
    """Another sign-in's state, a token for another client, or no number: refused."""
    idp, http = idp_and_pages
    if wrong == "audience":
        idp.audience = "another-client"
    claims = {} if wrong == "no-number" else {"nihii": nihii("3")}
    code, state = idp.sign_in(await leave(http), **claims)
    if wrong == "state":
        state = "forged"
    back = await http.get(f"/provider/oidc/callback?code={code}&state={state}")
    assert back.status_code == 401
    assert re.search(r'class="error"', back.text)
    assert (await http.get("/provider/fiches")).status_code == 303  # to sign-in


async def test_the_pages_close_their_client_to_the_identity_provider_when_they_stop(
    pg_pool: asyncpg.Pool,
) -> None:
    """No connection to the identity provider outlives the provider pages."""
    settings = Settings(database_url="postgresql://unused/unused", provider_oidc_issuer=ISSUER,
                        provider_oidc_client_id=CLIENT)
    guard = provider_app(settings, pg_pool, publish=Published(), sender=Outbox())
    oidc = guard.app.state.provider_pages.oidc  # type: ignore[attr-defined]
    async with in_lifespan(guard):
        assert not oidc._http.is_closed
    assert oidc._http.is_closed
