"""The cases: (weight, function(generator) -> None), each a way a fiche and a record differ."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

from matching_eval.people import Generator, Person, bare
from matching_eval.vocabulary import ABBREVIATED, FIRST, LAST, MERGED, ORG_TYPES, STREETS


def typo(rng: random.Random, word: str) -> str:
    """One slip of the keyboard: a letter doubled, dropped, swapped or replaced."""
    letters = list(word)
    at = rng.randrange(1, max(2, len(letters) - 1))
    kind = rng.randrange(4)
    if kind == 0:
        letters.insert(at, letters[at])
    elif kind == 1 and len(letters) > 4:
        del letters[at]
    elif kind == 2 and at + 1 < len(letters):
        letters[at], letters[at + 1] = letters[at + 1], letters[at]
    else:
        letters[at] = rng.choice("aeiourstn")
    return "".join(letters)


def pair(case: str, fiche: Callable[[Generator, Person], dict[str, str]],
         record: Callable[[Generator, Person], Person] = lambda g, p: p) -> Callable[
             [Generator], None]:
    def run(g: Generator) -> None:
        who = g.person()
        fiche_id = g.fiche(who, **fiche(g, who))
        g.record(record(g, who), fiche_id, case)
    return run


def same(g: Generator, p: Person) -> dict[str, str]:
    return {}


def old_municipality(g: Generator) -> None:
    postcode, place = g.pick(MERGED)
    who = g.person(postcode=postcode, place=place)
    g.record(who, g.fiche(who), "old municipality name")


def moved(g: Generator) -> None:
    """The fiche still has the old practice; the source has the new one (other town)."""
    who = g.person()
    fiche_id = g.fiche(who)
    postcode, place = g.town()
    keep = g.rng.randrange(3)
    g.record(replace(who, postcode=postcode, place=place, street=g.pick(STREETS),
                     phone=who.phone if keep != 1 else g.phone(),
                     email=who.email if keep != 0 else ""), fiche_id, "moved practice")


def moved_in_town(g: Generator) -> None:
    """The practice moved within its municipality: another street (or number on the same
    street); the record keeps the phone, or the e-mail address, or neither."""
    who = g.person()
    fiche_id = g.fiche(who)
    street = who.street if g.rng.random() < 0.3 else g.pick(
        tuple(s for s in STREETS if s != who.street))
    number = str(g.rng.randint(1, 160))
    keep = g.rng.randrange(3)  # the phone, the e-mail address, or neither
    g.record(replace(who, street=street, number=number,
                     phone=who.phone if keep == 0 else g.phone(),
                     email=who.email if keep == 1 else ""), fiche_id,
             "moved within the municipality")


def initial(g: Generator) -> None:
    """The fiche gives the first name as an initial (``J. Peeters``); sometimes the record
    also has a newer phone."""
    who = g.person()
    fiche_id = g.fiche(who, first_name=who.first[0] + g.pick((".", "", ". ")))
    if g.rng.random() < 0.2:
        who = replace(who, phone=g.phone())
    g.record(who, fiche_id, "initial of the first name")


def colleague_same_initial(g: Generator) -> None:
    """``J. Peeters`` at a practice is Jan; Joke Peeters works there too (same address,
    phone, often the profession): her record must not take Jan's fiche."""
    one = g.person()
    letter = bare(one.first)[0]
    others = tuple(f for f in FIRST if bare(f)[0] == letter and f != one.first)
    if not others:
        return
    other = g.person(first=g.pick(others), last=one.last, postcode=one.postcode, place=one.place,
                     street=one.street, number=one.number, phone=one.phone,
                     profession=one.profession if g.rng.random() < 0.7 else g.person().profession)
    fiche_id = g.fiche(one, first_name=letter + ".")
    g.record(other, "", "colleague with the same initial (new)")
    if g.rng.random() < 0.5:
        g.record(one, fiche_id, "initial, a colleague with the same initial")


def colleagues(g: Generator) -> None:
    """Two providers at one address with the practice's phone: each record to its own fiche;
    sometimes only one of them has a fiche, and the other must not take it."""
    one = g.person()
    other = g.person(postcode=one.postcode, place=one.place, street=one.street,
                     number=one.number, phone=one.phone,
                     last=one.last if g.rng.random() < 0.5 else g.pick(LAST),
                     profession=one.profession if g.rng.random() < 0.7 else g.person().profession)
    if other.first == one.first:
        other = replace(other, first=g.pick(tuple(f for f in FIRST if f != one.first)))
    first_fiche = g.fiche(one)
    if g.rng.random() < 0.5:
        g.record(other, g.fiche(other), "two providers at one address")
    else:
        g.record(other, "", "colleague at a fiche's address (new)")
    g.record(one, first_fiche, "two providers at one address")


