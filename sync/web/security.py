"""The guard in front of every page: security headers, sign-in, and CSRF on every change.

A pure ASGI middleware, so that no route can forget it: every path but the sign-in page and
the static files needs a valid session, and every request that is not GET or HEAD must echo
the session's CSRF token (a form field ``csrf`` or the header ``X-CSRF-Token``). The sign-in
form, before any session, is protected by a double-submit cookie instead.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, quote

import asyncpg
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync.web.sessions import Session, valid_session

__all__ = ["LOGIN_CSRF_COOKIE", "SECURITY_HEADERS", "SESSION_COOKIE", "Guard", "GuardOptions"]

Refusal = Callable[[Scope, int, str], Awaitable[Response]]

SESSION_COOKIE = "sksync_session"
LOGIN_CSRF_COOKIE = "sksync_login_csrf"
MAX_FORM_BYTES = 256 * 1024  # forms hold ids and a comment; more is not ours
SAFE_METHODS = ("GET", "HEAD")
#: Scripts, styles and images from this origin only (htmx is served from /static); no frames.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cache-control": "no-store",
}


@dataclass(frozen=True)
class GuardOptions:
    """What the guard needs to know: where sign-in is, what is public, session lengths."""

    idle: timedelta
    lifetime: timedelta
    login_path: str = "/login"
    public_prefixes: tuple[str, ...] = ("/static/", "/lang/", "/oidc/")


class Guard:
    """Wraps the page app; ``refuse(scope, status, reason)`` renders a refusal page."""

    def __init__(self, app: ASGIApp, pool: asyncpg.Pool, options: GuardOptions,
                 refuse: Refusal) -> None:
        self.app, self.pool, self.options, self.refuse = app, pool, options, refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_security_headers(send)
        path, method = scope["path"], scope["method"]
        if path == self.options.login_path or path.startswith(self.options.public_prefixes):
            if method not in SAFE_METHODS:
                checked = await self._checked(scope, receive, send, _login_token(scope))
                if checked is None:
                    return
                receive = checked
            await self.app(scope, receive, send)
            return
        try:
            session = await self._session(scope)
        except TimeoutError:  # the pool's bound ran out: the database did not answer
            await (await self.refuse(scope, 503, "database"))(scope, receive, send)
            return
        if session is None:
            await self._to_login(scope, receive, send)
            return
        scope.setdefault("state", {})["session"] = session
        if method not in SAFE_METHODS:
            checked = await self._checked(scope, receive, send, session.csrf_token)
            if checked is None:
                return
            receive = checked
        await self.app(scope, receive, send)

    async def _session(self, scope: Scope) -> Session | None:
        token = _cookies(scope).get(SESSION_COOKIE)
        if not token:
            return None
        async with self.pool.acquire() as conn:
            return await valid_session(conn, token, self.options.idle, self.options.lifetime)

    async def _to_login(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A page goes to sign-in and comes back after; htmx is told to do the same."""
        target = scope["path"] + (f"?{scope['query_string'].decode()}"
                                  if scope.get("query_string") else "")
        location = f"{self.options.login_path}?next={quote(target, safe='')}"
        if Headers(scope=scope).get("hx-request"):
            response: Response = Response(status_code=204, headers={"HX-Redirect": location})
        else:
            response = RedirectResponse(location, status_code=303)
        await response(scope, receive, send)

    async def _checked(self, scope: Scope, receive: Receive, send: Send,
                       expected: str | None) -> Receive | None:
        """The body, read once and handed on, when it carries ``expected``; else a 403."""
        body = await _read_body(receive)
        if body is None:
            await (await self.refuse(scope, 413, "too-large"))(scope, receive, send)
            return None
        given = Headers(scope=scope).get("x-csrf-token") or _form_field(scope, body, "csrf")
        if not expected or not given or not hmac.compare_digest(given, expected):
            await (await self.refuse(scope, 403, "csrf"))(scope, receive, send)
            return None
        return _replay(body)


def _with_security_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in SECURITY_HEADERS.items():
                if name not in headers:
                    headers[name] = value
        await send(message)
    return wrapped


def _cookies(scope: Scope) -> dict[str, str]:
    return cookie_parser(Headers(scope=scope).get("cookie", ""))


def _login_token(scope: Scope) -> str | None:
    return _cookies(scope).get(LOGIN_CSRF_COOKIE)


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None past :data:`MAX_FORM_BYTES`."""
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _form_field(scope: Scope, body: bytes, name: str) -> str | None:
    """A field of a URL-encoded form (the only kind these pages send)."""
    if not Headers(scope=scope).get("content-type", "").startswith(
            "application/x-www-form-urlencoded"):
        return None
    values = parse_qs(body.decode("utf-8", "replace")).get(name)
    return values[0] if values else None


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}
    return receive
