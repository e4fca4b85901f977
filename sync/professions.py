"""Canonical profession codes, their CD-HCPARTY code and their names in Dutch and French.

CD-HCPARTY (eHealth, also the HL7 Belgium code system) has no code for tobacco specialists
or Bewegen-op-Verwijzing coaches: those use the local system :data:`LOCAL_SYSTEM`.
Pure data; every search index downstream receives code, system and names.

People write professions by their everyday names (``thuisverpleegkundige``, ``kinesist``,
``infirmière``): :func:`profession_of_label` reads those through the explicit table
``sync/data/profession_labels.csv``, so what a label means is data an editor can read.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

__all__ = ["CD_HCPARTY", "LOCAL_SYSTEM", "Profession", "fold_label", "label_table", "profession",
           "profession_of_label"]

CD_HCPARTY = "https://www.ehealth.fgov.be/standards/fhir/core/CodeSystem/cd-hcparty"
LOCAL_SYSTEM = "https://socialekaart.be/codesystem/profession"


@dataclass(frozen=True)
class Profession:
    """One canonical profession."""

    code: str
    system: str
    system_code: str
    nl: str
    fr: str

    def as_json(self) -> dict[str, str]:
        return {
            "code": self.code, "system": self.system, "systemCode": self.system_code,
            "nl": self.nl, "fr": self.fr,
        }


def _hc(code: str, hcparty: str, nl: str, fr: str) -> Profession:
    return Profession(code, CD_HCPARTY, hcparty, nl, fr)


def _local(code: str, nl: str, fr: str) -> Profession:
    return Profession(code, LOCAL_SYSTEM, code.lower(), nl, fr)


_ALL = (
    _hc("PHYSICIAN", "persphysician", "arts", "médecin"),
    _hc("GENERAL_PRACTITIONER", "persgeneralphysician", "huisarts", "médecin généraliste"),
    _hc("DENTIST", "persdentist", "tandarts", "dentiste"),
    _hc("PHARMACIST", "perspharmacist", "apotheker", "pharmacien"),
    _hc("MIDWIFE", "persmidwife", "vroedvrouw", "sage-femme"),
    _hc("NURSE", "persnurse", "verpleegkundige", "infirmier"),
    _hc("PRACTICAL_NURSE", "perspracticalnurse", "zorgkundige", "aide-soignant"),
    _hc("PHYSIOTHERAPIST", "persphysiotherapist", "kinesitherapeut", "kinésithérapeute"),
    _hc("PSYCHOLOGIST", "perspsychologist", "psycholoog", "psychologue"),
    _hc("CLINICAL_PSYCHOLOGIST", "persclinicalpsychologist", "klinisch psycholoog",
        "psychologue clinicien"),
    _hc("CLINICAL_ORTHOPEDAGOGIST", "persclinicalorthopedagogist", "klinisch orthopedagoog",
        "orthopédagogue clinicien"),
    _hc("SPEECH_THERAPIST", "perslogopedist", "logopedist", "logopède"),
    _hc("DIETICIAN", "persdietician", "diëtist", "diététicien"),
    _hc("OCCUPATIONAL_THERAPIST", "persoccupationaltherapist", "ergotherapeut", "ergothérapeute"),
    _hc("PODIATRIST", "perspodologist", "podoloog", "podologue"),
    _hc("AUDIOLOGIST", "persaudiologist", "audioloog", "audiologue"),
    _hc("ORTHOPTIST", "persorthoptist", "orthoptist", "orthoptiste"),
    _hc("DENTAL_HYGIENIST", "persdentalhygienist", "mondhygiënist", "hygiéniste bucco-dentaire"),
    _local("PARAMEDIC", "paramedicus", "paramédical"),  # no CD-HCPARTY code confirmed
    _hc("SOCIAL_WORKER", "perssocialworker", "maatschappelijk werker", "assistant social"),
    _local("TOBACCO_SPECIALIST", "tabakoloog", "tabacologue"),
    _local("BOV_COACH", "Bewegen op Verwijzing-coach", "coach Bewegen op Verwijzing"),
)

_BY_CODE = {item.code: item for item in _ALL}


def profession(code: str) -> Profession | None:
    """The canonical profession for ``code`` (case-insensitive), or ``None`` when unknown."""
    return _BY_CODE.get(code.strip().upper())


def fold_label(text: str) -> str:
    """A label as compared: its letters and digits only, lower case, without accents
    (``Thuis-verpleegkundige`` is ``thuisverpleegkundige``, ``Kiné`` is ``kine``)."""
    plain = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in plain if c.isalnum() and not unicodedata.combining(c))


@cache
def label_table() -> dict[str, str]:
    """Every accepted label (folded) and its profession code: the table's lines, then each
    profession's code and Dutch and French names. A label meaning two codes is a defect."""
    table: dict[str, str] = {}
    text = files("sync").joinpath("data/profession_labels.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    pairs = [(row["label"], row["code"]) for row in rows]
    pairs += [(name, item.code) for item in _ALL for name in (item.code, item.nl, item.fr)]
    for label, code in pairs:
        key = fold_label(label)
        if code not in _BY_CODE or table.setdefault(key, code) != code:
            raise ValueError(f"profession label {label!r}: {code} is unknown or ambiguous")
    return table


def profession_of_label(text: str) -> Profession | None:
    """The profession a code or an everyday label names (``NURSE``, ``thuisverpleegkundige``,
    ``Infirmière``), or ``None`` when the table does not know it."""
    code = label_table().get(fold_label(text))
    return None if code is None else _BY_CODE[code]