def namesake(g: Generator) -> None:
    """Same name and profession, another town and phone: not the same person."""
    who = g.person()
    g.fiche(who)
    postcode, place = g.town(other_than=who.place)
    g.record(g.person(first=who.first, last=who.last, profession=who.profession,
                      postcode=postcode, place=place), "", "namesake in another town (new)")


def namesake_profession(g: Generator) -> None:
    """Same name in the same town, another profession and address: not the same person."""
    who = g.person()
    g.fiche(who)
    other = g.person(first=who.first, last=who.last, postcode=who.postcode, place=who.place)
    while other.profession == who.profession:
        other = replace(other, profession=g.person().profession)
    g.record(other, "", "namesake with another profession (new)")


def new_person(g: Generator) -> None:
    g.record(g.person(), "", "new provider")


def unlinked_fiche(g: Generator) -> None:
    g.fiche(g.person())  # hand-made fiches no source knows (yet)


def organisation(variant: str) -> Callable[[Generator], None]:
    def run(g: Generator) -> None:
        org = g.organisation()
        override: dict[str, str] = {}
        if variant == "abbreviated":
            word = next((w for w in ABBREVIATED if org.name.startswith(w)), None)
            if word:
                override["name"] = org.name.replace(word, ABBREVIATED[word], 1)
        elif variant == "old municipality":
            postcode, place = g.pick(MERGED)
            org = replace(org, postcode=postcode, place=place)
        elif variant == "typo":
            override["name"] = typo(g.rng, org.name)
        fiche_id = g.fiche(org, **override)
        g.record(org, fiche_id, f"organisation {variant}")
    return run


def organisation_neighbour(g: Generator) -> None:
    """Another organisation at a fiche's address (a service on the same campus): new."""
    org = g.organisation()
    g.fiche(org)
    code, word, names = g.pick(ORG_TYPES)
    other = replace(org, type=code, name=f"{word} {g.pick(names).replace('{last}', g.pick(LAST))}",
                    kbo=g.enterprise(), email="")
    if other.name == org.name:
        other = replace(other, name=f"Dienstencentrum {org.name.split()[-1]}")
    g.record(other, "", "other organisation at the same address (new)")


def organisation_namesake(g: Generator) -> None:
    """The same (generic) name in another town: not the same pharmacy."""
    org = g.organisation()
    g.fiche(org)
    postcode, place = g.town(other_than=org.place)
    g.record(replace(org, postcode=postcode, place=place, street=g.pick(STREETS),
                     phone=g.phone(mobile=False), kbo=g.enterprise(), email=""), "",
             "organisation namesake in another town (new)")


CASES: tuple[tuple[int, Callable[[Generator], None]], ...] = (
    (40, pair("exact", same)),
    (12, pair("typo in the last name", lambda g, p: {"last_name": typo(g.rng, p.last)})),
    (10, pair("typo in the first name", lambda g, p: {"first_name": typo(g.rng, p.first)})),
    (10, pair("first and last name swapped",
              lambda g, p: {"first_name": p.last, "last_name": p.first})),
    (10, pair("accents missing, capitals", lambda g, p: {
        "first_name": bare(p.first), "last_name": bare(p.last).upper()})),
    (16, initial),
    (8, pair("title in the name", lambda g, p: {
        "first_name": g.pick(("Dr. ", "dokter ", "Dr ")) + p.first})),
    (14, old_municipality),
    (8, pair("street written short", lambda g, p: {
        "street": p.street.replace("straat", "str.").replace("Sint-", "St.-"),
        "house_number": p.number + g.pick(("", " bus 2", "/1"))})),
    (8, pair("phone changed", same, lambda g, p: replace(p, phone=g.phone()))),
    (6, pair("e-mail and phone missing on the fiche", lambda g, p: {"phone": "", "email": ""})),
    (6, pair("fiche without street", lambda g, p: {"street": "", "house_number": ""})),
    (5, pair("profession named otherwise", lambda g, p: {"profession": "arts"}
             if p.profession == "GENERAL_PRACTITIONER" else {})),
    (8, moved),
    (12, moved_in_town),
    (10, colleagues),
    (6, colleague_same_initial),
    (14, namesake),
    (6, namesake_profession),
    (40, new_person),
    (15, unlinked_fiche),
    (14, organisation("exact")),
    (8, organisation("abbreviated")),
    (5, organisation("old municipality")),
    (4, organisation("typo")),
    (6, organisation_neighbour),
    (6, organisation_namesake),
)
