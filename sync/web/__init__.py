"""The web layer shared by the service's browser-facing pages: accounts and roles, sessions
that expire, CSRF on every change, security headers, Dutch and English, and a base template.

The pages themselves live elsewhere (:mod:`sync.console` for operators and editors); they are
plain Starlette routes handed to :func:`sync.web.app.web_app`.
"""

from __future__ import annotations

__all__: list[str] = []
