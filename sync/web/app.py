"""The web app around a set of pages: templates, sign-in and -out, language, refusals.

:func:`web_app` takes the pages' routes and returns an ASGI app behind the :class:`Guard`.
The console (:mod:`sync.console`) is one such set of pages; another can reuse all of this.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import Scope

from sync.web.accounts import Account
from sync.web.i18n import LANGUAGES, translate
from sync.web.oidc import OidcClient
from sync.web.security import Guard, GuardOptions
from sync.web.sessions import Session

__all__ = ["NavItem", "Web", "needs", "refusing_errors", "safe_next", "web_app"]

HERE = Path(__file__).parent
LANGUAGE_COOKIE = "sksync_lang"
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class NavItem:
    """A link in the header, shown to accounts holding ``role`` (None: to everybody)."""

    path: str
    label: str
    role: str | None = None


@dataclass
class Web:
    """What every page needs: the pool, the templates, the frame's links, cookie options."""

    pool: asyncpg.Pool
    templates: Jinja2Templates
    nav: Sequence[NavItem]
    home: Callable[[Account], str]
    idle: timedelta
    secure_cookies: bool = False
    title: str = "Sociale Kaart console"
    oidc: OidcClient | None = None
    #: The ID token claim that lists an OIDC sign-in's console roles.
    oidc_roles_claim: str = "roles"
    extra: dict[str, Any] = field(default_factory=dict)

    def render(self, request: Request, name: str, context: dict[str, Any] | None = None,
               status: int = 200) -> Response:
        """The template with the frame's context: language, account, CSRF token, links."""
        return self.templates.TemplateResponse(request, name, {
            **frame_context(request, self), **(context or {})}, status_code=status)


def language_of(request: Request) -> str:
    """The language cookie's, else Dutch."""
    chosen = request.cookies.get(LANGUAGE_COOKIE, "nl")
    return chosen if chosen in LANGUAGES else "nl"


def session_of(request: Request) -> Session | None:
    """The session the guard found (None on public pages)."""
    found: Session | None = request.scope.get("state", {}).get("session")
    return found


def frame_context(request: Request, web: Web) -> dict[str, Any]:
    language, session = language_of(request), session_of(request)
    account = session.account if session else None
    return {
        "lang": language, "t": lambda text, **values: translate(text, language).format(**values),
        "account": account, "csrf": session.csrf_token if session else "",
        "nav": [item for item in web.nav if account and (item.role is None
                                                         or account.may(item.role))],
        "title": web.title, "here": request.url.path, "oidc": web.oidc is not None,
        "here_full": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def needs(role: str) -> Callable[[Endpoint], Endpoint]:
    """Only accounts with ``role`` reach the endpoint; others get a 403 page."""
    def wrap(endpoint: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            session = session_of(request)
            if session is None or not session.account.may(role):
                return refusal(request, 403, "role")
            return await endpoint(request)
        guarded.__name__ = endpoint.__name__
        guarded.__doc__ = endpoint.__doc__
        return guarded
    return wrap


REFUSALS = {
    "role": "This page is for another role.",
    "csrf": "The form was not sent from this console (its security token is missing or "
            "wrong). Reload the page and try again.",
    "too-large": "The request is too large.",
    "not-found": "Not found",
    "database": "The database did not answer in time. Try again in a moment.",
}


def refusal(request: Request, status: int, reason: str) -> Response:
    """A page saying why the request was refused (the reason's words, translated)."""
    return web_of(request).render(request, "refused.html",
                                  {"reason": REFUSALS.get(reason, reason)}, status)


def refusing_errors(app: Starlette) -> None:
    """A page not found, and a database that did not answer within the pool's bound
    (``SKSYNC_DATABASE_COMMAND_TIMEOUT_S``), answered with a page saying so, not a bare 500."""
    app.add_exception_handler(404, lambda request, exc: refusal(request, 404, "not-found"))
    app.add_exception_handler(TimeoutError, lambda request, exc: refusal(request, 503, "database"))


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go on to (never another site: ``//host`` or a scheme)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


async def choose_language(request: Request) -> Response:
    code = request.path_params["code"]
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, code, samesite="lax", max_age=365 * 86400,
                            path="/")
    return response


async def home(request: Request) -> Response:
    session = session_of(request)
    assert session is not None  # the guard lets no request without one through here
    return RedirectResponse(web_of(request).home(session.account), status_code=303)


def templates_of(folders: Sequence[Path],
                 filters: dict[str, Callable[..., Any]] | None = None) -> Jinja2Templates:
    """Templates from ``folders`` (the pages') and this layer's own (``base.html`` ...), with
    the pages' own ``filters``."""
    env = Environment(loader=FileSystemLoader([*folders, HERE / "templates"]),
                      autoescape=select_autoescape(default=True), auto_reload=False)
    env.filters.update(filters or {})
    return Jinja2Templates(env=env)


def web_app(
    web: Web, routes: Sequence[BaseRoute], lifetime: timedelta,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
    state: dict[str, Any] | None = None,
) -> Guard:
    """The pages behind the guard, with sign-in, sign-out, language and static files;
    ``state`` is put on the app's state for the pages (``request.app.state``)."""
    # The sign-in pages build on this module (web_of, refusal): imported here, not above.
    from sync.web.signin import login_page, logout, oidc_callback, oidc_start

    app = Starlette(routes=[
        Route("/", home), Route("/login", login_page, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]), Route("/lang/{code}", choose_language),
        Route("/oidc/start", oidc_start), Route("/oidc/callback", oidc_callback),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"), *routes,
    ], lifespan=lifespan)
    app.state.web = web
    for name, value in (state or {}).items():
        setattr(app.state, name, value)

    async def refuse(scope: Scope, status: int, reason: str) -> Response:
        # Called by the guard, before the app has put itself in the scope.
        return web.render(Request(scope), "refused.html",
                          {"reason": REFUSALS.get(reason, reason)}, status)

    refusing_errors(app)
    return Guard(app, web.pool, GuardOptions(idle=web.idle, lifetime=lifetime), refuse)
