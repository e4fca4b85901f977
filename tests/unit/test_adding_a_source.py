"""Specification of the source registry (sync.sources): one entry is all a new source needs.

The example is a pharmacists' register that sends pharmacies by their NIHII-PHARMACY number.
Registering it makes its Source, its topic, its event type and its mapper known to the whole
service; where it ranks is the policy's business, so it sets no field until the policy names it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from pydantic import Field

from sync import sources
from sync.cloudevents import CloudEvent, decode
from sync.consumers.source import SourceStage, as_message
from sync.errors import PermanentError
from sync.events import FicheKind, FicheUpdate, Identifier, Source
from sync.mapping import MappingContext
from sync.mapping.common import Inbound, observed_at, origin_of, parse_data, update_id_of
from sync.matching import is_matchable
from sync.merge import merge, new_state
from sync.policy import Policy, default_policy
from sync.settings import Settings, Topics, as_environment
from sync.sources import SourceSpec, map_event, topic_key_for

TYPE_UPSERTED = "be.example.pharmacy.upserted"
CONTEXT = MappingContext(ssin_secret=b"test-secret")


class Pharmacy(Inbound):
    """A pharmacy as the example register sends it."""

    number: str = Field(min_length=8, max_length=8)
    name: str
    version: int


def map_pharmacy(event: CloudEvent, context: MappingContext) -> FicheUpdate:
    """The example source's mapper: pure, like every other."""
    pharmacy = parse_data(Pharmacy, event)
    return FicheUpdate(
        update_id=update_id_of(event), origin=origin_of(event), source=Source("pharmacies"),
        record_id=pharmacy.number, source_version=pharmacy.version,
        observed_at=observed_at(event), kind=FicheKind.ORGANISATION,
        identifiers=(Identifier(type="NIHII-PHARMACY", value=pharmacy.number),),
        fields={"name": pharmacy.name})


EXAMPLE = SourceSpec("pharmacies", "pharmacy_register", "sk.src.pharmacies.register",
                     "be.example.pharmacy.", {TYPE_UPSERTED: map_pharmacy}, authentic=True)


@pytest.fixture
def registered() -> Iterator[Source]:
    """The example source, registered for one test."""
    source = sources.register(EXAMPLE)
    yield source
    sources.unregister(EXAMPLE.topic_key)


def pharmacy_event() -> bytes:
    """A pharmacy event as it arrives on the example source's topic."""
    return json.dumps({
        "specversion": "1.0", "id": "pharmacy-31012345-7", "source": "urn:example:pharmacies",
        "type": TYPE_UPSERTED, "time": "2026-12-01T09:00:00Z", "subject": "31012345",
        "datacontenttype": "application/json",
        "data": {"number": "31012345", "name": "Apotheek De Gaper", "version": 7},
    }).encode()


def test_a_registered_source_maps_its_events_to_canonical_updates(registered: Source) -> None:
    """An event of the new source, decoded and mapped as the map stage does, is a FicheUpdate
    of that source, and survives the trip over sk.fiche.update."""
    [update] = map_event(decode(pharmacy_event()), CONTEXT)
    assert update.source is registered
    assert update.source.value == "pharmacies"
    assert update.identifiers == (Identifier(type="NIHII-PHARMACY", value="31012345"),)
    assert update.fields == {"name": "Apotheek De Gaper"}
    again = FicheUpdate.model_validate_json(update.model_dump_json(by_alias=True))
    assert again == update
    assert again.source is registered


def test_the_map_stage_turns_an_event_of_a_registered_source_into_an_update_to_publish(
        registered: Source) -> None:
    """What the map stage would publish on sk.fiche.update for a record of the new topic."""
    record = SimpleNamespace(topic="sk.src.pharmacies.register", partition=0, offset=0,
                             value=pharmacy_event())
    stage = SourceStage(Settings(), producer=None, context=CONTEXT)  # type: ignore[arg-type]
    [(mapped_record, [mapped], other)] = stage.map([record])
    assert mapped_record is record
    assert other == []
    (topic, key, value, headers) = as_message("sk.fiche.update", mapped)
    update = FicheUpdate.model_validate_json(value)
    assert update == mapped
    assert topic == "sk.fiche.update"
    assert key == update.key.encode()
    assert update.source is registered
    assert update.record_id == "31012345"
    assert headers == [("ce_id", str(update.update_id).encode())]


def test_a_registered_source_has_its_topic_among_the_source_topics(registered: Source) -> None:
    """Its topic is consumed with the others, routed to by event type, and overridable."""
    assert "sk.src.pharmacies.register" in Topics().sources()
    assert topic_key_for(TYPE_UPSERTED) == "pharmacy_register"
    renamed = Topics(prefix="t.", pharmacy_register="pharmacies.in")
    assert renamed.name("pharmacy_register") == "t.pharmacies.in"
    environment = as_environment(Settings(topics=renamed))
    assert environment["SKSYNC_TOPICS__PHARMACY_REGISTER"] == "pharmacies.in"


def test_a_registered_source_is_authentic_and_matchable_as_its_entry_says(
        registered: Source) -> None:
    """Authenticity (verification, status) and matching read the entry."""
    [update] = map_event(decode(pharmacy_event()), CONTEXT)
    assert sources.is_authentic(registered)
    assert is_matchable(update)
    assert not sources.is_authentic(Source.ASSOCIATION)
    assert not sources.is_matchable_source(Source.MANUAL)


def test_a_new_source_sets_a_field_only_where_the_policy_names_it(registered: Source) -> None:
    """The shipped policy does not name the example source: its name is kept in provenance
    but not shown. A policy that ranks it for the name shows it."""
    [update] = map_event(decode(pharmacy_event()), CONTEXT)
    state = new_state(update.update_id, FicheKind.ORGANISATION)
    assert "name" not in merge(state, update, default_policy()).state.visible
    ranked = Policy.from_json({"version": 1, "groups": [
        {"name": "organisation", "kinds": ["organisation"], "fields": ["name"],
         "ranking": ["kbo", "pharmacies"], "manual": "pin"}]})
    assert merge(state, update, ranked).state.visible["name"] == "Apotheek De Gaper"


def test_an_event_type_of_an_unregistered_source_is_unknown() -> None:
    """Without the entry, nothing knows the example source's events."""
    event = CloudEvent(id="x", source="urn:example:pharmacies", type=TYPE_UPSERTED,
                       time=datetime(2026, 12, 1, tzinfo=UTC), data={})
    assert topic_key_for(TYPE_UPSERTED) is None
    assert "sk.src.pharmacies.register" not in Topics().sources()
    with pytest.raises(PermanentError, match="no mapping"):
        map_event(event, CONTEXT)


def test_every_built_in_source_is_registered() -> None:
    """The four sources the code names are declared in the registry, each with its topic."""
    assert {spec.source for spec in sources.specs()} >= {s.value for s in (
        Source.COBRHA, Source.KBO, Source.ASSOCIATION, Source.MANUAL)}
    assert [spec.topic_key for spec in sources.BUILT_IN] == [
        "cobrha_professional", "cobrha_organisation", "kbo_entity", "association_member",
        "manual_edit"]
