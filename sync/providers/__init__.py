"""The provider pages: a provider signs in by a one-time link (or, later, OIDC) and keeps
their own fiche: corrections published as manual edits, and "my data is still correct".

Built on :mod:`sync.web` (guard, CSRF, headers, Dutch and English); docs/providers.md.
"""

from __future__ import annotations

__all__: list[str] = []
