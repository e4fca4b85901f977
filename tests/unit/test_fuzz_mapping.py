"""Fuzzing the decode-validate-map path of every source topic (hypothesis).

Whatever bytes arrive on a source topic, the source stage either gets canonical updates it can
send on (and the apply stage can read back), or a :class:`PermanentError` with a reason, which
becomes a dead letter (and, for a refused hand edit, an ``edit-refused`` notification). Any
other exception would stop or skip a batch, so the property checked for every input is:

    ``decode`` then ``map_event`` returns updates that serialise and read back equal, or raises
    PermanentError with a reason code and a short detail, free of SSIN-shaped numbers, that
    the dead-letter headers (and a refused edit's notification) can carry.

Inputs: random bytes; the samples of ``schemas/samples`` cut short, with invalid UTF-8 spliced
in, padded to around the size cap, with one place written as hostile JSON text (deep nesting,
thousands of digits, NaN, escaped lone surrogates); the samples with one or several fields
replaced (a value of another type, a huge or odd string, an SSIN, a huge number, NaN, a lone
surrogate, deep nesting) or deleted; and envelopes of every registered event type around data
recombined from the samples' own field names and values. Every mapper is reached.

Example counts: a few thousand in all by default, so ``make test`` stays fast. Set
``SKSYNC_FUZZ_EXAMPLES`` to the total wanted (``make fuzz`` uses 100000); it is shared among the
tests below by their weights.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sync import sources
from sync.cloudevents import MAX_MESSAGE_BYTES, decode
from sync.emitted import edit_refused
from sync.errors import PermanentError
from sync.events import FicheUpdate
from sync.mapping import MappingContext
from sync.producers.dlq import DeadLetter, dead_letter
from sync.sources import map_event

CONTEXT = MappingContext(ssin_secret=b"fuzz-secret")
SAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "samples"
TOPICS = {
    "cobrha_professional": "cobrha-professional.jsonl",
    "cobrha_organisation": "cobrha-organisation.jsonl",
    "kbo_entity": "kbo-entity.jsonl",
    "association_member": "association-member.jsonl",
    "manual_edit": "manual-edit.jsonl",
}
#: A dead letter's detail is logged and put in a header: it must stay a sentence.
MAX_DETAIL = 1000
#: Valid SSINs (national number, BIS number) and one written with separators: planted where
#: a value, a code or a key goes, they must never come out in a refusal's detail.
SSINS = ["85073003328", "85.07.30-033.28", "93051822361", "01410212357"]
#: Nine digits in an SSIN's groups: the check digits follow from them.
SSIN_LIKE = re.compile(r"\d{2}[-. /]?\d{2}[-. /]?\d{2}[-. /]?\d{3}")

#: Share of the example budget per test (the keys name the tests below).
WEIGHTS = {"random": 2, "truncated": 2, "utf8": 2, "nested": 1, "size": 1, "mutated": 10,
           "doubly_mutated": 4, "any_type": 4}
DEFAULT_TOTAL = 3000


def budget(name: str) -> settings:
    """Hypothesis settings giving test ``name`` its share of the example budget."""
    total = int(os.environ.get("SKSYNC_FUZZ_EXAMPLES") or DEFAULT_TOTAL)
    share = max(10, total * WEIGHTS[name] // sum(WEIGHTS.values()))
    return settings(max_examples=share, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example])


def _load(name: str) -> list[dict[str, Any]]:
    with (SAMPLES / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


DOCUMENTS = {topic: _load(name) for topic, name in TOPICS.items()}
EVERY_DOCUMENT = [doc for docs in DOCUMENTS.values() for doc in docs]
#: Every type a mapper is registered for: a new mapper is fuzzed without editing this file.
REGISTERED_TYPES = sorted(t for spec in sources.BUILT_IN for t in spec.mappers)
#: Each source topic equally often, whatever its number of samples.
any_document = st.sampled_from(list(DOCUMENTS.values())).flatmap(st.sampled_from)


# --------------------------------------------------------------------------- the property


def source_stage_outcome(raw: bytes | None) -> list[FicheUpdate] | PermanentError:
    """What the source stage makes of one message, through the same functions it calls.

    Raises whatever escapes them: the tests fail on any exception but PermanentError.
    """
    event = None
    try:
        event = decode(raw)
        updates = map_event(event, CONTEXT)
    except PermanentError as error:
        _dead_letter_of(raw, error)
        if event is not None:
            notice = edit_refused(event.type, event.id, event.data, error.reason, error.detail,
                                  datetime.now(UTC))
            if notice is not None:
                json.dumps(notice.document, ensure_ascii=False).encode()
        return error
    for update in updates:  # what the stage sends, and the apply stage parses back
        sent = update.model_dump_json(by_alias=True).encode()
        assert FicheUpdate.model_validate_json(sent) == update
        update.key.encode()
    return updates


def _dead_letter_of(raw: bytes | None, error: PermanentError) -> None:
    assert error.reason, "a dead letter needs a reason"
    assert re.fullmatch(r"[a-z][a-z-]*", error.reason), error.reason
    assert error.detail, "a dead letter needs a detail"
    assert len(error.detail) <= MAX_DETAIL, f"{error.reason}: detail of {len(error.detail)}"
    assert not SSIN_LIKE.search(error.detail), f"{error.reason}: {error.detail}"
    record = SimpleNamespace(topic="sk.src.x", partition=0, offset=1, key=b"k", value=raw,
                             headers=[])
    dead_letter(record, DeadLetter(error.reason, error.detail, "PermanentError"), "x.dlq")


def holds(raw: bytes | None) -> None:
    """The property, for one input."""
    outcome = source_stage_outcome(raw)
    assert isinstance(outcome, (list, PermanentError))


# --------------------------------------------------------------------------- strategies

SQL = "'); DROP TABLE fiche;--"
MARKUP = "<script>alert(1)</script>"
ODD_TEXTS = ["", " ", "\x00", "\ud800", "\udfff", "a\ud83d", "\u202e", "\ufeff", "𝕏" * 50,
             SQL, MARKUP, "null", "NaN", "-1", "1e309", "0" * 40, "../../etc/passwd",
             "%s%n", "{}", "[]", "ACTIVE", "PHYSICIAN", "2026-02-30", "9999-12-31T23:59:60Z",
             *SSINS]

json_leaves = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40), st.sampled_from(ODD_TEXTS),
)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keys = st.one_of(st.text(max_size=12), st.sampled_from(SSINS))
    return st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4))


json_values = st.recursive(json_leaves, _containers, max_leaves=12)


@st.composite
def huge_strings(draw: st.DrawFn) -> str:
    """Up to about the size cap, made of one drawn character (cheap to generate)."""
    char = draw(st.sampled_from(["x", "é", "€", "𝕏", "\\", '"', "\x00", "\ud800", " "]))
    return char * draw(st.integers(min_value=1_000, max_value=120_000))


DEPTHS = [50, 200, 500, 900, 990, 1_000, 1_500, 3_000, 100_000]
PLACEHOLDER = "\u0000deep\u0000"


def nested_text(depth: int, as_object: bool) -> bytes:
    """JSON nested ``depth`` lists or objects deep, written directly (json.dumps would give up
    long before the decoder does)."""
    if as_object:
        return b'{"a":' * depth + b"1" + b"}" * depth
    return b"[" * depth + b"1" + b"]" * depth


@st.composite
def nested(draw: st.DrawFn) -> Any:
    """A nested value json.dumps can still write (for field replacements)."""
    as_object = draw(st.booleans())
    value: Any = 1
    for _ in range(draw(st.sampled_from([10, 63, 64, 65, 100, 300, 500]))):
        value = {"a": value} if as_object else [value]
    return value


@st.composite
def huge_numbers(draw: st.DrawFn) -> Any:
    digits = draw(st.integers(min_value=19, max_value=6_000))
    value = 10 ** digits if digits < 4_300 else None
    return value if value is not None else draw(st.sampled_from([2**63, -(2**63) - 1, 2**64]))


replacements = st.one_of(json_values, huge_strings(), nested(), huge_numbers(),
                         st.sampled_from(ODD_TEXTS))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON document, the root excluded."""
    items: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


