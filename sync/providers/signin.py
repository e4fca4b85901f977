"""Signing in by a one-time link: ask for it with a number, receive it by mail, use it once.

The answer to a request is the same whether or not the number is on a fiche with an e-mail
address; the mails leave after the answer, so its timing tells nothing either. A request is
refused openly only for a limit that does not depend on the number existing (per client,
per number); a limit per e-mail address just sends nothing.
"""

from __future__ import annotations

import secrets

import structlog
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sync.providers.binding import KINDS, Binding, BindingError, binding_of
from sync.providers.context import PROVIDER_COOKIE, ProviderPages, pages_of
from sync.providers.mail import Mail, MailSender
from sync.providers.store import (
    addresses_of,
    count_attempts,
    create_link,
    link_state,
    open_session,
    record_attempts,
    use_link,
)
from sync.providers.tokens import AttemptKind, attempt_key, link_status, new_token, over_limit
from sync.store.conflicts import Conn
from sync.web.security import LOGIN_CSRF_COOKIE

__all__ = ["ask_link", "follow_link", "render_login"]

log = structlog.get_logger(__name__)
SENT = ("If this number is on a fiche with an e-mail address, a sign-in link is on its way "
        "to that address. The link works once, within {minutes} minutes.")
LIMITED = "Too many sign-in links were asked for this number or from this network. " \
          "Try again in {minutes} minutes."
LINK_GONE = "This sign-in link has been used already or has expired. Ask for a new one."


def _login_csrf(request: Request) -> str:
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def render_login(request: Request, *, kind: str = "nihii", number: str = "",
                  error: str = "", message: str = "", status: int = 200) -> Response:
    pages = pages_of(request)
    token = _login_csrf(request)
    response = pages.web.render(request, "provider_login.html", {
        "login_csrf": token, "kind": kind, "number": number, "error": error,
        "message": message, "kinds": list(KINDS), "minutes": pages.link_ttl_minutes,
        "window": pages.limit_minutes, "oidc": pages.oidc is not None,
    }, status)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=pages.web.secure_cookies, path="/provider")
    return response


async def ask_link(request: Request) -> Response:
    """The sign-in page; sent, it mails a link to the addresses on the number's fiches."""
    if request.method != "POST":
        return render_login(request)
    pages = pages_of(request)
    form = await request.form()
    kind, number = str(form.get("kind", ""))[:20], str(form.get("number", ""))[:40]
    try:
        binding = binding_of(kind, number)
    except BindingError as error:
        return render_login(request, kind=kind, number=number, error=str(error), status=400)
    client = request.client.host if request.client else "?"
    keys: dict[AttemptKind, list[str]] = {
        "client": [attempt_key("client", client)],
        "identifier": [attempt_key("identifier", f"{binding.type}:{binding.value}")]}
    async with pages.web.pool.acquire() as conn, conn.transaction():
        if over_limit(await count_attempts(conn, keys, pages.limits.window), pages.limits):
            return render_login(request, kind=kind, number=number, status=429,
                                 error=LIMITED)
        addresses = await addresses_of(conn, binding)
        keys["address"] = [attempt_key("address", a) for a in addresses]
        sendable = [a for a in addresses if await _address_allowed(conn, pages, a)]
        await record_attempts(conn, keys)
        mails = [await _link_mail(conn, pages, binding, address) for address in sendable]
    response = render_login(request, message=SENT)
    response.background = BackgroundTask(_send_all, pages.sender, mails)
    return response


async def _address_allowed(conn: Conn, pages: ProviderPages, address: str) -> bool:
    counted = await count_attempts(conn, {"address": [attempt_key("address", address)]},
                                   pages.limits.window)
    return counted.get("address", 0) < pages.limits.per_address


async def _link_mail(conn: Conn, pages: ProviderPages, binding: Binding, address: str) -> Mail:
    token = new_token()
    await create_link(conn, binding, token, pages.link_ttl)
    url = f"{pages.public_url}/provider/link/{token}"
    return Mail(address, "Sign in to keep your fiche on the Sociale Kaart",
                f"Hello,\n\nSomebody (we hope you) asked to sign in to the Sociale Kaart to "
                f"check and correct the fiche of {binding.label}.\n\n{url}\n\nThe link works "
                f"once, within {pages.link_ttl_minutes} minutes. If you did not ask for it, "
                f"ignore this mail.\n\nDe Sociale Kaart\n")


async def _send_all(sender: MailSender, mails: list[Mail]) -> None:
    """Send each mail; a failure is logged (without the address) and the others still go."""
    for mail in mails:
        try:
            await sender.send(mail)
        except Exception as error:  # one unreachable server must not stop the others
            log.warning("sign-in mail not sent", error=type(error).__name__)


async def follow_link(request: Request) -> Response:
    """A link from a mail: shown, it asks to confirm (mail scanners that open links do not
    use them up); confirmed, it signs in once."""
    pages = pages_of(request)
    token = request.path_params["token"][:100]
    async with pages.web.pool.acquire() as conn:
        if request.method != "POST":
            status = link_status(await link_state(conn, token), pages.now())
            if status != "usable":
                return pages.web.render(request, "provider_link.html",
                                        {"gone": LINK_GONE}, 410)
            csrf = _login_csrf(request)
            response = pages.web.render(request, "provider_link.html", {
                "login_csrf": csrf, "token": token})
            response.set_cookie(LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict",
                                secure=pages.web.secure_cookies, path="/provider")
            return response
        binding = await use_link(conn, token)
        if binding is None:
            return pages.web.render(request, "provider_link.html", {"gone": LINK_GONE}, 410)
        session = await open_session(conn, binding, pages.web.idle)
    response = RedirectResponse("/provider/fiches", status_code=303)
    response.set_cookie(PROVIDER_COOKIE, session, httponly=True, samesite="strict",
                        secure=pages.web.secure_cookies, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/provider")
    return response
