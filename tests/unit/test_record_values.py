"""A source record's values as one ``source_record`` row and back (sync/store/record_values.py):
the provenance entries come back as the merge wrote them, whatever their versions and times."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.events import Source
from sync.merge import Provenance
from sync.store.record_values import provenance_of, record_values

T0 = datetime(2026, 11, 28, 9, tzinfo=UTC)
FIELDS = ["contact.phone", "contact.email", "name.last", "languages", "status"]
VALUES = st.one_of(st.text(max_size=5), st.integers(), st.lists(st.text(max_size=3), max_size=2),
                   st.fixed_dictionaries({"active": st.booleans()}))


@st.composite
def records(draw: st.DrawFn) -> tuple[Source, int, list[Provenance]]:
    """One record's entries: each from one of its versions (up to the record's own), at a time
    in any time zone, some with a text as given."""
    source = draw(st.sampled_from([Source.COBRHA, Source.ASSOCIATION, Source.MANUAL]))
    version = draw(st.integers(1, 5))
    entries = []
    for name in draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=5)):
        zone = timezone(timedelta(hours=draw(st.integers(-2, 2))))
        at = (T0 + timedelta(seconds=draw(st.integers(0, 10**6)),
                             microseconds=draw(st.integers(0, 999_999)))).astimezone(zone)
        entries.append(Provenance(name, source, "r:1", draw(VALUES), draw(st.integers(1, version)),
                                  at, draw(st.one_of(st.none(), st.text(max_size=5)))))
    return source, version, entries


def as_row(source: Source, version: int, entries: list[Provenance]) -> dict[str, object]:
    kept = record_values(version, entries)
    return {"source": source.value, "record_id": "r:1", "source_version": version,
            "fields": kept.fields, "as_given": kept.as_given, "observed_at": kept.observed_at,
            "per_field": kept.per_field}


@settings(deadline=None,  # a shared, busy machine: the first draws may be slow
          suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_a_record_row_gives_back_the_entries_it_was_made_of(
    record: tuple[Source, int, list[Provenance]],
) -> None:
    """Value, version, observation time and text as given, field for field."""
    source, version, entries = record
    back = provenance_of(as_row(source, version, entries))
    assert sorted(back, key=lambda p: p.field) == sorted(entries, key=lambda p: p.field)


def test_values_of_the_records_latest_version_carry_no_metadata_of_their_own() -> None:
    """The common case, a source sending whole records, stores the version and time once on
    the row: no per-field metadata; a value an earlier version gave keeps its own."""
    latest = [Provenance(name, Source.COBRHA, "r:1", "x", 3, T0) for name in FIELDS[:3]]
    whole = record_values(3, latest)
    assert (whole.per_field, whole.observed_at, whole.verified_at) == (None, T0, T0)
    older = Provenance("languages", Source.COBRHA, "r:1", ["nl"], 2, T0 - timedelta(days=1))
    mixed = record_values(3, [*latest, older])
    assert json.loads(mixed.per_field or "{}") == {"languages": {
        "source_version": 2, "observed_at": "2026-11-27T09:00:00+00:00",
        "verified_at": "2026-11-27T09:00:00+00:00"}}


def test_a_record_with_no_value_left_is_an_empty_object() -> None:
    assert record_values(4, []).fields == "{}"
    assert provenance_of({"source": "cobrha", "record_id": "r:1", "source_version": 4,
                          "fields": "{}", "as_given": None, "observed_at": None,
                          "per_field": None}) == []