def _replace(document: Any, path: tuple[Any, ...], value: Any, delete: bool) -> None:
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


@st.composite
def mutated_documents(draw: st.DrawFn, times: int = 1) -> Any:
    """A sample event with ``times`` fields replaced by another value or deleted."""
    document = copy.deepcopy(draw(any_document))
    for _ in range(times):
        paths = list(_paths(document))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        _replace(document, path, draw(replacements), delete=draw(st.integers(0, 5)) == 0)
    return document


def encoded(document: Any, ascii_only: bool) -> bytes:
    """JSON bytes as a producer might write them; a lone surrogate becomes invalid UTF-8."""
    return json.dumps(document, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def _keys_and_leaves(value: Any, keys: set[str], leaves: list[Any]) -> None:
    if isinstance(value, dict):
        keys.update(value)
        for child in value.values():
            _keys_and_leaves(child, keys, leaves)
    elif isinstance(value, list):
        for child in value:
            _keys_and_leaves(child, keys, leaves)
    elif value not in leaves:
        leaves.append(value)


_KEYS: set[str] = {"matchId", "recordId", "conflictId", "decision", "source", "kind"}
_LEAVES: list[Any] = [str(uuid) for uuid in ("3f2b8c1e-5a7d-4e9f-b6c2-8d1e0f4a7b93",)]
for _document in EVERY_DOCUMENT:
    _keys_and_leaves(_document["data"], _KEYS, _LEAVES)
sample_leaves = st.sampled_from(_LEAVES)


def _plausible_containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keys = st.sampled_from(sorted(_KEYS))
    return st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=5))


