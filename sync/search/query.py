"""The public search: what a person types -> an OpenSearch query. Pure.

* Only active fiches are found (a deactivated fiche stays in the index, flagged, so that an
  older event redelivered later cannot bring it back: its version is still known).
* Words that name a municipality (also a former one, or a deelgemeente) are not matched as text:
  they say *where*. Providers in that municipality come first, then by distance from it (a
  Gaussian decay on the municipality's point), and providers whose service area includes it
  rank as if they were there.
* The other words are matched against professions (with synonyms), names, kinds of organisation
  and descriptions, in that order of weight (and place names the query did not recognise as
  one municipality, weakly), and the kind of provider weighs in
  (:data:`~sync.search.vocabulary.CATEGORY_WEIGHTS`).
"""

from __future__ import annotations

from typing import Any

from sync.search.places import QueryPlace, find_place
from sync.search.vocabulary import CATEGORY_WEIGHTS

__all__ = ["FIELDS", "search_body"]

FIELDS = ("professions^4", "organisationLabels^3", "names^2", "name^2", "about^0.5",
          "municipalities^0.5")
_NEAR = {"offset": "2km", "scale": "10km", "decay": 0.5}


def search_body(text: str, size: int = 10) -> dict[str, Any]:
    """The ``_search`` body for ``text``."""
    place = find_place(text)
    words = place.rest if place is not None else text
    must: list[dict[str, Any]] = []
    if words.strip():
        must.append({"multi_match": {"query": words, "fields": list(FIELDS),
                                     "type": "best_fields", "operator": "and"}})
    else:  # a place alone: everyone counts, the place decides the order (or nothing at all)
        must.append({"match_all": {}} if place is not None else {"match_none": {}})
    return {
        "size": size,
        "query": {"function_score": {
            "query": {"bool": {"filter": [{"term": {"status": "active"}}], "must": must,
                               "should": _here(place)}},
            "functions": [*_weights(), *_near(place)],
            "score_mode": "multiply", "boost_mode": "multiply",
        }},
        "_source": {"excludes": ["about"]},
    }


def _weights() -> list[dict[str, Any]]:
    return [{"filter": {"term": {"category": name}}, "weight": weight}
            for name, weight in CATEGORY_WEIGHTS.items()]


def _here(place: QueryPlace | None) -> list[dict[str, Any]]:
    if place is None:
        return []
    return [{"constant_score": {"filter": {"terms": {field: [place.current_nis]}},
                                "boost": 2.0}} for field in ("nis", "serviceAreaNis")]


def _near(place: QueryPlace | None) -> list[dict[str, Any]]:
    origin = place.origin if place is not None else None
    if origin is None:
        return []
    point = {"lat": origin[0], "lon": origin[1]}
    return [
        {"gauss": {"location": {"origin": point, **_NEAR}}},
        # A decay function scores a document without a location as 1 (no decay): those would
        # otherwise come first. Put them behind every placed provider instead.
        {"filter": {"bool": {"must_not": {"exists": {"field": "location"}}}}, "weight": 0.05},
    ]
