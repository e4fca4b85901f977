"""Profiles and blocking keys computed once per distinct input, for one apply batch. Pure.

A new fiche's visible values are, field for field, the values of the record that made it: the
record's profile (read ahead, to look for candidates) and the fiche's (written to the index)
are the same computation on equal inputs. :class:`ProfileMemo` makes it once. Its key is the
canonical JSON of exactly what :func:`~sync.matching.profile.profile_of` reads
(:data:`~sync.matching.profile.PROFILE_FIELDS`, the kind, the KBO numbers), so equal keys mean
equal inputs and an answer from memory is the one a computation would give.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson
from pydantic import JsonValue

from sync.matching.blocking import blocking_keys
from sync.matching.profile import PROFILE_FIELDS, Profile, profile_of

__all__ = ["ProfileMemo"]


class ProfileMemo:
    """``profile_of`` and ``blocking_keys``, each distinct input computed once."""

    def __init__(self) -> None:
        self._seen: dict[bytes, tuple[Profile, frozenset[str]]] = {}

    def keyed(
        self, kind: str, fields: Mapping[str, JsonValue], kbo_numbers: Iterable[str] = (),
    ) -> tuple[Profile, frozenset[str]]:
        """The profile of ``fields`` (as :func:`profile_of` gives it) and its blocking keys."""
        kbo = sorted(set(kbo_numbers))
        try:
            key = orjson.dumps([kind, [fields.get(name) for name in PROFILE_FIELDS], kbo],
                               option=orjson.OPT_SORT_KEYS)
        except TypeError:  # a value orjson cannot write (a huge integer): not remembered
            profile = profile_of(kind, fields, kbo)
            return profile, blocking_keys(profile)
        found = self._seen.get(key)
        if found is None:
            profile = profile_of(kind, fields, kbo)
            found = self._seen[key] = (profile, blocking_keys(profile))
        return found
