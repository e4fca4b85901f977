"""The console: web pages for operators (lag, readiness, dead letters) and editors
(conflicts, match review, fiches), built on :mod:`sync.web`.

Every decision taken here goes through the same functions as the CLI (:mod:`sync.ops`): it is
published as an event and applied by the service like any other update.
"""

from __future__ import annotations

from sync.console.pages import CONSOLE_SOURCE, console_app

__all__ = ["CONSOLE_SOURCE", "console_app"]
