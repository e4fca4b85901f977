"""The search index's pure parts: vocabulary, places, documents, queries."""

from __future__ import annotations

from sync.professions import profession
from sync.search.document import index_action
from sync.search.mapping import index_body
from sync.search.places import centroid, find_place, place_names
from sync.search.query import search_body
from sync.search.vocabulary import category, synonym_rules
from tests.support.search import fiche_event, generated_directory


def test_synonym_rules_come_from_the_profession_table_and_join_related_professions() -> None:
    """Each rule holds the table's Dutch and French names; psychologists are one group."""
    rules = [set(rule.split(", ")) for rule in synonym_rules()]
    psychologists = next(r for r in rules if "psycholoog" in r)
    assert {"klinisch psycholoog", "psychotherapeut", "psychologue clinicien"} <= psychologists
    nurse = profession("NURSE")
    assert nurse is not None
    nurses = next(r for r in rules if nurse.nl in r)
    assert {"thuisverpleegkundige", "verpleegkundige thuiszorg", nurse.fr} <= nurses
    assert any({"kinesist", "kinesitherapeut"} <= r for r in rules)
    assert index_body()["settings"]["analysis"]["filter"]["nl_synonyms"]["synonyms"] == \
        synonym_rules()


def test_a_query_names_a_municipality_also_by_a_former_or_section_name() -> None:
    """2019 (Nevele -> Deinze) and 2025 (Melle -> Merelbeke-Melle) mergers, and sections."""
    nevele = find_place("kinesist Nevele")
    assert nevele is not None
    assert (nevele.named_nis, nevele.current_nis, nevele.rest) == ("44049", "44083", "kinesist")
    assert nevele.origin == centroid("44049")
    melle = find_place("Melle")
    assert melle is not None
    assert melle.current_nis == "44088"
    zolder = find_place("huisarts Zolder")
    assert zolder is not None
    assert zolder.name == "Heusden-Zolder"
    assert find_place("thuisverpleegkundige") is None
    assert {"Deinze", "Nevele", "Merendree"} <= set(place_names("44083"))


def test_a_fiche_event_becomes_a_document_versioned_by_the_fiche_version() -> None:
    provider = generated_directory().by_label("gp-horebeke")
    action = index_action(fiche_event(provider, version=4))
    assert action is not None
    assert (action.fiche_id, action.version) == (str(provider.fiche_id), 4)
    doc = action.document
    assert doc["category"] == "individual"
    assert doc["nis"] == ["45062"]
    assert "huisarts" in doc["professions"]
    assert doc["location"] == {"lat": centroid("45062")[0], "lon": centroid("45062")[1]}  # type: ignore[index]


def test_events_without_a_snapshot_change_no_document() -> None:
    linked = {"type": "be.socialekaart.fiche.linked", "data": {"ficheId": "x", "version": 2}}
    assert index_action(linked) is None
    assert index_action({"type": "be.socialekaart.notification.conflict", "data": {}}) is None


def test_public_searches_only_find_active_fiches_and_rank_by_place_when_one_is_named() -> None:
    body = search_body("psycholoog Horebeke")
    query = body["query"]["function_score"]
    assert {"term": {"status": "active"}} in query["query"]["bool"]["filter"]
    assert query["query"]["bool"]["must"][0]["multi_match"]["query"] == "psycholoog"
    assert any("gauss" in function for function in query["functions"])
    assert not any("gauss" in f for f in search_body("psycholoog")["query"]["function_score"][
        "functions"])


def test_an_organisation_without_a_type_is_sized_by_its_name() -> None:
    """KBO gives no CD-HCPARTY types: the name tells a hospital or a centre from a service."""
    assert category("organisation", ["orghospital"], "Thuiszorg X") == "hospital"
    assert category("organisation", [], "AZ Oudenaarde") == "hospital"
    assert category("organisation", [], "Centrum Geestelijke Gezondheidszorg Gent") == "centre"
    assert category("organisation", [], "Thuisverpleging De Backer") == "service"
    assert category("person", [], "Centrum") == "individual"
