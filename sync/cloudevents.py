"""CloudEvents 1.0 structured JSON: decoding what the sources send, encoding what we emit."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from sync.errors import PermanentError

__all__ = ["CloudEvent", "decode", "encode", "field_list", "masked", "redact", "with_masked_id"]

#: A message bigger than this is refused before it is parsed.
MAX_MESSAGE_BYTES = 1_000_000
#: Nesting deeper than this is refused: our deepest events nest about 6 levels, and pydantic's
#: JSON parser (the apply stage reads updates with it) stops at 200.
MAX_DEPTH = 64
#: A ``\uD800``-``\uDFFF`` escape: JSON allows it alone, UTF-8 (and so Kafka, PostgreSQL) not.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
#: Digits in an SSIN's groups (YY MM DD NNN CC), however separated. The first nine decide the
#: last two (check digits), so nine are as telling as eleven.
_SSIN_LIKE = re.compile(r"\d{2}[-. /]?\d{2}[-. /]?\d{2}[-. /]?\d{3}(?:[-. /]?\d{2})?")
#: The same, standing alone: not part of a longer run of digits. Ids are masked with this one
#: (:func:`masked`), so that a timestamp or a sequence number in an id stays readable, as does
#: a ten-digit enterprise number; an SSIN glued to other digits is not recognised there.
_SSIN_ALONE = re.compile(rf"(?<!\d){_SSIN_LIKE.pattern}(?!\d)")
#: PostgreSQL stores no NUL character, neither in text nor in jsonb.
_NUL_ESCAPE = re.compile(r"\\u0000")
#: The validation context of an envelope whose ``data`` the JSON parser made.
_PARSED = "data-parsed"
_FROM_PARSER = {_PARSED: True}


class CloudEvent(BaseModel):
    """The envelope. ``data`` is validated later, by the mapper of ``type``."""

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: str = "1.0"
    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=300)
    type: str = Field(min_length=1, max_length=200)
    time: datetime | None = None
    subject: str | None = None
    datacontenttype: str | None = "application/json"
    data: JsonValue = None

    @field_validator("data", mode="wrap")
    @classmethod
    def _parsed_is_json(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo,
    ) -> Any:
        """``data`` that came from the JSON parser (:func:`decode` says so) is JSON already:
        validating it as ``JsonValue`` would walk (and copy) the whole tree in Python for
        nothing. It is set as parsed."""
        if info.context is not None and info.context.get(_PARSED):
            return value
        return handler(value)


def decode(raw: bytes | None) -> CloudEvent:
    """Parse one message, raising :class:`PermanentError` with a reason code when it is bad."""
    if raw is None:
        raise PermanentError("empty-message", "the message has no value")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise PermanentError("too-large", f"the message holds {len(raw)} bytes")
    document = _parse(raw)
    # Counting brackets is cheap, and nesting needs as many: most events skip the walk.
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _deeper_than(document, MAX_DEPTH):
        raise PermanentError("too-deep", f"the JSON nests deeper than {MAX_DEPTH} levels")
    if not isinstance(document, dict):
        raise PermanentError("not-a-cloudevent", "the JSON value is not an object")
    try:
        event = CloudEvent.model_validate(document, context=_FROM_PARSER)
    except ValidationError as error:
        raise PermanentError("not-a-cloudevent", _fields_of(error)) from None
    if event.specversion != "1.0":
        raise PermanentError("not-a-cloudevent",
                             redact(f"specversion {event.specversion[:10]!r}"))
    return _in_utc(event)


def _in_utc(event: CloudEvent) -> CloudEvent:
    """``event`` with its ``time`` in UTC. A time without a UTC offset is refused: RFC 3339
    (which CloudEvents requires) has none, and guessing one (UTC? Brussels, an hour or two
    off?) would misplace the event among its source's others (docs/architecture.md)."""
    when = event.time
    if when is None:
        return event
    offset = when.utcoffset()
    if offset is None:
        raise PermanentError("naive-time", "time has no UTC offset; RFC 3339 requires one "
                             "(2026-11-28T09:15:02Z or 2026-11-28T10:15:02+01:00)")
    if offset:
        return event.model_copy(update={"time": when.astimezone(UTC)})
    return event


