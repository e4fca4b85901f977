"""A small OpenID Connect provider for tests: discovery, authorize (signs in at once as the
person it is told to), token (PKCE checked, an RS256 ID token) and its keys."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from devstack import free_port

__all__ = ["FakeProvider", "running_provider"]

CLIENT_ID, CLIENT_SECRET = "sksync-console", "provider-secret"


@dataclass
class FakeProvider:
    """Signs in as ``claims`` (plus the standard ones); ``audience`` can be made wrong."""

    issuer: str
    claims: dict[str, Any] = field(default_factory=dict)
    audience: str = CLIENT_ID
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(
        public_exponent=65537, key_size=2048))
    codes: dict[str, dict[str, str]] = field(default_factory=dict)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/authorize", self.authorize), Route("/token", self.token, methods=["POST"]),
            Route("/jwks", self.jwks)])

    async def discovery(self, request: Request) -> Response:
        return JSONResponse({"issuer": self.issuer,
                             "authorization_endpoint": f"{self.issuer}/authorize",
                             "token_endpoint": f"{self.issuer}/token",
                             "jwks_uri": f"{self.issuer}/jwks"})

    async def authorize(self, request: Request) -> Response:
        query = request.query_params
        code = secrets.token_urlsafe(16)
        self.codes[code] = {k: query[k] for k in ("nonce", "code_challenge", "redirect_uri")}
        return RedirectResponse(f"{query['redirect_uri']}?"
                                + urlencode({"code": code, "state": query["state"]}), 302)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        wanted = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        grant = self.codes.pop(str(form.get("code")), None)
        verifier = str(form.get("code_verifier", "")).encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if (request.headers.get("authorization") != wanted or grant is None
                or challenge.decode() != grant["code_challenge"]
                or form.get("redirect_uri") != grant["redirect_uri"]):
            return JSONResponse({"error": "invalid_grant"}, 400)
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.audience, "sub": "sub-123", "iat": now,
                  "exp": now + 300, "nonce": grant["nonce"], **self.claims}
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})
        return JSONResponse({"id_token": token, "access_token": "x", "token_type": "Bearer"})

    async def jwks(self, request: Request) -> Response:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return JSONResponse({"keys": [{**public, "kid": "k1", "alg": "RS256", "use": "sig"}]})


@asynccontextmanager
async def running_provider() -> AsyncIterator[FakeProvider]:
    """The provider on a free local port, in this event loop."""
    port = free_port()
    provider = FakeProvider(f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(provider.app(), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.05)
        yield provider
    finally:
        server.should_exit = True
        await task
