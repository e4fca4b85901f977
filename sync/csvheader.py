"""Reading the header row of the CSV files people give (association exports, the directory's
export for ``link-initial``): one rule for both. Pure.

- Names are compared in lower case, without surrounding spaces.
- A name the format used before is read as today's (``postcode`` is ``zip_code``).
- A column the format does not know is read past and reported: one extra column (a remark,
  an internal code) must not refuse a whole file.
- Except when it looks like a known column that is missing (``zipcode`` for ``zip_code``):
  reading past it would silently drop that value from every row, so the file is refused,
  naming both.
- A column given twice is refused: which one counts would be a guess.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Header", "HeaderError", "read_header"]


class HeaderError(ValueError):
    """The header cannot be used; the message names the column(s) and why."""


@dataclass(frozen=True)
class Header:
    """The header's columns in file order (today's names; unknown ones as written), and the
    unknown ones, to report."""

    columns: tuple[str, ...]
    unknown: tuple[str, ...]

    def report(self) -> str:
        """One line saying which columns were read past."""
        return f"column(s) not used: {', '.join(self.unknown)}"


def _fold(name: str) -> str:
    return "".join(c for c in name if c.isalnum())


def _looks_like(name: str, missing: Sequence[str]) -> str | None:
    same = [known for known in missing if _fold(known) == _fold(name)]
    close = difflib.get_close_matches(name, missing, n=1, cutoff=0.85)
    found = same or close
    return found[0] if found else None


def read_header(
    names: Iterable[str], known: Sequence[str], old_names: Mapping[str, str] | None = None,
) -> Header:
    """Today's names of ``names``; raises :class:`HeaderError` for a column given twice or
    an unknown column that looks like a missing known one."""
    columns = tuple((old_names or {}).get(n, n) for n in (n.strip().lower() for n in names))
    doubled = sorted({name for name in columns if name and columns.count(name) > 1})
    if doubled:
        raise HeaderError(f"column(s) {', '.join(doubled)} given twice (under an old name "
                          "and today's, or twice): keep one")
    unknown = tuple(name for name in columns if name and name not in known)
    missing = [name for name in known if name not in columns]
    for name in unknown:
        meant = _looks_like(name, missing)
        if meant is not None:
            raise HeaderError(f"column {name!r} is not known and {meant!r} is missing: rename "
                              f"it to {meant!r} (otherwise every row would lose its {meant})")
    return Header(columns, unknown)
