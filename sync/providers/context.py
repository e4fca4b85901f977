"""What the provider pages share: settings turned into limits and lifetimes, the mail sender,
how changes are published, and the signed-in provider."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sync.policy import Policy, default_policy
from sync.providers.i18n import translate
from sync.providers.mail import MailSender
from sync.providers.store import ProviderSession
from sync.providers.tokens import Limits
from sync.web.app import Web, language_of, session_of
from sync.web.oidc import OidcClient

__all__ = ["PROVIDER_COOKIE", "ProviderPages", "ProviderWeb", "Publish", "pages_of",
           "signed_in"]

#: Not the console's cookie: both may be open in one browser, on the same host.
PROVIDER_COOKIE = "sksync_provider_session"
#: Publishes source events (CloudEvents as dicts) on their topics; returns how many.
Publish = Callable[[list[dict[str, Any]]], Awaitable[int]]


class ProviderWeb(Web):
    """The web layer's frame, with the provider pages' own words added to its Dutch."""

    def render(self, request: Request, name: str, context: dict[str, Any] | None = None,
               status: int = 200) -> Response:
        """As :meth:`Web.render`, with ``t`` knowing the provider pages' words."""
        language = language_of(request)
        words = {"t": lambda text, **values: translate(text, language).format(**values)}
        return super().render(request, name, {**words, **(context or {})}, status)


@dataclass
class ProviderPages:
    """The provider pages' collaborators, put on the app's state at start."""

    web: ProviderWeb
    sender: MailSender
    publish: Publish
    public_url: str
    link_ttl: timedelta
    limits: Limits
    lifetime: timedelta
    oidc: OidcClient | None = None
    #: Which ID token claims carry numbers: claim name -> binding kind.
    oidc_claims: dict[str, str] = field(default_factory=dict)
    policy: Policy = field(default_factory=default_policy)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @property
    def link_ttl_minutes(self) -> int:
        return int(self.link_ttl.total_seconds() // 60)

    @property
    def limit_minutes(self) -> int:
        return int(self.limits.window.total_seconds() // 60)


def pages_of(request: Request) -> ProviderPages:
    """The provider pages' collaborators."""
    pages: ProviderPages = request.app.state.provider_pages
    return pages


def signed_in(request: Request) -> ProviderSession:
    """The signed-in provider (the guard lets no request without one reach a page)."""
    session = session_of(request)
    assert isinstance(session, ProviderSession)
    return session