def encode(
    *, id: str, source: str, type: str, subject: str, data: dict[str, Any],
    time: datetime | None = None,
) -> bytes:
    """One CloudEvent in structured JSON mode, as bytes for Kafka."""
    document = {
        "specversion": "1.0",
        "id": id,
        "source": source,
        "type": type,
        "time": (time or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
        "subject": subject,
        "datacontenttype": "application/json",
        "data": data,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _parse(raw: bytes) -> Any:
    """Strict UTF-8 JSON (a leading BOM allowed). ``json.loads`` on bytes would let encoded
    surrogates through (it decodes with ``surrogatepass``), and a ``\\uD800`` escape gives a
    lone surrogate too: neither can be written back as UTF-8, so both are refused here rather
    than fail later, outside the mapper. NaN, Infinity and numbers that overflow a float are
    no JSON (RFC 8259) and would come out as null, so they are refused too. ``ValueError``
    also covers integers past Python's digit limit. A NUL character is JSON but cannot be
    stored: refused here, it does not fail the apply stage's transaction later."""
    try:
        text = raw.decode("utf-8-sig")
        # A second BOM is refused as by json.loads (a JSONDecodeError: not a value).
        document = _DECODER.decode(text)
        if _SURROGATE_ESCAPE.search(text):
            json.dumps(document, ensure_ascii=False).encode("utf-8")
        if _NUL_ESCAPE.search(text) and _holds_nul(document):
            raise PermanentError("unstorable", "a text holds a NUL character (\\u0000), which "
                                 "PostgreSQL cannot store")
    except UnicodeError as error:
        raise PermanentError("undecodable", f"not UTF-8: {type(error).__name__}") from None
    except (ValueError, RecursionError) as error:
        raise PermanentError("undecodable", f"not JSON: {type(error).__name__}") from None
    return document


def _not_finite(literal: str) -> Any:
    raise ValueError(f"{literal} is not a JSON number")


def _finite(literal: str) -> float:
    """A float, unless it overflows to infinity (``1e999``): it would be written back as null."""
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError("a number too large for a float")
    return value


#: One decoder for every message (``json.loads`` with hooks builds a new one per call).
_DECODER = json.JSONDecoder(parse_constant=_not_finite, parse_float=_finite)


def _deeper_than(document: Any, limit: int) -> bool:
    """Whether objects and arrays nest more than ``limit`` deep (the root counts as 1)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if not isinstance(value, list):
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in value)
    return False


def _holds_nul(document: Any) -> bool:
    """Whether any key or text in ``document`` holds a NUL character."""
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def _fields_of(error: ValidationError) -> str:
    """Which fields failed, never their values (they may hold protected data)."""
    return "invalid or missing: " + field_list(error, "(root)")


def field_list(error: ValidationError, root: str) -> str:
    """The failing fields' places, each cut short: a place holds the document's own keys and
    nesting, which can be arbitrarily long, and the list goes into a log line and a header."""
    places = sorted({".".join(str(part) for part in item["loc"])[:80] or root
                     for item in error.errors()})
    return redact(", ".join(places[:10]))


def redact(detail: str) -> str:
    """``detail`` with every SSIN-shaped number masked. A refusal's detail goes into logs,
    dead-letter headers and editors' notifications, and may echo what the event held (a code,
    a key, a field name): a source that put an SSIN in the wrong place must not see it there."""
    return _SSIN_LIKE.sub("[number]", detail)


#: Hex digits spelled as letters: a masked number holds no digit, so masking is idempotent.
_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")


def masked(text: str, secret: bytes) -> str:
    """``text`` with every SSIN-shaped number (nine or eleven digits standing alone, in the
    groups YY MM DD NNN CC however separated) replaced by ``#`` and a keyed hash of it as
    written (HMAC-SHA256 with the SSIN secret, 64 bits, spelled in letters). The same id always
    gives the same masked id, so what was derived from one event stays correlated, and two
    ids give two (even ids that write one number in two ways: they are two events). Without
    the secret the number cannot be found from the mark, not even by trying every SSIN."""
    def mark(found: re.Match[str]) -> str:
        digest = hmac.new(secret, found.group().encode(), hashlib.sha256).hexdigest()[:16]
        return "#" + digest.translate(_LETTERS)

    return _SSIN_ALONE.sub(mark, text)


def with_masked_id(event: CloudEvent, secret: bytes) -> CloudEvent:
    """``event`` with its id :func:`masked`. Source event ids are copied into the ``cause`` of
    fiche events and notifications, into the fiche history and into logs, and ids derived
    from them (canonical update and notification ids) are public too: a source that put an
    SSIN in an id must not see it there, nor a hash of it that anyone could recompute."""
    safe = masked(event.id, secret)
    return event if safe == event.id else event.model_copy(update={"id": safe})
