"""Canonical profession codes, their CD-HCPARTY code and their names in Dutch and French.

CD-HCPARTY (eHealth, also the HL7 Belgium code system) has no code for tobacco specialists
or Bewegen-op-Verwijzing coaches: those use the local system :data:`LOCAL_SYSTEM`.
Pure data; every search index downstream receives code, system and names.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CD_HCPARTY", "LOCAL_SYSTEM", "Profession", "profession"]

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
