"""Canonical messages: the fiche updates the mappers produce and the events the relay emits.

Every model is a frozen pydantic v2 model that forbids unknown fields; field names are
snake_case in Python and camelCase on the wire. Pure: no I/O, no broker, no database.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from enum import StrEnum
from typing import Any, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, JsonValue
from pydantic.alias_generators import to_camel

__all__ = [
    "ConflictDecision",
    "EventOrigin",
    "FicheEventData",
    "FicheKind",
    "FicheLinkedData",
    "FicheUnlinkedData",
    "FicheUpdate",
    "Identifier",
    "MatchDecision",
    "NotificationData",
    "PinInfo",
    "Source",
    "SplitRequest",
    "UpdateAction",
    "add_source",
    "built",
    "derived_id",
]

#: Namespace of every id this service derives deterministically (update ids, fiche ids, ...).
NAMESPACE = uuid.UUID("6f1c2b1e-52a4-4f0e-9a55-5b3c0d1e2f70")
#: SHA-1 fed with the namespace: copied per id instead of hashing the namespace again.
_NAMESPACE_SHA1 = hashlib.sha1(NAMESPACE.bytes, usedforsecurity=False)


def derived_id(*parts: str) -> uuid.UUID:
    """A UUID that is the same every time for the same parts (UUIDv5 in our namespace, as
    ``uuid.uuid5(NAMESPACE, ...)`` gives it)."""
    digest = _NAMESPACE_SHA1.copy()
    digest.update("\x1f".join(parts).encode())
    return uuid.UUID(bytes=digest.digest()[:16], version=5)


class Frozen(BaseModel):
    """Base of every message: immutable, strict about unknown fields, camelCase on the wire."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )


F = TypeVar("F", bound=Frozen)
#: Each message model's fields, in order, at their defaults (a required one: _REQUIRED), the
#: names of those whose default is a dict (each instance gets its own), and the names of the
#: required ones.
_TEMPLATES: dict[type[Frozen], tuple[dict[str, Any], tuple[str, ...], frozenset[str]]] = {}
_REQUIRED: Any = object()


def _template(model: type[Frozen]) -> tuple[dict[str, Any], tuple[str, ...], frozenset[str]]:
    fields = model.model_fields
    state = {name: _REQUIRED if field.is_required() else field.get_default(
        call_default_factory=True) for name, field in fields.items()}
    mutable = tuple(name for name, value in state.items() if isinstance(value, dict))
    required = frozenset(name for name, value in state.items() if value is _REQUIRED)
    _TEMPLATES[model] = state, mutable, required
    return state, mutable, required


def built(model: type[F], /, **values: Any) -> F:
    """A ``model`` of ``values`` that are valid already (taken from a validated source record
    and envelope), not validated again: a mapper's hot path. The same instance as
    ``model(**values)`` would give for such values (its fields in the same order, the unset
    ones at their defaults); ``model_construct`` would do too, but walks every field's
    default machinery and is slower than validating a small model. A missing or unknown
    field is a defect, raised as ``TypeError``."""
    template, mutable, required = _TEMPLATES.get(model) or _template(model)
    state = template.copy()
    state.update(values)  # the template's order: a known name keeps its place
    if len(state) != len(template):
        raise TypeError(f"{model.__name__} has no field {sorted(state.keys() - template)}")
    if not required <= values.keys():
        missing = [name for name in template if name in required and name not in values]
        raise TypeError(f"{model.__name__} needs {', '.join(missing)}")
    for name in mutable:
        if name not in values:
            state[name] = dict(template[name])
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", state)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


# The members named here are those the code names; a source is declared in sync/sources.py,
# which adds a member for a source not listed here (add_source). The docstring is the JSON
# schema's description.
class Source(StrEnum):
    """The systems that feed fiches. ``manual`` is the directory's own application;
    ``provider`` is a provider's own correction when the policy ranks it as a source
    (``providerEdits: source``, docs/rules.md)."""

    COBRHA = "cobrha"
    KBO = "kbo"
    ASSOCIATION = "association"
    MANUAL = "manual"
    PROVIDER = "provider"

    @classmethod
    def _missing_(cls, value: object) -> Source | None:
        # Also what pydantic asks for a value outside the members listed above.
        return cls._value2member_map_.get(value)  # type: ignore[return-value]


def add_source(name: str) -> Source:
    """The :class:`Source` of value ``name``, added as a member if it is new."""
    known = Source._value2member_map_.get(name)
    if known is not None:
        return Source(name)
    member = str.__new__(Source, name)
    member._name_ = name.upper()
    member._value_ = name
    Source._value2member_map_[name] = member
    Source._member_map_[member._name_] = member
    Source._member_names_.append(member._name_)
    return member


class FicheKind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


