"""CloudEvents 1.0 structured JSON: decoding what the sources send, encoding what we emit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from sync.errors import PermanentError

__all__ = ["CloudEvent", "decode", "encode"]

#: A message bigger than this is refused before it is parsed.
MAX_MESSAGE_BYTES = 1_000_000


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


def decode(raw: bytes | None) -> CloudEvent:
    """Parse one message, raising :class:`PermanentError` with a reason code when it is bad."""
    if raw is None:
        raise PermanentError("empty-message", "the message has no value")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise PermanentError("too-large", f"the message holds {len(raw)} bytes")
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise PermanentError("undecodable", f"not JSON: {type(error).__name__}") from None
    if not isinstance(document, dict):
        raise PermanentError("not-a-cloudevent", "the JSON value is not an object")
    try:
        event = CloudEvent.model_validate(document)
    except ValidationError as error:
        raise PermanentError("not-a-cloudevent", _fields_of(error)) from None
    if event.specversion != "1.0":
        raise PermanentError("not-a-cloudevent", f"specversion {event.specversion[:10]!r}")
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


def _fields_of(error: ValidationError) -> str:
    """Which fields failed, never their values (they may hold protected data)."""
    places = sorted(
        {".".join(str(part) for part in item["loc"]) or "(root)" for item in error.errors()})
    return "invalid or missing: " + ", ".join(places[:10])
