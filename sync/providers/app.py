"""The provider pages as one ASGI app on the web layer, and its server.

Served on a port of their own (``provider_port``), under ``/provider``: a proxy can put them
beside the console on one host. Public: the sign-in page, the links from mails, language and
static files; everything else needs a provider session, and every change its CSRF token.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request, cookie_parser
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from sync.ops.publish import publish_with_own_producer
from sync.providers import pages, signin, signin_oidc
from sync.providers.context import PROVIDER_COOKIE, ProviderPages, ProviderWeb, Publish
from sync.providers.mail import MailSender, sender_from
from sync.providers.oidc import oidc_claims, oidc_config
from sync.providers.store import ProviderSession, valid_session
from sync.providers.tokens import Limits
from sync.settings import Settings
from sync.web import app as web
from sync.web.app import NavItem, templates_of
from sync.web.oidc import OidcClient
from sync.web.security import Guard, GuardOptions

__all__ = ["ProviderGuard", "provider_app", "provider_server"]

HERE = Path(__file__).parent
NAV = (NavItem("/provider/fiches", "My fiches"),)
PUBLIC = ("/static/", "/lang/", "/provider/link/", "/provider/oidc/")


class ProviderGuard(Guard):
    """The web layer's guard, with provider sessions instead of console accounts."""

    async def _session(self, scope: Scope) -> ProviderSession | None:
        token = cookie_parser(Headers(scope=scope).get("cookie", "")).get(PROVIDER_COOKIE)
        if not token:
            return None
        async with self.pool.acquire() as conn:
            return await valid_session(conn, token, self.options.idle, self.options.lifetime)


async def _home(request: Request) -> Response:
    return RedirectResponse("/provider/fiches", status_code=303)


def _routes() -> Sequence[Any]:
    return [
        Route("/", _home), Route("/provider", _home),
        Route("/provider/login", signin.ask_link, methods=["GET", "POST"]),
        Route("/provider/link/{token}", signin.follow_link, methods=["GET", "POST"]),
        Route("/provider/oidc/start", signin_oidc.oidc_start),
        Route("/provider/oidc/callback", signin_oidc.oidc_callback),
        Route("/provider/fiches", pages.fiches),
        Route("/provider/fiches/{fiche_id}", pages.fiche),
        Route("/provider/fiches/{fiche_id}", pages.save, methods=["POST"]),
        Route("/provider/fiches/{fiche_id}/verified", pages.confirm, methods=["POST"]),
        Route("/provider/fiches/{fiche_id}/applied", pages.applied),
        Route("/logout", pages.sign_out, methods=["POST"]),
        Route("/lang/{code}", web.choose_language),
        Mount("/static", StaticFiles(directory=web.HERE / "static"), name="static"),
    ]


def _public_url(settings: Settings) -> str:
    url = settings.provider_public_url or f"http://{settings.provider_host}:" \
                                          f"{settings.provider_port}"
    return url.rstrip("/")


def provider_app(settings: Settings, pool: asyncpg.Pool, *, publish: Publish | None = None,
                 sender: MailSender | None = None, oidc: OidcClient | None = None) -> Guard:
    """The provider pages on ``pool``; changes go out through ``publish`` (by default a
    producer of their own per change), mails through ``sender`` and OIDC sign-ins through
    ``oidc`` (both from the settings by default; no OIDC without an issuer)."""
    idle = timedelta(minutes=settings.provider_session_idle_minutes)
    lifetime = timedelta(hours=settings.provider_session_max_hours)
    site = ProviderWeb(pool=pool, templates=templates_of([HERE / "templates"]), nav=NAV,
                       home=lambda account: "/provider/fiches", idle=idle,
                       secure_cookies=settings.provider_secure_cookies,
                       title="Sociale Kaart: my fiche")

    async def own_producer(events: list[dict[str, Any]]) -> int:
        return await publish_with_own_producer(settings, events)

    public_url = _public_url(settings)
    config = oidc_config(settings, public_url)
    own_oidc = None if oidc or config is None else OidcClient(config)
    state = ProviderPages(
        web=site, sender=sender or sender_from(settings), publish=publish or own_producer,
        public_url=public_url, oidc=oidc or own_oidc,
        oidc_claims=oidc_claims(settings),
        link_ttl=timedelta(minutes=settings.provider_link_minutes),
        limits=Limits(timedelta(minutes=settings.provider_limit_window_minutes),
                      settings.provider_limit_per_identifier,
                      settings.provider_limit_per_address, settings.provider_limit_per_client),
        lifetime=lifetime)
    app = Starlette(routes=list(_routes()), lifespan=_closing(own_oidc))
    app.state.web, app.state.provider_pages = site, state
    web.refusing_errors(app)

    async def refuse(scope: Scope, status: int, reason: str) -> Response:
        return site.render(Request(scope), "refused.html",
                           {"reason": web.REFUSALS.get(reason, reason)}, status)

    options = GuardOptions(idle=idle, lifetime=lifetime, login_path="/provider/login",
                           public_prefixes=PUBLIC)
    return ProviderGuard(app, pool, options, refuse)


def _closing(oidc: OidcClient | None,
             ) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """A lifespan that closes the OIDC client these pages made, when they stop."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if oidc is not None:
                await oidc.aclose()

    return lifespan


def provider_server(settings: Settings, pool: asyncpg.Pool,
                    publish: Publish | None = None) -> uvicorn.Server:
    """A server for the provider pages on ``provider_host:provider_port``."""
    config = uvicorn.Config(provider_app(settings, pool, publish=publish),
                            host=settings.provider_host, port=settings.provider_port,
                            log_level="warning", lifespan="on", access_log=False,
                            server_header=False, proxy_headers=True,
                            forwarded_allow_ips=settings.provider_trusted_proxies)
    return uvicorn.Server(config)

