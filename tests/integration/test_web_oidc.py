"""Signing in to the console through an OpenID Connect provider (a local one, real HTTP):
code flow with PKCE, state and nonce; the ID token checked; roles from a claim."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from sync.console import console_app
from sync.settings import Settings
from sync.web.accounts import check_password
from tests.support.lifespan import in_lifespan
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, FakeProvider, running_provider


@pytest.fixture
async def provider() -> AsyncIterator[FakeProvider]:
    async with running_provider() as running:
        yield running


def with_provider(provider: FakeProvider) -> Settings:
    return Settings(database_url="postgresql://unused/unused",
                    console_oidc_issuer=provider.issuer, console_oidc_client_id=CLIENT_ID,
                    console_oidc_client_secret=SecretStr(CLIENT_SECRET),
                    console_public_url="http://console")


@pytest.fixture
async def client(pg_pool: asyncpg.Pool, provider: FakeProvider,
                 ) -> AsyncIterator[httpx.AsyncClient]:
    app = console_app(with_provider(provider), pg_pool)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as http:
        yield http


async def through_provider(client: httpx.AsyncClient, next_page: str = "/matches",
                           ) -> httpx.Response:
    """The browser's round trip: to the provider, back to the console's callback."""
    start = await client.get(f"/oidc/start?next={next_page}")
    assert start.status_code == 303
    async with httpx.AsyncClient() as browser:
        back = await browser.get(start.headers["location"])
    assert back.status_code == 302
    callback = back.headers["location"]
    assert callback.startswith("http://console/oidc/callback?")
    return await client.get(callback.removeprefix("http://console"))


async def test_a_person_signs_in_through_the_provider_with_the_roles_it_gives(
    client: httpx.AsyncClient, provider: FakeProvider, pg_conn: asyncpg.Connection,
) -> None:
    """The sign-in page offers the provider; an editor there is an editor here, by name,
    and the account so made has no password."""
    assert 'id="sign-in-oidc"' in (await client.get("/login")).text
    provider.claims = {"preferred_username": "els", "roles": ["editor", "viewer"]}
    landed = await through_provider(client)
    assert landed.status_code == 200
    assert 'url=/matches"' in landed.text
    assert (await client.get("/matches")).status_code == 200
    assert (await client.get("/dead-letters")).status_code == 403
    assert await pg_conn.fetchval(
        "SELECT roles FROM console_user WHERE name = 'oidc:els'") == ["editor"]
    assert await check_password(pg_conn, "oidc:els", "!oidc") is None


async def test_a_person_without_a_console_role_is_refused(
    client: httpx.AsyncClient, provider: FakeProvider,
) -> None:
    """Known to the provider is not enough."""
    provider.claims = {"preferred_username": "visitor", "roles": ["viewer"]}
    refused = await through_provider(client)
    assert refused.status_code == 403
    assert "no console role" in refused.text
    assert (await client.get("/matches")).status_code == 303


async def test_an_id_token_for_another_client_is_refused(
    client: httpx.AsyncClient, provider: FakeProvider,
) -> None:
    """The audience must be this console."""
    provider.claims = {"preferred_username": "els", "roles": ["editor"]}
    provider.audience = "another-client"
    refused = await through_provider(client)
    assert refused.status_code == 403
    assert "not valid" in refused.text


async def test_a_callback_with_another_state_is_refused(
    client: httpx.AsyncClient, provider: FakeProvider,
) -> None:
    """A code sent to the console by someone else's sign-in opens nothing."""
    provider.claims = {"preferred_username": "els", "roles": ["editor"]}
    await client.get("/oidc/start")
    refused = await client.get("/oidc/callback?code=stolen&state=forged")
    assert refused.status_code == 403


async def test_the_console_closes_its_client_to_the_provider_when_it_stops(
    pg_pool: asyncpg.Pool, provider: FakeProvider,
) -> None:
    """No connection to the provider outlives the console."""
    guard = console_app(with_provider(provider), pg_pool)
    oidc = guard.app.state.web.oidc  # type: ignore[attr-defined]
    async with in_lifespan(guard):
        assert not oidc._http.is_closed
    assert oidc._http.is_closed