plausible_values = st.recursive(st.one_of(sample_leaves, sample_leaves, json_leaves),
                                _plausible_containers, max_leaves=8)


@st.composite
def any_type_events(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed envelope of any registered type around data made of the samples' own
    field names and values, recombined: reaches checks that corrupting one sample cannot."""
    data = draw(st.dictionaries(st.sampled_from(sorted(_KEYS)), plausible_values, max_size=8))
    return {
        "specversion": "1.0", "id": draw(st.text(min_size=1, max_size=20)),
        "source": draw(st.sampled_from([d["source"] for d in EVERY_DOCUMENT])),
        "type": draw(st.sampled_from(REGISTERED_TYPES)),
        "time": draw(st.sampled_from([None, "2026-11-28T09:15:02Z", "2026-11-28T09:15:02",
                                      "1970-01-01T00:00:00Z", "0001-01-01T00:00:00Z"])),
        "subject": draw(st.one_of(st.none(), sample_leaves.map(str), st.text(max_size=20))),
        "data": data,
    }


sample_bytes = any_document.map(lambda doc: encoded(doc, False))


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("topic", list(TOPICS))
def test_every_valid_sample_maps_or_is_refused_for_its_stated_reason(topic: str) -> None:
    """The samples hold good events and a few known poison ones: all keep the property, and
    each source's good ones give updates."""
    outcomes = [source_stage_outcome(encoded(doc, False)) for doc in DOCUMENTS[topic]]
    assert any(isinstance(outcome, list) and outcome for outcome in outcomes)


@budget("random")
@given(st.one_of(st.binary(max_size=4_000), st.none()))
@example(b"")
@example(b"\x00" * 10)
@example(b"\xef\xbb\xbf{}")
@example(b'{"specversion": "1.0"}')
def test_random_bytes_are_refused_never_crash(raw: bytes | None) -> None:
    """Bytes that are no event at all become a dead letter with a reason."""
    holds(raw)


@budget("truncated")
@given(sample_bytes, st.data())
def test_a_truncated_event_is_refused_never_crashes(raw: bytes, data: st.DataObject) -> None:
    """Every prefix of a good event (a producer cut off mid-write) is undecodable."""
    cut = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    outcome = source_stage_outcome(raw[:cut])
    assert isinstance(outcome, PermanentError)


@budget("utf8")
@given(sample_bytes, st.data())
def test_invalid_utf8_anywhere_is_refused_never_crashes(raw: bytes, data: st.DataObject) -> None:
    """Bytes that are not UTF-8 (a stray Latin-1 byte, an encoded surrogate, a cut sequence)."""
    at = data.draw(st.integers(min_value=0, max_value=len(raw)))
    bad = data.draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xe2\x82",
                                     b"\xf8\x88\x80\x80\x80", b"\xc0\xaf", b"\xe9"]))
    replace = data.draw(st.booleans())
    holds(raw[:at] + bad + raw[at + (1 if replace else 0):])


