"""The map side gives exactly what it gave before its hot path was made cheaper.

Every output of decode+map over the benchmark's generated CoBRHA professionals, variants of them
(removed, deceased, time with an offset, an SSIN in the id, without SSIN) and bad ones (each
refused with its reason and detail), and every sample of ``schemas/samples``, is written down
(``model_dump_json`` of each update, or the refusal) and hashed. The digest was taken with the
code before any of those changes; a change that alters one byte of one output fails here.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.be import ssn as stdnum_ssn
from stdnum.exceptions import ValidationError as StdnumError

from bench.events import EventFactory
from sync import identifiers as ids
from sync.cloudevents import decode
from sync.errors import PermanentError
from sync.events import NAMESPACE, FicheUpdate, built, derived_id
from sync.mapping import MappingContext
from sync.mapping.common import e164, parsed_e164
from sync.sources import map_event

CONTEXT = MappingContext(ssin_secret=b"unchanged-secret")
SAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "samples"
#: sha256 of :func:`outputs`, taken before the map side's hot path changed.
GOLDEN = "4c5bef22d0a62e788b0ac7cd1227f33f7361152b334694e08d51e50aa3a09ef8"
EVENTS = 600


def _variants(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``event`` and one change of it per kind of input the mapper treats apart."""
    yield event
    data = event["data"]
    changes: list[tuple[str, Any]] = [
        ("type", "be.ehealth.cobrha.professional.removed"),
        ("type", "be.ehealth.cobrha.professional.unknown"),
        ("time", "2026-11-28T10:15:02+01:00"),
        ("time", "2026-11-28T10:15:02"),
        ("id", "evt-85073003328"),
        ("specversion", "0.3"),
        ("data", [1, 2]),
        ("data.ssin", None),
        ("data.ssin", "85073003329"),
        ("data.deathDate", "2026-01-02"),
        ("data.lastName", 7),
        ("data.lastName", ""),
        ("data.professions", []),
        ("data.professions.0.nihii", "123"),
        ("data.professions.0.nihii", "1-2345678-901"),
        ("data.professions.0.professionCode", "ASTRONAUT"),
        ("data.professions.0.licence", {"status": "MAYBE"}),
        ("data.professions.0.licence", None),
        ("data.professions.0.phone", "02 555 12 34"),
        ("data.professions.0.phone", "not a phone"),
        ("data.professions.0.addresses", [{"zipCode": "9999", "municipality": "Nergens"}]),
        ("data.extraField", {"x": 1}),
    ]
    for place, value in changes:
        changed = copy.deepcopy(event)
        *path, last = place.split(".")
        target: Any = changed
        for part in path:
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[last] = value
        yield changed
    assert data is event["data"]


def _raw() -> Iterator[bytes]:
    factory = EventFactory()
    for index in range(EVENTS):
        event = factory.professional(index, version=1 + index % 3)
        events = _variants(event) if index % 20 == 0 else iter((event,))
        for one in events:
            yield json.dumps(one, ensure_ascii=False).encode()
    for sample in sorted(SAMPLES.glob("*.jsonl")):
        for line in sample.read_bytes().splitlines():
            if line.strip():
                yield line
    yield b"{not json"
    yield b'{"specversion": "1.0", "id": "", "source": "s", "type": "t"}'


def outputs() -> Iterator[str]:
    """One line per input: its updates as JSON, or its refusal."""
    for raw in _raw():
        try:
            updates = map_event(decode(raw), CONTEXT)
        except PermanentError as error:
            yield f"refused {error.reason}: {error.detail}"
            continue
        for update in updates:
            yield update.model_dump_json(by_alias=True)
            yield update.key


def test_outputs_are_unchanged() -> None:
    digest = hashlib.sha256("\n".join(outputs()).encode()).hexdigest()
    assert digest == GOLDEN


@settings(max_examples=2000)
@given(st.lists(st.text(), max_size=5))
def test_derived_ids_are_uuid5_in_the_namespace(parts: list[str]) -> None:
    try:
        expected = uuid.uuid5(NAMESPACE, "\x1f".join(parts))
    except UnicodeEncodeError:  # a lone surrogate: no id, either way
        with pytest.raises(UnicodeEncodeError):
            derived_id(*parts)
        return
    assert derived_id(*parts) == expected


def test_built_is_the_validated_instance() -> None:
    """What :func:`built` gives equals, field for field and in the same order, what validating
    gives; unset fields at their defaults, and no mutable default shared."""
    event = decode(json.dumps(EventFactory().professional(3)).encode())
    validated = map_event(event, CONTEXT)[0]
    values = {name: getattr(validated, name) for name in validated.model_fields_set}
    fast = built(FicheUpdate, **values)
    assert fast == FicheUpdate(**values) == validated
    assert repr(fast) == repr(FicheUpdate(**values))
    assert fast.model_fields_set == FicheUpdate(**values).model_fields_set
    bare = {name: values[name] for name in values if name not in ("fields", "as_given")}
    assert built(FicheUpdate, **bare).fields is not built(FicheUpdate, **bare).fields
    assert built(FicheUpdate, **bare) == FicheUpdate(**bare)
    with pytest.raises(TypeError, match="needs record_id"):
        built(FicheUpdate, **{name: value for name, value in bare.items() if name != "record_id"})
    with pytest.raises(TypeError, match="no field"):
        built(FicheUpdate, **bare, colour="red")


@settings(max_examples=4000)
@given(st.one_of(
    st.from_regex(r"\A[0-9]{9}\Z").map(lambda head: head + f"{97 - int(head) % 97:02d}"),
    st.from_regex(r"\A[0-9]{11}\Z"), st.from_regex(r"\A[0-9 .\-]{8,16}\Z"), st.text()))
def test_ssins_normalise_as_stdnum_does(raw: str) -> None:
    """The plain-number shortcut of normalize_ssin answers what stdnum answers, for valid
    numbers of both centuries and months, wrong check digits, separators and any text."""
    try:
        expected: str | None = str(stdnum_ssn.validate(raw))
    except StdnumError:
        expected = None
    try:
        found: str | None = ids.normalize_ssin(raw)
    except ids.IdentifierError:
        found = None
    assert found == expected


@settings(max_examples=4000)
@given(st.one_of(st.from_regex(r"\A\+32[0-9]{6,11}\Z"), st.from_regex(r"\A\+3[0-9]{7,12}\Z"),
                 st.from_regex(r"\A\+32[0-9 ]{8,11}\Z"), st.text()))
def test_phones_in_e164_as_phonenumbers_gives_them(text: str) -> None:
    """The shortcut for a Belgian number in E.164 already answers what phonenumbers does."""
    assert e164(text) == parsed_e164(text)