class UpdateAction(StrEnum):
    """What an update asks: give values, withdraw a record, pin values, or decide a conflict."""

    UPSERT = "upsert"
    WITHDRAW = "withdraw"
    PIN = "pin"
    RESOLVE = "resolve"
    MATCH = "match"  # an editor's decision on a match candidate (docs/matching.md)
    SPLIT = "split"  # undo a link: a source record leaves the fiche for a new one
    VERIFY = "verify"  # the provider (or an editor) confirms the fiche's data is still right


class Identifier(Frozen):
    """A typed identifier, already normalised (``CBE`` / ``0403019261``)."""

    type: str
    value: str


class EventOrigin(Frozen):
    """The source event an update was derived from: (source, id) identifies it for ever."""

    source: str
    id: str
    type: str
    #: Aware (a naive time is refused at decode, sync.cloudevents): the apply stage subtracts
    #: it from now and the merge compares it with stored times.
    time: AwareDatetime | None = None


class PinInfo(Frozen):
    """Who pinned values by hand, why, and until when they should be reviewed."""

    author: str
    role: Literal["editor", "network", "provider"]
    reason: str | None = None
    review_after: date | None = None


class ConflictDecision(Frozen):
    """An operator's decision on a conflict: accept the candidate or keep the pin."""

    conflict_id: uuid.UUID
    decision: Literal["accept", "keep"]
    editor: str


class MatchDecision(Frozen):
    """An editor's decision on a match candidate: link the record to the fiche, or never."""

    match_id: uuid.UUID
    decision: Literal["accept", "reject"]
    editor: str


class SplitRequest(Frozen):
    """Undo a wrong link: the record ``record_id`` of ``source`` leaves the fiche."""

    source: Source
    record_id: str
    editor: str


class FicheUpdate(Frozen):
    """One source's statement about one fiche: the canonical message on ``sk.fiche.update``.

    ``fields`` maps canonical field names (see ``sync/policy.json``) to values; a ``None``
    value means the source no longer gives that field. Fields a source does not cover are
    absent. ``as_given`` holds, for a field whose value mapping normalised (a phone number
    in E.164), the text as the source wrote it: kept in provenance, never shown as the value.
    """

    schema_version: Literal[1] = 1
    update_id: uuid.UUID
    origin: EventOrigin
    source: Source
    record_id: str
    source_version: int
    observed_at: AwareDatetime
    kind: FicheKind
    action: UpdateAction = UpdateAction.UPSERT
    fiche_id: uuid.UUID | None = None
    identifiers: tuple[Identifier, ...] = ()
    fields: dict[str, JsonValue] = {}
    as_given: dict[str, JsonValue] = {}
    pin: PinInfo | None = None
    resolution: ConflictDecision | None = None
    match_decision: MatchDecision | None = None
    split: SplitRequest | None = None
    #: Who confirmed the fiche's data (``verify`` updates only).
    verified_by: PinInfo | None = None

    @property
    def key(self) -> str:
        """The partition key: the fiche's natural key, so one fiche's updates stay in order."""
        if self.fiche_id is not None:
            return str(self.fiche_id)
        if self.resolution is not None:
            return str(self.resolution.conflict_id)
        if self.identifiers:
            first = self.identifiers[0]
            return f"{first.type}:{first.value}"
        return self.record_id


class FicheEventData(Frozen):
    """The ``data`` of a fiche event on ``sk.fiche.event``: a public snapshot and what changed."""

    fiche_id: uuid.UUID
    version: int
    kind: FicheKind
    status: Literal["active", "inactive"]
    inactive_reason: str | None = None
    changed_fields: tuple[str, ...]
    snapshot: dict[str, JsonValue]
    identifiers: tuple[Identifier, ...] = ()
    cause: EventOrigin | None = None


class FicheLinkedData(Frozen):
    """The ``data`` of ``be.socialekaart.fiche.linked``: a source record now describes this
    fiche (search indexes merge what they held under the record's identifiers)."""

    fiche_id: uuid.UUID
    version: int
    source: Source
    record_id: str
    identifiers: tuple[Identifier, ...] = ()
    score: float | None = None
    match_id: uuid.UUID | None = None
    decided_by: str
    cause: EventOrigin | None = None


class FicheUnlinkedData(Frozen):
    """The ``data`` of ``be.socialekaart.fiche.unlinked``: a wrong link undone; the record
    and its identifiers now belong to ``new_fiche_id``."""

    fiche_id: uuid.UUID
    version: int
    new_fiche_id: uuid.UUID
    source: Source
    record_id: str
    identifiers: tuple[Identifier, ...] = ()
    editor: str
    cause: EventOrigin | None = None


class NotificationData(Frozen):
    """The ``data`` of a notification on ``sk.notification`` (for editors and providers)."""

    fiche_id: uuid.UUID | None
    field: str | None = None
    message: str
    conflict_id: uuid.UUID | None = None
    candidate: JsonValue = None
    current: JsonValue = None
    source: str | None = None
    editor: str | None = None
    cause: EventOrigin | None = None
    #: Where the provider checks and corrects the fiche (``verification-due`` notices).
    link: str | None = None
