"""The reference search index, fed only by fiche events, on real Kafka and a real OpenSearch.

The three complaints about the directory, as searches over a generated directory; then what
the indexer guarantees: deactivated fiches leave the results, redelivered and out-of-order
events leave the index right, a rebuild from the topic's beginning gives the same index, and
its lag is exported.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from devstack import free_port
from devstack.proxy import FreezingProxy
from sync.ops.status import broker_figures
from sync.producers.kafka import new_producer
from sync.search.indexer import STOP_GRACE_S, Indexer, search_client
from sync.search.query import search_body
from sync.search.settings import SearchSettings, index_group
from sync.settings import Settings, Topics
from tests.support.infra import Infrastructure
from tests.support.search import Directory, Provider, fiche_event, generated_directory
from tests.support.starting_broker import StartingBroker

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def search_url() -> Iterator[str]:
    """One OpenSearch node for the session (``SKSYNC_SEARCH_URL`` when set)."""
    given = os.environ.get("SKSYNC_SEARCH_URL")
    if given:
        yield given
        return
    from devstack.opensearch import LocalOpenSearch

    workdir = Path(tempfile.mkdtemp(prefix="sksync-search-"))
    workdir.chmod(0o755)  # the node runs as its own user when the suite runs as root
    node = LocalOpenSearch(workdir / "opensearch")
    try:
        yield node.start()
    finally:
        node.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _configs(infra: Infrastructure, url: str) -> tuple[Settings, SearchSettings]:
    run = uuid.uuid4().hex[:10]
    settings = Settings(kafka_bootstrap_servers=infra.kafka, topics=Topics(prefix=f"t{run}."),
                        consumer_group=f"sksync-t{run}", database_url="postgresql://unused/")
    return settings, SearchSettings(url=url, index=f"t{run}-fiches", lag_interval_s=0.2)


async def _publish(settings: Settings, events: list[dict[str, Any]]) -> None:
    producer = new_producer(settings)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(settings.topics.name("fiche_event"),
                                         json.dumps(event).encode(), key=event["subject"].encode())
    finally:
        await producer.stop()


@asynccontextmanager
async def _indexer(settings: Settings, search: SearchSettings,
                   rebuild: bool = False) -> AsyncIterator[Indexer]:
    indexer = Indexer(settings, search, rebuild=rebuild)
    task = asyncio.create_task(indexer.run())
    try:
        yield indexer
    finally:
        indexer.stop()
        await asyncio.wait_for(task, 30)


async def _until(what: str, check: Callable[[], Awaitable[bool]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.2)


def _documents(search: SearchSettings) -> dict[str, dict[str, Any]]:
    client = search_client(search)
    if not client.indices.exists_alias(name=search.index):
        return {}
    client.indices.refresh(index=search.index)
    hits = client.search(index=search.index, body={"size": 1000, "query": {"match_all": {}},
                                                   "version": True})["hits"]["hits"]
    return {hit["_id"]: {"version": hit["_version"], **hit["_source"]} for hit in hits}


async def _indexed(search: SearchSettings, count: int, min_version: int = 1) -> bool:
    docs = await asyncio.to_thread(_documents, search)
    return len(docs) >= count and all(d["version"] >= min_version for d in docs.values())


def _search(search: SearchSettings, text: str, size: int = 10) -> list[str]:
    client = search_client(search)
    client.indices.refresh(index=search.index)
    response = client.search(index=search.index, body=search_body(text, size))
    return [hit["_id"] for hit in response["hits"]["hits"]]


@pytest.fixture(scope="module")
async def directory_index(infra: Infrastructure, search_url: str
                          ) -> AsyncIterator[tuple[Directory, SearchSettings]]:
    """The generated directory, published as fiche events and indexed by a running indexer."""
    settings, search = _configs(infra, search_url)
    directory = generated_directory()
    await _publish(settings, [fiche_event(p) for p in directory.providers])
    async with _indexer(settings, search):
        await _until("the whole directory in the index",
                     lambda: _indexed(search, len(directory.providers)))
        yield directory, search


def _labels(directory: Directory, ids: list[str]) -> list[str]:
    by_id = {str(p.fiche_id): p for p in directory.providers}
    return [by_id[i].label for i in ids]


async def test_psycholoog_returns_individual_psychologists_among_the_first_results(
    directory_index: tuple[Directory, SearchSettings],
) -> None:
    """Individual (clinical) psychologists, not the centres and hospitals that employ them."""
    directory, search = directory_index
    top = _labels(directory, _search(search, "psycholoog", size=6))
    assert all(label.startswith("psychologist-") for label in top[:5]), top
    assert len([label for label in top if label.startswith("psychologist-")]) >= 5, top


async def test_synonyms_work_both_ways(directory_index: tuple[Directory, SearchSettings]) -> None:
    """"psychotherapeut" and "klinisch psycholoog" find psychologists; "kinesist" finds the
    physiotherapists that the profession table calls kinesitherapeut."""
    directory, search = directory_index
    for text in ("psychotherapeut", "klinisch psycholoog"):
        assert _labels(directory, _search(search, text, size=3))[0].startswith("psychologist-")
    physio = directory.ids(lambda p: any(x.get("code") == "PHYSIOTHERAPIST"
                                         for x in p.snapshot.get("professions", ())))
    found = set(_search(search, "kinesist", size=50))
    assert physio
    assert physio <= found


async def test_thuisverpleegkundige_returns_independent_nurses_and_small_services(
    directory_index: tuple[Directory, SearchSettings],
) -> None:
    """Every independent nurse and both small home-care services, all before any hospital
    (the hospitals' descriptions name nurses and home nursing too)."""
    directory, search = directory_index
    top = _labels(directory, _search(search, "thuisverpleegkundige", size=20))
    wanted = {f"nurse-{i}" for i in range(5)} | {"homecare-brakel", "homecare-oudenaarde"}
    assert wanted <= set(top[:10]), top
    assert set(top[:5]) == {f"nurse-{i}" for i in range(5)}, top
    hospitals = [top.index(h) for h in ("uz-gent", "az-stlucas", "az-aalst") if h in top]
    assert max(top.index(w) for w in wanted) < min(hospitals, default=len(top)), top


async def test_a_small_municipality_returns_its_own_and_neighbouring_providers_first(
    directory_index: tuple[Directory, SearchSettings],
) -> None:
    """"Horebeke": its providers, then its neighbours', before the city hospitals that name
    Horebeke in their description and service area."""
    directory, search = directory_index
    ranked = _labels(directory, _search(search, "Horebeke", size=30))
    own = [label for label in ranked if directory.by_label(label).nis == "45062"]
    assert set(ranked[:len(own)]) == set(own), ranked
    assert {"gp-horebeke", "psychologist-2"} <= set(own)
    hospitals = [ranked.index(h) for h in ("uz-gent", "az-stlucas") if h in ranked]
    neighbours = [i for i, label in enumerate(ranked) if directory.by_label(label).nis in
                  {"45065", "45064", "45035", "45059"}]
    assert len(neighbours) >= 6
    assert not hospitals or max(neighbours) < min(hospitals), ranked


async def test_a_municipality_merged_away_is_still_a_place(
    directory_index: tuple[Directory, SearchSettings],
) -> None:
    """"kinesist Nevele" (Deinze since 2019) finds the physiotherapist in Nevele first."""
    directory, search = directory_index
    assert _labels(directory, _search(search, "kinesist Nevele", size=3))[0] == "kine-nevele"


async def test_a_deactivated_fiche_disappears_from_the_results(
    infra: Infrastructure, search_url: str,
) -> None:
    settings, search = _configs(infra, search_url)
    nurse = generated_directory().by_label("nurse-0")
    await _publish(settings, [fiche_event(nurse)])
    async with _indexer(settings, search):
        await _until("the nurse indexed", lambda: _indexed(search, 1))
        assert _search(search, "verpleegkundige") == [str(nurse.fiche_id)]
        await _publish(settings, [fiche_event(nurse, version=2, status="inactive")])
        await _until("the deactivation indexed", lambda: _indexed(search, 1, min_version=2))
    assert _search(search, "verpleegkundige") == []
    assert _documents(search)[str(nurse.fiche_id)]["status"] == "inactive"


async def test_redelivered_and_out_of_order_events_leave_the_index_right(
    infra: Infrastructure, search_url: str,
) -> None:
    """Version 3, then 1, 2 and 3 again (and 2 once more): the index holds version 3. The
    indexer's lag shows in ``sksync status`` once it has committed, not before."""
    settings, search = _configs(infra, search_url)
    provider = generated_directory().by_label("psychologist-0")
    versions = {v: _renamed(provider, f"Naam{v}") for v in (1, 2, 3)}
    events = [fiche_event(provider, version=v, snapshot=versions[v]) for v in (3, 1, 2, 3, 2)]
    await _publish(settings, events)
    assert index_group(settings) not in _status_groups(await broker_figures(settings))
    async with _indexer(settings, search):
        await _until("all five events consumed", lambda: _lag_is(settings, 0))
    document = _documents(search)[str(provider.fiche_id)]
    assert (document["version"], document["name"]) == (3, f"{versions[3]['name.first']} Naam3")
    assert _status_groups(await broker_figures(settings))[index_group(settings)] == 0


def _status_groups(figures: dict[str, Any]) -> dict[str, int]:
    """Lag per group as ``sksync status`` shows it."""
    return {row["group"]: row["lag"] for row in figures["lag"]}


def _renamed(provider: Provider, last: str) -> dict[str, Any]:
    return {**provider.snapshot, "name.last": last}


async def _lag_is(settings: Settings, expected: float) -> bool:
    group = index_group(settings)
    samples = [s for metric in REGISTRY.collect() if metric.name == "sksync_consumer_lag_messages"
               for s in metric.samples if s.labels.get("group") == group]
    return bool(samples) and sum(s.value for s in samples) == expected


async def test_a_rebuild_from_the_beginning_gives_the_same_index(
    infra: Infrastructure, search_url: str,
) -> None:
    """Index, rebuild (a new index filled from the topic's beginning, then put behind the
    alias in place of the old one), compare every document."""
    settings, search = _configs(infra, search_url)
    providers = generated_directory().providers[:20]
    events = [fiche_event(p) for p in providers]
    events += [fiche_event(p, version=2, status="inactive") for p in providers[:3]]
    await _publish(settings, events)
    async with _indexer(settings, search):
        await _until("the feed indexed", lambda: _lag_is(settings, 0))
    before = _documents(search)
    async def rebuilt() -> bool:
        aliased = search_client(search).indices.get_alias(name=search.index)
        return list(aliased) == [f"{search.index}-2"] and (
            await asyncio.to_thread(_documents, search) == before)

    async with _indexer(settings, search, rebuild=True):
        await _until("the rebuilt index to equal the first", rebuilt)
    after = _documents(search)
    assert len(before) == len(providers)
    assert after == before
    assert not search_client(search).indices.exists(index=f"{search.index}-1")


async def test_an_indexer_started_while_its_broker_starts_waits_and_then_indexes(
    infra: Infrastructure, search_url: str,
) -> None:
    """Its bootstrap address answers like a broker still starting (metadata naming no
    broker): each start of the consumer is abandoned after ``SKSYNC_KAFKA_START_TIMEOUT_S``
    and begun afresh, nothing is indexed meanwhile; once the broker is up, the feed is."""
    settings, search = _configs(infra, search_url)
    [provider] = generated_directory().providers[:1]
    await _publish(settings, [fiche_event(provider)])
    async with StartingBroker(settings.kafka_bootstrap_servers) as starting:
        waiting = settings.model_copy(update={"kafka_bootstrap_servers": starting.address,
                                              "kafka_start_timeout_s": 2.0})
        async with _indexer(waiting, search) as indexer:
            deadline = time.monotonic() + 60
            while len(starting.answered) < 3:
                assert time.monotonic() < deadline, "the consumer's start was not begun again"
                await asyncio.sleep(0.2)
            assert _documents(search) == {}
            starting.come_up()
            await _until("the feed indexed once the broker is up", lambda: _indexed(search, 1))
            assert set(_documents(search)) == {str(provider.fiche_id)}
            assert indexer.target == f"{search.index}-1"


async def test_an_indexer_waiting_for_its_broker_stops_when_asked(
    infra: Infrastructure, search_url: str,
) -> None:
    """SIGTERM (``stop``) while the broker is away ends the run instead of waiting on."""
    settings, search = _configs(infra, search_url)
    away = settings.model_copy(update={"kafka_bootstrap_servers": f"127.0.0.1:{free_port()}"})
    indexer = Indexer(away, search)
    task = asyncio.create_task(indexer.run())
    await asyncio.sleep(3)
    assert not task.done()
    indexer.stop()
    await asyncio.wait_for(task, 10)


async def test_an_indexer_whose_engine_went_away_stops_when_asked_and_loses_nothing(
    infra: Infrastructure, search_url: str,
) -> None:
    """SIGTERM (``stop``) while a batch waits for a search engine gone in the middle of the
    run: the run ends once its grace is over, the batch uncommitted; the next indexer of the
    group indexes it."""
    settings, search = _configs(infra, search_url)
    first, second = generated_directory().providers[:2]
    async with FreezingProxy(search_url) as engine:
        indexer = Indexer(settings, search.model_copy(update={"url": engine.url}))
        task = asyncio.create_task(indexer.run())
        try:
            await _publish(settings, [fiche_event(first)])
            await _until("the first fiche indexed", lambda: _indexed(search, 1))
            engine.cut()
            await _publish(settings, [fiche_event(second)])
            await asyncio.sleep(3)  # fetched, and its writes refused and tried again
            assert set(_documents(search)) == {str(first.fiche_id)}
            indexer.stop()
            stopped = time.monotonic()
            await asyncio.wait_for(asyncio.shield(task), STOP_GRACE_S + 15)
            assert time.monotonic() - stopped < STOP_GRACE_S + 15
        finally:
            indexer.stop()
            if not task.done():
                task.cancel()
    async with _indexer(settings, search):
        await _until("the second fiche indexed by the next indexer", lambda: _indexed(search, 2))
    assert set(_documents(search)) == {str(first.fiche_id), str(second.fiche_id)}
