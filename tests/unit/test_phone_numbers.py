"""Phone numbers leave mapping in E.164, whatever the source wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.cloudevents import CloudEvent
from sync.mapping import MappingContext
from sync.mapping.common import e164
from sync.sources import map_event

SAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "samples"


@pytest.mark.parametrize(("text", "number"), [
    ("080 18 86 57", "+3280188657"),
    ("055/11.22.33", "+3255112233"),
    ("+32 (0)55 11 22 33", "+3255112233"),
    ("0032 55 11 22 33", "+3255112233"),
    ("0475 12 34 56", "+32475123456"),
    ("+31 20 123 4567", "+31201234567"),
])
def test_a_number_as_typed_becomes_e164(text: str, number: str) -> None:
    """Spaces, slashes, dots, a (0) and 0032 are writing, not the number."""
    assert e164(text) == number


@pytest.mark.parametrize("text", ["bel ons", "12", ""])
def test_text_that_is_no_number_has_no_e164_form(text: str) -> None:
    assert e164(text) is None


def test_kbo_and_cobrha_give_one_value_for_one_number_and_keep_their_own_text() -> None:
    """The sample hospital: KBO writes ``055 33 61 11``, CoBRHA ``+3255336111``."""
    updates = {}
    for file in ("kbo-entity.jsonl", "cobrha-organisation.jsonl"):
        first = json.loads((SAMPLES / file).read_text(encoding="utf-8").splitlines()[0])
        [updates[file]] = map_event(CloudEvent.model_validate(first), MappingContext(b"k"))
    kbo, cobrha = updates["kbo-entity.jsonl"], updates["cobrha-organisation.jsonl"]
    assert kbo.fields["contact.phone"] == cobrha.fields["contact.phone"] == "+3255336111"
    assert kbo.as_given == {"contact.phone": "055 33 61 11"}
    assert cobrha.as_given == {}


def test_a_phone_text_that_is_no_number_is_kept_as_the_source_wrote_it() -> None:
    """Dropping it would hide what the source said; it stays, unchanged."""
    first = json.loads((SAMPLES / "kbo-entity.jsonl").read_text(encoding="utf-8").splitlines()[0])
    first["data"]["contacts"] = [{"type": "TEL", "value": "zie website"}]
    [update] = map_event(CloudEvent.model_validate(first), MappingContext(b"k"))
    assert update.fields["contact.phone"] == "zie website"
    assert update.as_given == {}


def test_the_phones_of_establishment_units_become_e164_and_keep_their_own_text() -> None:
    """A unit's phone is a phone like the others: KBO's ``055 23 11 11`` is ``+3255231111``,
    and the text KBO wrote is kept by unit number; a phone already in E.164 or no number at
    all is left as it is."""
    first = json.loads((SAMPLES / "kbo-entity.jsonl").read_text(encoding="utf-8").splitlines()[0])
    phones = {"2123456791": "055 23 11 11", "2000000339": "+3255231112",
              "2000000438": "zie website"}
    units = [{"establishmentNumber": number, "contacts": [{"type": "TEL", "value": text}]}
             for number, text in phones.items()]
    first["data"]["establishments"] = [
        {"startDate": "1998-01-01", "denominations": [], "addresses": [], "activities": [], **u}
        for u in units]
    [update] = map_event(CloudEvent.model_validate(first), MappingContext(b"k"))
    shown = {u["establishmentNumber"]: u["phone"] for u in update.fields["establishments"]}
    assert shown == {"2123456791": "+3255231111", "2000000339": "+3255231112",
                      "2000000438": "zie website"}
    assert update.as_given["establishments"] == {"2123456791": "055 23 11 11"}
