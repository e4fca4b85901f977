"""Signing in and out: a local account's password, or an OpenID Connect provider's word.

Both end the same way: a session (:mod:`sync.web.sessions`) and an audit row. Ten refused
sign-ins for one name within 15 minutes refuse that name for the rest of the quarter hour.
"""

from __future__ import annotations

import html
import secrets

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from sync.web.accounts import Account, check_password
from sync.web.app import Web, refusal, safe_next, web_of
from sync.web.audit import audit, recent_refusals
from sync.web.oidc import OidcError, Pending
from sync.web.oidc_accounts import oidc_account
from sync.web.security import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from sync.web.sessions import end_session, open_session

__all__ = ["login_page", "logout", "oidc_callback", "oidc_start"]

#: Failed sign-ins for one name after which it is refused for a while (each refusal is an
#: audit row, so this holds across instances of the console).
THROTTLE_TRIES, THROTTLE_MINUTES = 10, 15


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
    pending = Pending.new(safe_next(request.query_params.get("next"), ""))
    target = await web.oidc.authorize_url(pending)
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
        claims = await web.oidc.claims(code, pending)
        async with web.pool.acquire() as conn:
            account = await oidc_account(conn, claims, web.oidc_roles_claim)
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
