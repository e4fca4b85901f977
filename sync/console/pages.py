"""The console as one ASGI app: the operators' and editors' pages on the shared web layer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
from starlette.applications import Starlette

from sync.console import editors, operators
from sync.console.context import Console
from sync.console.editors import CONSOLE_SOURCE
from sync.console.live import Readiness, Sampler
from sync.console.readable import readable
from sync.settings import Settings
from sync.web.accounts import Account
from sync.web.app import NavItem, Web, templates_of, web_app
from sync.web.oidc import OidcClient, OidcConfig
from sync.web.security import Guard

__all__ = ["CONSOLE_SOURCE", "console_app"]

NAV = (NavItem("/ops", "Operations", "operator"),
       NavItem("/dead-letters", "Dead letters", "operator"),
       NavItem("/conflicts", "Conflicts", "editor"), NavItem("/matches", "Matches", "editor"),
       NavItem("/fiches", "Fiches"))


def _home(account: Account) -> str:
    """Where an account lands after signing in: its main queue."""
    return "/conflicts" if account.may("editor") else "/ops"


def _oidc(settings: Settings) -> OidcClient | None:
    """The OIDC client when a provider is configured (issuer, client id and secret)."""
    issuer, client, secret = (settings.console_oidc_issuer, settings.console_oidc_client_id,
                              settings.console_oidc_client_secret)
    if not (issuer and client and secret):
        return None
    public = (settings.console_public_url
              or f"http://{settings.console_host}:{settings.console_port}").rstrip("/")
    return OidcClient(OidcConfig(
        issuer=issuer, client_id=client, client_secret=secret.get_secret_value(),
        redirect_url=f"{public}/oidc/callback", scope="openid profile"))


def console_app(settings: Settings, pool: asyncpg.Pool,
                readiness: Readiness | None = None) -> Guard:
    """The console on ``pool``; ``readiness`` is the service's own check when it runs in the
    same process (else the console checks the database and migrations itself)."""
    templates = templates_of([Path(__file__).parent / "templates"], {"readable": readable})
    web = Web(pool=pool, templates=templates,
              nav=NAV, home=_home, idle=timedelta(minutes=settings.console_session_idle_minutes),
              secure_cookies=settings.console_secure_cookies, oidc=_oidc(settings),
              oidc_roles_claim=settings.console_oidc_roles_claim)
    sampler = Sampler(settings, pool, readiness, settings.console_sample_interval_s)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(sampler.run(), name="console-sampler")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if web.oidc is not None:
                await web.oidc.aclose()

    return web_app(web, [*operators.routes, *editors.routes],
                   lifetime=timedelta(hours=settings.console_session_max_hours),
                   lifespan=lifespan, state={"console": Console(settings, web, sampler)})
