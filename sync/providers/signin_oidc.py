"""Signing in by OpenID Connect (when configured): leave for the identity provider, come back
with a code, open a session bound to the number the ID token carries."""

from __future__ import annotations

import structlog
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sync.providers.context import PROVIDER_COOKIE, pages_of
from sync.providers.oidc import binding_from_claims
from sync.providers.store import open_session
from sync.web.app import refusal
from sync.web.oidc import OidcError, Pending

__all__ = ["OIDC_COOKIE", "oidc_callback", "oidc_start"]

log = structlog.get_logger(__name__)
OIDC_COOKIE = "sksync_provider_oidc"
PATH = "/provider/oidc"
FAILED = "Signing in with your digital key did not succeed. Try again, or ask for a link."
NO_NUMBER = "Your digital key did not give a NIHII, enterprise or establishment number."


async def oidc_start(request: Request) -> Response:
    """Off to the identity provider, with this sign-in's state, nonce and PKCE verifier."""
    pages = pages_of(request)
    if pages.oidc is None:
        return refusal(request, 404, "not-found")
    pending = Pending.new()
    try:
        target = await pages.oidc.authorize_url(pending)
    except (OidcError, OSError) as error:
        log.warning("oidc sign-in not started", error=str(error)[:200])
        return _failed(request, FAILED)
    response = RedirectResponse(target, status_code=303)
    # Lax, not strict: the browser comes back from the identity provider's site.
    response.set_cookie(OIDC_COOKIE, pending.encode(), max_age=600, httponly=True,
                        samesite="lax", secure=pages.web.secure_cookies, path=PATH)
    return response


async def oidc_callback(request: Request) -> Response:
    """Back from the identity provider: check, exchange, bind, open a session."""
    pages = pages_of(request)
    pending = Pending.decode(request.cookies.get(OIDC_COOKIE, ""))
    code, state = request.query_params.get("code"), request.query_params.get("state")
    if pages.oidc is None or pending is None or not code or state != pending.state:
        return _failed(request, FAILED)
    try:
        claims = await pages.oidc.claims(code, pending)
    except (OidcError, OSError, ValueError) as error:
        log.warning("oidc sign-in refused", error=str(error)[:200])
        return _failed(request, FAILED)
    binding = binding_from_claims(claims, pages.oidc_claims)
    if binding is None:
        return _failed(request, NO_NUMBER)
    async with pages.web.pool.acquire() as conn:
        session = await open_session(conn, binding, pages.web.idle)
    # A page, not a redirect: a strict cookie set at the end of a navigation that began on
    # another site is not sent on a redirect of that same navigation.
    response = pages.web.render(request, "provider_signed_in.html", {})
    response.set_cookie(PROVIDER_COOKIE, session, httponly=True, samesite="strict",
                        secure=pages.web.secure_cookies, path="/")
    response.delete_cookie(OIDC_COOKIE, path=PATH)
    return response


def _failed(request: Request, message: str) -> Response:
    from sync.providers.signin import render_login

    response = render_login(request, error=message, status=401)
    response.delete_cookie(OIDC_COOKIE, path=PATH)
    return response