LITERALS = [b"NaN", b"Infinity", b"-Infinity", b"1e999999", b"-0", b"1.0e-400", b"0.1e1",
            b'"\\ud800"', b'"x\\udfff"', b'"\\udc00\\ud800"', b'"\\ud83d\\ude00"',
            b'"\\u0000"', b'"\\u202e"']


@st.composite
def json_texts(draw: st.DrawFn) -> bytes:
    """JSON text no encoder writes but a decoder reads: deep nesting, numbers with thousands of
    digits, NaN and infinities, escaped lone surrogates."""
    kind = draw(st.sampled_from(["nested", "digits", "literal"]))
    if kind == "nested":
        return nested_text(draw(st.sampled_from(DEPTHS)), draw(st.booleans()))
    if kind == "digits":
        digits = draw(st.sampled_from([19, 20, 400, 4_300, 4_301, 100_000]))
        return draw(st.sampled_from([b"", b"-"])) + b"1" * digits
    return draw(st.sampled_from(LITERALS))


@budget("nested")
@given(any_document, json_texts(), st.data())
@example(EVERY_DOCUMENT[0], b"1" * 5_000, None)
@example(EVERY_DOCUMENT[0], b'"\\ud800"', None)
def test_a_field_written_as_hostile_json_text_is_refused_or_mapped_never_crashes(
    document: dict[str, Any], text: bytes, data: st.DataObject | None,
) -> None:
    """The whole message, ``data`` or one place in the event written as such text."""
    where = data.draw(st.sampled_from([(), ("data",), *_paths(document)])) if data else ("id",)
    if not where:
        holds(text)
        return
    document = copy.deepcopy(document)
    _replace(document, where, PLACEHOLDER, delete=False)
    holds(encoded(document, True).replace(json.dumps(PLACEHOLDER).encode(), text))


@budget("size")
@given(sample_bytes, st.integers(min_value=-64, max_value=64), st.sampled_from([b" ", b"\n"]))
def test_a_message_at_the_size_cap_is_mapped_and_one_past_it_is_too_large(
    raw: bytes, around: int, padding: bytes,
) -> None:
    """Whitespace padding keeps the JSON valid: only the size decides."""
    size = MAX_MESSAGE_BYTES + around
    padded = raw[:-1] + padding * (size - len(raw)) + raw[-1:]
    outcome = source_stage_outcome(padded)
    if size > MAX_MESSAGE_BYTES:
        assert isinstance(outcome, PermanentError)
        assert outcome.reason == "too-large"
    else:
        assert not (isinstance(outcome, PermanentError) and outcome.reason == "too-large")


@budget("mutated")
@given(mutated_documents(), st.booleans())
@example({**EVERY_DOCUMENT[0], "data": {**EVERY_DOCUMENT[0]["data"], "sourceVersion": 2**64}},
         True)
@example({**EVERY_DOCUMENT[0], "data": {**EVERY_DOCUMENT[0]["data"], "lastName": "\ud800"}},
         False)
def test_a_good_event_with_one_field_corrupted_is_mapped_or_refused_never_crashes(
    document: Any, ascii_only: bool,
) -> None:
    """One field of another type, huge, odd, deeply nested, a huge number, or missing."""
    holds(encoded(document, ascii_only))


