"""FastStream plumbing shared by the subscribers: a parser that never refuses a message.

FastStream's own parser decodes every header as UTF-8; one hostile header would make it
raise before our handler runs, and with manual acknowledgement the message would then be
skipped by the next commit. Here such header values are kept, with undecodable bytes
replaced, so that the handler sees (and dead-letters) every message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

__all__ = ["raw_body", "tolerant_parser"]

Records = Any  # a ConsumerRecord or a tuple of them (aiokafka is untyped)


def _clean(record: Any) -> Any:
    headers = record.headers or ()
    try:
        for _, value in headers:
            value.decode()
        return record
    except UnicodeDecodeError:
        safe = tuple((key, value.decode(errors="replace").encode()) for key, value in headers)
        return replace(record, headers=safe)


async def tolerant_parser(message: Records, original: Callable[[Any], Awaitable[Any]]) -> Any:
    if isinstance(message, tuple):
        return await original(tuple(_clean(record) for record in message))
    return await original(_clean(message))


async def raw_body(message: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
    """The decoded body is never used (handlers read the records); skip JSON decoding."""
    return None
