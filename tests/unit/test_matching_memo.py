"""A profile from memory is the one a computation gives (sync.matching.memo)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sync.matching import blocking_keys, profile_of
from sync.matching.memo import ProfileMemo
from sync.matching.profile import PROFILE_FIELDS

PERSON = {
    "name.first": "Ann", "name.last": "Van den Broeck", "contact.phone": "+3293000000",
    "contact.email": "ann@example.be", "professions": [{"code": "NURSE"}],
    "addresses": [{"street": "Kerkstraat", "houseNumber": "12", "postcode": "9000",
                   "nis": "44021"}],
    "languages": ["nl"], "status": {"active": True},
}
ORGANISATION = {"name": {"nl": "Wijkgezondheidscentrum De Brug", "fr": "Centre Le Pont"},
                "organisationTypes": ["WGC"], "addresses": [{"postcode": "1000"}]}


class _Reading(Mapping[str, Any]):
    """A mapping that notes the keys read."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values, self.read = values, set[str]()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return self.values.get(key, default)

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("profile_of reads fields by name only")

    def __len__(self) -> int:
        return len(self.values)


def test_profile_of_reads_only_the_fields_the_memo_keys_on() -> None:
    for kind, fields in (("person", PERSON), ("organisation", ORGANISATION)):
        reading = _Reading(fields)
        profile_of(kind, reading, ["0403019261"])
        assert reading.read <= set(PROFILE_FIELDS), reading.read - set(PROFILE_FIELDS)


def test_the_memo_answers_what_profile_of_and_blocking_keys_give() -> None:
    memo = ProfileMemo()
    cases = [("person", PERSON, []), ("organisation", ORGANISATION, ["0403019261"]),
             ("person", {**PERSON, "name.first": "Anna"}, []),
             ("person", {**PERSON, "languages": ["fr"]}, []),  # not read: the same profile
             ("organisation", ORGANISATION, ["0403019261", "0403019261"]),
             ("person", {**PERSON, "contact.phone": 10 ** 30}, [])]  # beyond orjson: computed
    for _ in range(2):  # computed, then from memory
        for kind, fields, kbo in cases:
            profile = profile_of(kind, fields, kbo)
            assert memo.keyed(kind, fields, kbo) == (profile, blocking_keys(profile))


def test_equal_inputs_are_computed_once() -> None:
    memo = ProfileMemo()
    first = memo.keyed("person", PERSON, [])
    again = memo.keyed("person", {**dict(reversed(PERSON.items())), "languages": ["fr"]}, [])
    assert again[0] is first[0]
    assert memo.keyed("organisation", PERSON, [])[0] is not first[0]
