"""Source payloads to canonical updates: one pure module per source, dispatched on event type.

Which event types there are, and which mapper and topic each has, is declared once per source
in :mod:`sync.sources`.
"""

from __future__ import annotations

from sync import sources
from sync.cloudevents import CloudEvent, redact
from sync.errors import PermanentError
from sync.events import FicheUpdate
from sync.mapping.common import MappingContext, with_e164_phones

__all__ = ["MappingContext", "map_event", "mapper_for", "topic_key_for"]


def topic_key_for(event_type: str) -> str | None:
    """The source topic (a key of :class:`sync.settings.Topics`) an event of ``event_type``
    belongs on, if any."""
    spec = sources.spec_of_type(event_type)
    return None if spec is None else spec.topic_key


def mapper_for(event_type: str) -> sources.Mapper:
    """The mapper of ``event_type``; an unknown type is a permanent error."""
    mapper = sources.mapper_of(event_type)
    if mapper is None:
        raise PermanentError("unknown-type", f"no mapping for event type {event_type[:80]!r}")
    return mapper


def map_event(event: CloudEvent, context: MappingContext) -> list[FicheUpdate]:
    """The canonical updates one source event stands for (usually exactly one).

    A refusal's detail may echo a value of the event: SSIN-shaped numbers are masked in it.
    Phone numbers leave in E.164 whatever the source (:func:`with_e164_phones`).
    """
    try:
        return [with_e164_phones(mapper_for(event.type)(event, context))]
    except PermanentError as error:
        raise PermanentError(error.reason, redact(error.detail)) from None
