"""Folding names, streets, phones and e-mail addresses into comparable keys. Pure.

What a local network typed by hand and what an authentic source sends differ in ways that do
not make them different people: accents and case (``Céline``/``CELINE``), titles (``Dr.``,
``dokter``), spelling variants (``Wijns``/``Wyns``, ``Sophie``/``Sofie``), particles written
together or apart (``Van den Broeck``/``Vandenbroeck``), abbreviations of streets (``Kerkstr.``)
and of organisation types (``WZC``), legal forms (``vzw``) and phone formats (``055/11.22.33``).
"""

from __future__ import annotations

import functools
import re
import unicodedata

from rapidfuzz.distance import OSA

__all__ = [
    "GENERIC_ORGANISATION_WORDS",
    "email",
    "fold",
    "house_number",
    "is_generic",
    "organisation_tokens",
    "person_tokens",
    "phone",
    "spelling",
    "street",
]

#: Words that say what a person is, not who: dropped from person names.
TITLES = frozenset({
    "dr", "dokter", "doctor", "docteur", "prof", "professor", "mevr", "mevrouw", "mw", "mr",
    "meester", "dhr", "heer", "de heer", "apr", "apotheker", "lic", "drs", "ir", "mme", "mlle",
    "madame", "monsieur", "huisarts", "kine", "psycholoog", "logopedist",
})
#: Legal forms (nl/fr) and filler words: they never tell two organisations apart.
LEGAL_FORMS = frozenset({
    "vzw", "ivzw", "bv", "nv", "cv", "bvba", "cvba", "cvoa", "vof", "commv", "comm", "ev",
    "asbl", "srl", "sa", "sprl", "scrl", "sc", "snc", "scs", "ps",
})
STOPWORDS = frozenset({"de", "het", "den", "der", "van", "en", "t", "la", "le", "les", "du",
                       "des", "et", "l", "d", "in", "op"})
#: Abbreviations a directory editor writes for an organisation type.
ABBREVIATIONS = {
    "wzc": "woonzorgcentrum", "rvt": "woonzorgcentrum", "rusthuis": "woonzorgcentrum",
    "wgc": "wijkgezondheidscentrum", "ldc": "lokaal dienstencentrum",
    "dvc": "dagverzorgingscentrum", "cgg": "centrum geestelijke gezondheidszorg",
    "caw": "centrum algemeen welzijnswerk", "pvt": "psychiatrisch verzorgingstehuis",
    "az": "algemeen ziekenhuis", "uz": "universitair ziekenhuis",
    "ggz": "geestelijke gezondheidszorg",
    "kine": "kinesitherapie",
}
#: Words common to many organisation names: sharing only these says little.
_GENERIC = frozenset({
    "apotheek", "praktijk", "groepspraktijk", "huisartsenpraktijk", "centrum", "dienst",
    "woonzorgcentrum", "wijkgezondheidscentrum", "lokaal", "dienstencentrum", "thuiszorg",
    "thuisverpleging", "kinesitherapie", "ziekenhuis", "algemeen", "universitair", "zorg",
    "geestelijke", "gezondheidszorg", "welzijnswerk", "dagverzorgingscentrum", "vzw", "huis",
    "psychiatrisch", "verzorgingstehuis", "groep", "medisch", "pharmacie", "cabinet", "ocmw",
})

STREET_WORDS = (
    (re.compile(r"str\b"), "straat"), (re.compile(r"stwg\b|stw\b"), "steenweg"),
    (re.compile(r"ln\b|laan\b"), "laan"), (re.compile(r"pl\b|plein\b"), "plein"),
    (re.compile(r"\bbd\b|\bbvd\b|boulevard\b"), "boulevard"),
)
_SPELLING = ((re.compile(r"ph"), "f"), (re.compile(r"th"), "t"), (re.compile(r"ck"), "k"),
             (re.compile(r"ij"), "y"), (re.compile(r"y"), "i"), (re.compile(r"dt\b"), "t"))
