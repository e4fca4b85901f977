"""Mapping ahead of a batch (:meth:`SourceStage.map_ahead`) and its use by the batch
(:meth:`SourceStage.map`): the same updates as mapping in the batch, nothing for what cannot
be mapped (its batch dead-letters it), and a result trusted only for the record it was made of."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from sync.consumers.source import SourceStage
from sync.mapping import MappingContext
from sync.settings import Settings
from tests.support.builders import nihii, professional

TOPIC = "sk.src.cobrha.professional"


def stage() -> SourceStage:
    return SourceStage(Settings(), producer=None,
                       context=MappingContext(ssin_secret=b"test-secret"))


def record(value: bytes, offset: int = 0) -> Any:
    return SimpleNamespace(topic=TOPIC, partition=0, offset=offset, key=b"k", value=value,
                           headers=[])


def test_what_is_mapped_ahead_is_what_the_batch_would_map() -> None:
    records = [record(json.dumps(professional(nihii("5"), last=f"Ahead{i}")).encode(), i)
               for i in range(3)]
    ahead = stage().map_ahead(records)
    assert set(ahead) == {id(r) for r in records}
    for mapped_record, updates in ahead.values():
        [(same, [update], other)] = stage().map([mapped_record])
        assert same is mapped_record
        assert other == []
        assert updates == [update]


def test_a_record_that_cannot_be_mapped_is_left_to_its_batch() -> None:
    refused = record(json.dumps(professional(code="ASTROLOGER")).encode())
    broken = record(b"{not json", 1)
    assert stage().map_ahead([refused, broken]) == {}
    mapped = stage().map([refused, broken], {})
    assert [(len(updates), len(other)) for _, updates, other in mapped] == [(0, 1), (0, 1)]
    reasons = [dict(other[0][3])["sksync-reason"] for _, _, other in mapped]
    assert reasons == [b"unknown-profession", b"undecodable"]


def test_the_batch_uses_what_was_mapped_ahead_for_the_very_record_only() -> None:
    """The batch takes the ahead result instead of mapping again; an entry under the id of
    another object (a record read again after a failure is a new object) is ignored."""
    first = record(json.dumps(professional(nihii("5"), last="Kept")).encode())
    ahead = stage().map_ahead([first])
    [(_, kept_updates)] = ahead.values()
    sentinel = [*kept_updates]  # a distinct list: the batch must hand over this very one
    [(_, updates, _)] = stage().map([first], {id(first): (first, sentinel)})
    assert updates is sentinel
    again = record(first.value)
    [(_, updates, _)] = stage().map([again], {id(again): (first, sentinel)})
    assert updates is not sentinel
    assert updates == kept_updates
