"""The sources, one entry each: the one place a source is declared.

A :class:`SourceSpec` says everything the service needs to know about one source topic: the
:class:`~sync.events.Source` its updates carry, its topic (settings key and default name), the
event types it carries and the pure mapper of each, whether the source is authentic (its values
verify a fiche and its registrations decide whether a fiche is active) and whether its records
may be matched to fiches made by hand. :class:`~sync.events.Source`, the topics of
:class:`~sync.settings.Topics`, the mapping dispatch (:mod:`sync.mapping`), the merge and the
matching all read it from here. Which fields a source may set, and where it ranks, stays in the
survivorship policy (``sync/policy.json``): a source the policy does not name sets no field.

Adding a source is one :func:`register` call (or one entry in :data:`BUILT_IN`) with its mapper.
The dispatch of an event to its mapper (:func:`map_event`) is here too, above the mapping
modules it dispatches to, so that imports go one way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sync.cloudevents import CloudEvent, redact, with_masked_id
from sync.errors import PermanentError
from sync.events import FicheUpdate, Source, add_source
from sync.mapping import association, cobrha_organisation, cobrha_professional, kbo, manual, matches
from sync.mapping.common import MappingContext, with_e164_phones

__all__ = [
    "BUILT_IN",
    "Mapper",
    "SourceSpec",
    "is_authentic",
    "is_matchable_source",
    "map_event",
    "map_masked",
    "mapper_for",
    "mapper_of",
    "register",
    "spec_of_type",
    "specs",
    "topic_key_for",
    "unregister",
]

Mapper = Callable[[CloudEvent, MappingContext], FicheUpdate]


@dataclass(frozen=True)
class SourceSpec:
    """One source topic. ``type_prefix`` routes an event to this topic (``sksync publish``);
    ``mappers`` maps each event type it carries to its mapper."""

    source: str
    topic_key: str
    default_topic: str
    type_prefix: str
    mappers: Mapping[str, Mapper]
    authentic: bool = False
    matchable: bool = True


BUILT_IN: tuple[SourceSpec, ...] = (
    SourceSpec("cobrha", "cobrha_professional", "sk.src.cobrha.professional",
               "be.ehealth.cobrha.professional.",
               dict.fromkeys((cobrha_professional.TYPE_UPSERTED, cobrha_professional.TYPE_REMOVED),
                             cobrha_professional.map_cobrha_professional),
               authentic=True),
    SourceSpec("cobrha", "cobrha_organisation", "sk.src.cobrha.organisation",
               "be.ehealth.cobrha.organisation.",
               dict.fromkeys((cobrha_organisation.TYPE_UPSERTED, cobrha_organisation.TYPE_REMOVED),
                             cobrha_organisation.map_cobrha_organisation),
               authentic=True),
    SourceSpec("kbo", "kbo_entity", "sk.src.kbo.entity", "be.fgov.economie.kbo.entity.",
               dict.fromkeys((kbo.TYPE_UPSERTED, kbo.TYPE_REMOVED), kbo.map_kbo_entity),
               authentic=True),
    SourceSpec("association", "association_member", "sk.src.association.member",
               "be.association.member.",
               dict.fromkeys((association.TYPE_UPSERTED, association.TYPE_REMOVED),
                             association.map_association_member)),
    # The directory's own edits and editors' decisions: never matched, never authentic.
    SourceSpec("manual", "manual_edit", "sk.src.manual.edit", "be.socialekaart.",
               {**dict.fromkeys((manual.TYPE_EDITED, manual.TYPE_CREATED, manual.TYPE_RESOLVED,
                                 manual.TYPE_VERIFIED),
                                manual.map_manual),
                **dict.fromkeys((matches.TYPE_ACCEPTED, matches.TYPE_REJECTED, matches.TYPE_SPLIT),
                                matches.map_match_event)},
               matchable=False),
)

_specs: list[SourceSpec] = []
_by_type: dict[str, SourceSpec] = {}
#: The sources with a topic that is authentic / whose records may be matched, kept with the
#: registrations: the merge and the store ask for every value of every update.
_authentic: set[str] = set()
_matchable: set[str] = set()


def _index() -> None:
    _authentic.clear()
    _authentic.update(s.source for s in _specs if s.authentic)
    _matchable.clear()
    _matchable.update(s.source for s in _specs if s.matchable)


def register(spec: SourceSpec) -> Source:
    """Add a source topic; its :class:`~sync.events.Source` (made if it is new)."""
    if any(s.topic_key == spec.topic_key for s in _specs):
        raise ValueError(f"topic key {spec.topic_key!r} is registered twice")
    taken = set(spec.mappers) & set(_by_type)
    if taken:
        raise ValueError(f"event types registered twice: {sorted(taken)}")
    _specs.append(spec)
    _by_type.update(dict.fromkeys(spec.mappers, spec))
    _index()
    return add_source(spec.source)


def unregister(topic_key: str) -> None:
    """Remove a source topic (its :class:`~sync.events.Source` value stays known)."""
    for spec in [s for s in _specs if s.topic_key == topic_key]:
        _specs.remove(spec)
        for event_type in spec.mappers:
            _by_type.pop(event_type, None)
    _index()


def specs() -> tuple[SourceSpec, ...]:
    """Every registered source topic, in registration order."""
    return tuple(_specs)


def spec_of_type(event_type: str) -> SourceSpec | None:
    """The source topic an event type belongs on: its mapper's, else the longest matching
    ``type_prefix``."""
    found = _by_type.get(event_type)
    if found is not None:
        return found
    prefixed = [s for s in _specs if event_type.startswith(s.type_prefix)]
    return max(prefixed, key=lambda s: len(s.type_prefix), default=None)


def mapper_of(event_type: str) -> Mapper | None:
    """The mapper of ``event_type``, if a source carries it."""
    spec = _by_type.get(event_type)
    return None if spec is None else spec.mappers[event_type]


def is_authentic(source: Source) -> bool:
    """Whether ``source`` is an authentic source (verifies fiches, decides their status): one
    of its topics is."""
    return source in _authentic  # a Source is its value, a str


def is_matchable_source(source: Source) -> bool:
    """Whether records of ``source`` may be matched to fiches made by hand: those of one of
    its topics may."""
    return source in _matchable


def topic_key_for(event_type: str) -> str | None:
    """The source topic (a key of :class:`sync.settings.Topics`) an event of ``event_type``
    belongs on, if any."""
    spec = spec_of_type(event_type)
    return None if spec is None else spec.topic_key


def mapper_for(event_type: str) -> Mapper:
    """The mapper of ``event_type``; an unknown type is a permanent error."""
    mapper = mapper_of(event_type)
    if mapper is None:
        raise PermanentError("unknown-type", f"no mapping for event type {event_type[:80]!r}")
    return mapper


def map_event(event: CloudEvent, context: MappingContext) -> list[FicheUpdate]:
    """The canonical updates one source event stands for (usually exactly one).

    A refusal's detail may echo a value of the event: SSIN-shaped numbers are masked in it.
    So are they in the event's id, which the updates carry on (:func:`with_masked_id`).
    Phone numbers leave in E.164 whatever the source (:func:`with_e164_phones`).
    """
    # Before anything copies or derives it.
    return map_masked(with_masked_id(event, context.ssin_secret), context)


def map_masked(event: CloudEvent, context: MappingContext) -> list[FicheUpdate]:
    """:func:`map_event` of an event whose id is masked already (:func:`with_masked_id`: the
    source stage masks it at once, for its log lines, and need not mask it twice)."""
    try:
        return [with_e164_phones(mapper_for(event.type)(event, context))]
    except PermanentError as error:
        raise PermanentError(error.reason, redact(error.detail)) from None


for _spec in BUILT_IN:
    register(_spec)
