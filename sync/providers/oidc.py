"""Signing in to the provider pages by OpenID Connect, when configured.

The protocol (discovery, PKCE, state and nonce, the ID token's checks) is the shared client's
(:mod:`sync.web.oidc`); here is what is the provider pages' own: their registration with the
identity provider, and the binding of the session to the number a configured claim holds:
the same binding as a mailed link, so the same fiches open.
"""

from __future__ import annotations

from typing import Any

from sync.providers.binding import Binding, BindingError, binding_of
from sync.settings import Settings
from sync.web.oidc import OidcConfig

__all__ = ["binding_from_claims", "oidc_claims", "oidc_config"]


def oidc_config(settings: Settings, public_url: str) -> OidcConfig | None:
    """The OIDC configuration, or None when no issuer is set."""
    if not settings.provider_oidc_issuer or not settings.provider_oidc_client_id:
        return None
    secret = settings.provider_oidc_client_secret
    return OidcConfig(settings.provider_oidc_issuer.rstrip("/"),
                      settings.provider_oidc_client_id,
                      secret.get_secret_value() if secret else None,
                      f"{public_url}/provider/oidc/callback", settings.provider_oidc_scope,
                      secret_in_form=True)


def oidc_claims(settings: Settings) -> dict[str, str]:
    """Which ID token claims carry numbers: claim name -> binding kind (nihii, cbe,
    establishment), from ``claim=kind`` pairs, in order."""
    pairs = [part.split("=", 1) for part in settings.provider_oidc_claims.split(",")
             if "=" in part]
    return {claim.strip(): kind.strip() for claim, kind in pairs}


def binding_from_claims(claims: dict[str, Any], wanted: dict[str, str]) -> Binding | None:
    """The binding of the first configured claim that holds a valid number. Pure."""
    for claim, kind in wanted.items():
        value = claims.get(claim)
        if isinstance(value, str) and value:
            try:
                return binding_of(kind, value)
            except BindingError:
                continue
    return None