@budget("doubly_mutated")
@given(mutated_documents(times=3), st.booleans())
def test_a_good_event_with_several_fields_corrupted_is_mapped_or_refused_never_crashes(
    document: Any, ascii_only: bool,
) -> None:
    """Several corruptions at once reach checks that one alone cannot (a removed event with
    a bad number and a missing version, ...)."""
    holds(encoded(document, ascii_only))


@budget("any_type")
@given(any_type_events())
def test_any_registered_type_around_recombined_data_is_mapped_or_refused_never_crashes(
    document: dict[str, Any],
) -> None:
    """Every mapper, fed the fields it knows with values of the wrong kind or shape."""
    holds(encoded(document, False))


# --------------------------------------------------------------------------- crashes found


def _professional(**data: Any) -> dict[str, Any]:
    first = DOCUMENTS["cobrha_professional"][0]
    return {**first, "data": {**first["data"], **data}}


def test_a_number_with_more_digits_than_python_converts_is_undecodable() -> None:
    """Found by fuzzing: json.loads raised a bare ValueError (the 4300-digit limit)."""
    raw = json.dumps(_professional(sourceVersion=7)).replace("7", "7" * 5_000, 1)
    outcome = source_stage_outcome(raw.replace('"sourceVersion": 7', '"sourceVersion": '
                                               + "7" * 5_000).encode())
    assert isinstance(outcome, PermanentError)
    assert outcome.reason == "undecodable"


def test_an_encoded_surrogate_is_not_utf8_and_is_refused() -> None:
    """Found by fuzzing: json.loads decodes bytes with surrogatepass, so an encoded surrogate
    reached the update and failed when the stage serialised it, outside the mapper's guard."""
    raw = json.dumps(_professional(lastName="\ud800"), ensure_ascii=False)
    outcome = source_stage_outcome(raw.encode("utf-8", "surrogatepass"))
    assert isinstance(outcome, PermanentError)
    assert (outcome.reason, outcome.detail) == ("undecodable", "not UTF-8: UnicodeDecodeError")


@pytest.mark.parametrize("text", ['"\\ud800"', '"x\\udfff"', '"\\udc00\\ud800"'])
def test_an_escaped_lone_surrogate_is_refused(text: str) -> None:
    """The same lone surrogate, written as a JSON escape."""
    raw = json.dumps(_professional(lastName="@")).replace('"@"', text)
    outcome = source_stage_outcome(raw.encode())
    assert isinstance(outcome, PermanentError)
    assert outcome.reason == "undecodable"


def test_an_escaped_surrogate_pair_and_a_leading_bom_are_still_read() -> None:
    """A pair is one character (an emoji in a name); a BOM is harmless."""
    raw = json.dumps(_professional(lastName="@")).replace('"@"', '"De \\ud83d\\ude00"')
    [update] = source_stage_outcome(b"\xef\xbb\xbf" + raw.encode())  # type: ignore[misc]
    assert update.fields["name.last"] == "De \U0001f600"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_number_json_does_not_have_is_refused_rather_than_turned_into_null(
    literal: str,
) -> None:
    """Found by fuzzing: a hand edit of ``NaN`` or ``1e999`` mapped to a float the update
    then wrote as null, so the edit would have pinned an empty value."""
    edit = DOCUMENTS["manual_edit"][1]
    raw = json.dumps(edit).replace('"+3255999000"', literal)
    assert literal in raw
    outcome = source_stage_outcome(raw.encode())
    assert isinstance(outcome, PermanentError)
    assert outcome.reason == "undecodable"


