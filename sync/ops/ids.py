"""Ids as operators type them: whole, or any unambiguous start of one (``3f2a9c``), as git
takes commit ids. A person reading ``sksync conflicts list`` in a narrow terminal copies
what fits; the command that asks for the id must take it.

Every command that asks for a conflict, match candidate or fiche id resolves it here; dead
letters' ids (``TOPIC:PARTITION:OFFSET``) are resolved by :func:`one_of` over the listed ids.
An unknown or ambiguous start is one line saying which.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from sync.store.queries import Conn, ids_between, resolve_fiche_id

__all__ = ["IdProblem", "is_id_text", "one_of", "resolve_fiche", "resolve_id"]

_HEX = re.compile(r"[0-9a-f]{1,32}")


class IdProblem(LookupError):
    """No such id, or a start that several ids share; the message is one line for a person."""


def _digits(text: str) -> str:
    return text.strip().lower().replace("-", "")


def is_id_text(text: str) -> bool:
    """Whether ``text`` can be an id or the start of one (hexadecimal digits and dashes)."""
    return bool(_HEX.fullmatch(_digits(text)))


async def resolve_id(conn: Conn, table: str, text: str, what: str) -> uuid.UUID:
    """The one id of ``table`` that is ``text`` or starts with it.

    Raises :class:`IdProblem` when none does or several do (``what``: the word for the row,
    such as "conflict")."""
    digits = _digits(text)
    if not _HEX.fullmatch(digits):
        raise IdProblem(f"{text!r} is not a {what} id nor the start of one")
    low = uuid.UUID(digits.ljust(32, "0"))
    high = uuid.UUID(digits.ljust(32, "f"))
    found = await ids_between(conn, table, low, high)
    if not found:
        raise IdProblem(f"no {what} {text}")
    if len(found) > 1:
        raise IdProblem(f"{text!r} starts more than one {what} id: give more of it")
    return found[0]


def one_of(known: Iterable[str], text: str, what: str) -> str:
    """The one of ``known`` that is ``text``, or else that starts with it."""
    listed = list(known)
    if text in listed:
        return text
    starting = [item for item in listed if item.startswith(text)]
    if not starting:
        raise IdProblem(f"no {what} {text}")
    if len(starting) > 1:
        raise IdProblem(f"{text!r} starts {len(starting)} {what} ids: give more of it")
    return starting[0]


async def resolve_fiche(conn: Conn, ref: str) -> uuid.UUID:
    """A fiche from its id, the start of its id, or ``TYPE:VALUE`` (``NIHII-PERSON:18749704``)."""
    if ":" not in ref:
        return await resolve_id(conn, "fiche", ref, "fiche")
    found = await resolve_fiche_id(conn, ref)
    if found is None:
        raise IdProblem(f"no fiche {ref}")
    return found
