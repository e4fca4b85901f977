"""The service's own exceptions. Adapters translate driver errors into these."""

from __future__ import annotations

__all__ = ["DecisionRefused", "PermanentError", "TransientError"]


class PermanentError(Exception):
    """Input that will never succeed: it goes to the dead-letter topic with ``reason``.

    ``reason`` is a short code (``undecodable``, ``unknown-profession``, ...); ``detail`` a
    sentence for a person. Neither may contain protected data such as an SSIN.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class TransientError(Exception):
    """A failure that may pass (database or broker unreachable, serialization failure).

    Retried with backoff, never dead-lettered.
    """


class DecisionRefused(ValueError):
    """An editor's decision that cannot be taken as asked (no such conflict, not open any
    more, ...): the sentence says why, for the person who asked; nothing was published."""