@pytest.mark.parametrize("depth", [65, 150, 250, 900])
def test_a_deeply_nested_value_is_refused_before_validation_with_a_short_detail(
    depth: int,
) -> None:
    """Found by fuzzing: nested 900 deep, the envelope's validation error listed the whole
    path as its detail (1800 characters in a log line and a header); nested 250 deep in a
    created fiche's field, the update was made but the apply stage's JSON parser (200 levels)
    refused it, so a bad source event was dead-lettered as a bad canonical update."""
    created = DOCUMENTS["manual_edit"][0]
    raw = json.dumps(created).replace('"ma-vr 9-12"', "[" * depth + "1" + "]" * depth)
    outcome = source_stage_outcome(raw.encode())
    assert isinstance(outcome, PermanentError)
    assert outcome.reason == "too-deep"
    assert len(outcome.detail) <= 100


def test_a_field_nested_as_deep_as_allowed_is_mapped() -> None:
    """The depth limit leaves room: the document nests 64 levels in all here."""
    created = DOCUMENTS["manual_edit"][0]
    raw = json.dumps(created).replace('"ma-vr 9-12"', "[" * 60 + "1" + "]" * 60)
    [update] = source_stage_outcome(raw.encode())  # type: ignore[misc]
    assert update.fields["openingHours"] == json.loads("[" * 60 + "1" + "]" * 60)


def test_a_validation_error_names_at_most_ten_short_places() -> None:
    """Places come from the document's own keys: each is cut to 80 characters."""
    long_keys = {"k" * 5_000 + str(n): 5 for n in range(20)}
    organisation = DOCUMENTS["cobrha_organisation"][0]
    raw = json.dumps({**organisation, "data": {**organisation["data"],
                                               "names": long_keys}})
    outcome = source_stage_outcome(raw.encode())
    assert isinstance(outcome, PermanentError)
    assert len(outcome.detail) <= 10 * 82 + 10


def test_a_nul_character_postgresql_cannot_store_is_refused_at_decode() -> None:
    """Found writing the hostile-input tests: ``\\u0000`` is JSON, maps fine, and then failed
    the apply stage's insert (PostgreSQL stores no NUL), dead-lettering a canonical update as
    an internal error instead of the source event with its reason."""
    raw = json.dumps(_professional(lastName="Pee\x00ters"))
    assert "\\u0000" in raw
    outcome = source_stage_outcome(raw.encode())
    assert isinstance(outcome, PermanentError)
    assert outcome.reason == "unstorable"


def test_a_backslash_followed_by_u0000_is_ordinary_text() -> None:
    """Only a real NUL is refused, not the six characters that spell its escape."""
    raw = json.dumps(_professional(lastName="C:\\u0000"))
    [update] = source_stage_outcome(raw.encode())  # type: ignore[misc]
    assert update.fields["name.last"] == "C:\\u0000"


def _with_profession(**entry: Any) -> dict[str, Any]:
    first = DOCUMENTS["cobrha_professional"][0]
    profession = {**first["data"]["professions"][0], **entry}
    return {**first, "data": {**first["data"], "professions": [profession]}}


@pytest.mark.parametrize(("document", "reason"), [
    (_with_profession(professionCode="85073003328"), "unknown-profession"),
    (_with_profession(professionCode="85.07.30-033.28"), "unknown-profession"),
    (_with_profession(friendlyName={"85073003328": 5}), "schema-invalid"),
    ({**DOCUMENTS["manual_edit"][1], "data": {**DOCUMENTS["manual_edit"][1]["data"],
                                              "changes": {"85073003328": "x"}}},
     "unknown-field"),
    ({**DOCUMENTS["cobrha_professional"][0], "specversion": "85073003328"},
     "not-a-cloudevent"),
])
def test_an_ssin_where_a_code_key_or_field_name_goes_is_not_echoed_in_the_detail(
    document: dict[str, Any], reason: str,
) -> None:
    """Found writing the SSIN scan: details echoed a bad code, a dict key or a field name,
    so an SSIN a source put in the wrong place reached logs, dead-letter headers and (for a
    hand edit) the editor's notification. SSIN-shaped numbers are masked now."""
    outcome = source_stage_outcome(encoded(document, False))
    assert isinstance(outcome, PermanentError)
    assert outcome.reason == reason
    assert not SSIN_LIKE.search(outcome.detail), outcome.detail
