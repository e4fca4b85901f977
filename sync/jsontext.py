"""JSON text for the database and the broker, fast: every fiche written passes here several
times (values, visible state, events, matching profile)."""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["dumps"]


def dumps(value: Any) -> str:
    """Compact JSON, UTF-8 as is (what ``json.dumps(..., ensure_ascii=False,
    separators=(",", ":"))`` gives); integers beyond 64 bits, which orjson refuses, the slow
    way."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError: a big integer, or a type JSON does not know
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