#: Names, streets and numbers repeat (thousands of professionals share a street or a first
#: name): the folding functions remember this many recent answers each.
_CACHED = 65536
_PARENTHESES = re.compile(r"\([^)]*\)")
_NUMBER = re.compile(r"(\d+)\s*([a-z]?)\b")


@functools.lru_cache(maxsize=_CACHED)
def fold(text: str | None) -> str:
    """Lower case, no accents, every run of other characters one space."""
    if not text:
        return ""
    bare = "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))
    bare = re.sub(r"['’`]", "", bare.casefold())
    return " ".join(re.sub(r"[^0-9a-z]+", " ", bare).split())


def spelling(word: str) -> str:
    """Dutch spelling variants folded together (ph/f, th/t, ck/k, ij/y/i, final dt/t)."""
    for pattern, replacement in _SPELLING:
        word = pattern.sub(replacement, word)
    return word


#: The generic words as :func:`organisation_tokens` spells them.
GENERIC_ORGANISATION_WORDS = frozenset(spelling(word) for word in _GENERIC)


@functools.lru_cache(maxsize=4096)
def is_generic(word: str) -> bool:
    """A generic organisation word, or a long one with a typo (``woonzorgentrum``)."""
    if word in GENERIC_ORGANISATION_WORDS:
        return True
    return len(word) >= 8 and any(
        OSA.distance(word, generic, score_cutoff=2) <= 2
        for generic in GENERIC_ORGANISATION_WORDS if len(generic) >= 8)


@functools.lru_cache(maxsize=_CACHED)
def person_tokens(text: str | None) -> tuple[str, ...]:
    """The words of a person's name, folded, without titles or remarks in parentheses."""
    words = fold(_PARENTHESES.sub(" ", text or "")).split()
    return tuple(spelling(w) for w in words if w not in TITLES)


@functools.lru_cache(maxsize=_CACHED)
def organisation_tokens(text: str | None) -> tuple[str, ...]:
    """The words of an organisation's name: abbreviations expanded, legal forms and filler
    words dropped (``WZC Ter Linde vzw`` and ``Woonzorgcentrum Ter Linde`` agree)."""
    expanded: list[str] = []
    for word in fold(_PARENTHESES.sub(" ", text or "")).split():
        expanded.extend(ABBREVIATIONS.get(word, word).split())
    return tuple(spelling(w) for w in expanded if w not in LEGAL_FORMS and w not in STOPWORDS)


@functools.lru_cache(maxsize=_CACHED)
def street(text: str | None) -> str:
    """A street name as a key: ``St.-Jansstr.`` and ``Sint Jansstraat`` agree."""
    folded = fold(text)
    folded = re.sub(r"\b(st|sint|saint)\b", "st", folded)
    for pattern, replacement in STREET_WORDS:
        folded = pattern.sub(replacement, folded)
    return spelling(folded.replace(" ", ""))


@functools.lru_cache(maxsize=_CACHED)
def house_number(text: str | None) -> str:
    """The number and its letter (``12A``), without the box (``12 bus 3`` is ``12``)."""
    match = _NUMBER.search(fold(text))
    if match is None:
        return ""
    number, letter = match.groups()
    return number.lstrip("0") + (letter if letter not in ("b", "") else "")


def phone(text: str | None) -> str:
    """A Belgian number in national form (``055112233``); other numbers as their digits."""
    digits = re.sub(r"\D", "", text or "")
    if text and text.strip().startswith("+") and digits.startswith("32"):
        digits = "0" + digits[2:]
    elif digits.startswith("0032"):
        digits = "0" + digits[4:]
    elif digits.startswith("32") and len(digits) in (10, 11):
        digits = "0" + digits[2:]
    return digits if len(digits) >= 8 else ""


def email(text: str | None) -> str:
    """An e-mail address folded to lower case; anything without an ``@`` is no address."""
    value = (text or "").strip().casefold()
    return value if "@" in value and " " not in value else ""
