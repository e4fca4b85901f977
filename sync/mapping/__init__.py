"""Source payloads to canonical updates: one pure module per source, dispatched on event type."""

from __future__ import annotations

from collections.abc import Callable

from sync.cloudevents import CloudEvent, redact, with_masked_id
from sync.errors import PermanentError
from sync.events import FicheUpdate
from sync.mapping import association, cobrha_organisation, cobrha_professional, kbo, manual, matches
from sync.mapping.common import MappingContext, with_e164_phones

__all__ = ["MappingContext", "map_event", "mapper_for", "topic_key_for"]

#: Which source topic (a key of :class:`sync.settings.Topics`) carries each event type.
_TOPIC_BY_PREFIX = {
    "be.ehealth.cobrha.professional.": "cobrha_professional",
    "be.ehealth.cobrha.organisation.": "cobrha_organisation",
    "be.fgov.economie.kbo.entity.": "kbo_entity",
    "be.association.member.": "association_member",
    "be.socialekaart.": "manual_edit",
}


def topic_key_for(event_type: str) -> str | None:
    """The source topic an event of ``event_type`` belongs on, if any."""
    return next((key for prefix, key in _TOPIC_BY_PREFIX.items()
                 if event_type.startswith(prefix)), None)

Mapper = Callable[[CloudEvent, MappingContext], FicheUpdate]

_BY_TYPE: dict[str, Mapper] = {
    cobrha_professional.TYPE_UPSERTED: cobrha_professional.map_cobrha_professional,
    cobrha_professional.TYPE_REMOVED: cobrha_professional.map_cobrha_professional,
    cobrha_organisation.TYPE_UPSERTED: cobrha_organisation.map_cobrha_organisation,
    cobrha_organisation.TYPE_REMOVED: cobrha_organisation.map_cobrha_organisation,
    kbo.TYPE_UPSERTED: kbo.map_kbo_entity,
    kbo.TYPE_REMOVED: kbo.map_kbo_entity,
    association.TYPE_UPSERTED: association.map_association_member,
    association.TYPE_REMOVED: association.map_association_member,
    manual.TYPE_EDITED: manual.map_manual,
    manual.TYPE_CREATED: manual.map_manual,
    manual.TYPE_RESOLVED: manual.map_manual,
    manual.TYPE_VERIFIED: manual.map_manual,
    matches.TYPE_ACCEPTED: matches.map_match_event,
    matches.TYPE_REJECTED: matches.map_match_event,
    matches.TYPE_SPLIT: matches.map_match_event,
}


def mapper_for(event_type: str) -> Mapper:
    """The mapper of ``event_type``; an unknown type is a permanent error."""
    mapper = _BY_TYPE.get(event_type)
    if mapper is None:
        raise PermanentError("unknown-type", f"no mapping for event type {event_type[:80]!r}")
    return mapper


def map_event(event: CloudEvent, context: MappingContext) -> list[FicheUpdate]:
    """The canonical updates one source event stands for (usually exactly one).

    A refusal's detail may echo a value of the event: SSIN-shaped numbers are masked in it.
    So are they in the event's id, which the updates carry on (:func:`with_masked_id`).
    Phone numbers leave in E.164 whatever the source (:func:`with_e164_phones`).
    """
    event = with_masked_id(event, context.ssin_secret)  # before anything copies or derives it
    try:
        return [with_e164_phones(mapper_for(event.type)(event, context))]
    except PermanentError as error:
        raise PermanentError(error.reason, redact(error.detail)) from None
