"""The web app around a set of pages: templates, sign-in and -out, language, refusals.

:func:`web_app` takes the pages' routes and returns an ASGI app behind the :class:`Guard`.
The console (:mod:`sync.console`) is one such set of pages; another can reuse all of this.
"""

from __future__ import annotations

import html
import secrets
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
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import Scope

from sync.web.accounts import Account, check_password
from sync.web.audit import audit, recent_refusals
from sync.web.i18n import LANGUAGES, translate
from sync.web.oidc import OidcError, OidcProvider, Pending, oidc_account
from sync.web.security import LOGIN_CSRF_COOKIE, SESSION_COOKIE, Guard, GuardOptions
from sync.web.sessions import Session, end_session, open_session

__all__ = ["NavItem", "Web", "needs", "safe_next", "web_app"]

HERE = Path(__file__).parent
LANGUAGE_COOKIE = "sksync_lang"
#: Failed sign-ins for one name after which it is refused for a while (each refusal is an
#: audit row, so this holds across instances of the console).
THROTTLE_TRIES, THROTTLE_MINUTES = 10, 15
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
    oidc: OidcProvider | None = None
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
}


def refusal(request: Request, status: int, reason: str) -> Response:
    """A page saying why the request was refused (the reason's words, translated)."""
    return web_of(request).render(request, "refused.html",
                                  {"reason": REFUSALS.get(reason, reason)}, status)


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go on to (never another site: ``//host`` or a scheme)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


async def login_page(request: Request) -> Response:
    web = web_of(request)
    error = None
    if request.method == "POST":
        form = await request.form()
        name, password = str(form.get("name", ""))[:100], str(form.get("password", ""))[:200]
        async with web.pool.acquire() as conn:
            if await recent_refusals(conn, f"user:{name}", THROTTLE_MINUTES) >= THROTTLE_TRIES:
                account, error = None, "Too many failed attempts; try again in 15 minutes."
            else:
                account = await check_password(conn, name, password)
            if account is None:
                await audit(conn, name or "?", "sign-in-refused", f"user:{name}", "/login")
        if account is not None:
            response = await _signed_in(web, account, safe_next(str(form.get("next", "")),
                                                                web.home(account)), "/login")
            response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
            return response
        error = error or "Wrong name or password."
    # Kept while the cookie lives: another tab, or a request the browser makes by itself,
    # passing through sign-in must not invalidate the form already shown.
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = web.render(request, "login.html", {
        "login_csrf": token, "error": error, "next": safe_next(request.query_params.get(
            "next") or (str((await request.form()).get("next", "")) if error else ""), ""),
    }, 401 if error else 200)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=web.secure_cookies, path="/login")
    return response


OIDC_COOKIE = "sksync_oidc"


async def _signed_in(web: Web, account: Account, target: str, how: str) -> Response:
    async with web.pool.acquire() as conn:
        token = await open_session(conn, account, web.idle)
        await audit(conn, account.name, "sign-in", f"user:{account.name}", how)
    response: Response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                        secure=web.secure_cookies, path="/")
    return response


async def oidc_start(request: Request) -> Response:
    """Off to the provider; what to check on return is kept in a short-lived cookie."""
    web = web_of(request)
    if web.oidc is None:
        return refusal(request, 404, "not-found")
    target, pending = await web.oidc.start(safe_next(request.query_params.get("next"), ""))
    response = RedirectResponse(target, status_code=303)
    # Lax: the cookie must come along when the provider sends the browser back.
    response.set_cookie(OIDC_COOKIE, pending.encode(), httponly=True, samesite="lax",
                        secure=web.secure_cookies, path="/oidc", max_age=600)
    return response


async def oidc_callback(request: Request) -> Response:
    """Back from the provider: check the state, the code and the ID token, open a session."""
    web = web_of(request)
    pending = Pending.decode(request.cookies.get(OIDC_COOKIE, ""))
    state, code = request.query_params.get("state", ""), request.query_params.get("code", "")
    if web.oidc is None or pending is None or not code or not secrets.compare_digest(
            state, pending.state):
        return refusal(request, 403, "csrf")
    try:
        claims = await web.oidc.finish(code, pending)
        async with web.pool.acquire() as conn:
            account = await oidc_account(conn, claims, web.oidc.config)
    except OidcError as error:
        return refusal(request, 403, str(error))
    signed_in = await _signed_in(web, account, safe_next(pending.next, web.home(account)),
                                 "/oidc/callback")
    # The session cookie is SameSite=Strict: a redirect chain that began at the provider
    # would not carry it, so the last step is a navigation from this site itself.
    target = html.escape(signed_in.headers["location"])
    page = HTMLResponse(f'<!doctype html><meta http-equiv="refresh" content="0;url={target}">'
                        f'<a href="{target}">{target}</a>')
    page.raw_headers += [h for h in signed_in.raw_headers if h[0] == b"set-cookie"]
    page.delete_cookie(OIDC_COOKIE, path="/oidc")
    return page


async def logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        async with web_of(request).pool.acquire() as conn:
            await end_session(conn, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


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

    app.add_exception_handler(404, lambda request, exc: refusal(request, 404, "not-found"))
    return Guard(app, web.pool, GuardOptions(idle=web.idle, lifetime=lifetime), refuse)
