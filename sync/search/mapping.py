"""The index's settings and mappings: Dutch analysis, profession synonyms, places. Pure.

Text is indexed with the Dutch stemmer (``psychologen`` and ``psycholoog`` meet) and searched
with the same chain plus the profession synonyms (a ``synonym_graph`` at query time only, so a
new synonym needs no reindex). Municipality names are folded but not stemmed: a place is a name.
"""

from __future__ import annotations

from typing import Any

from sync.search.vocabulary import synonym_rules

__all__ = ["MAPPING_VERSION", "index_body"]

#: Bumped when the mapping changes in a way that needs a rebuild (``sksync index --rebuild``).
MAPPING_VERSION = 1

_TEXT = {"type": "text", "analyzer": "nl_text", "search_analyzer": "nl_search"}
_KEYWORD = {"type": "keyword"}


def _analysis() -> dict[str, Any]:
    folding = ["lowercase", "asciifolding"]
    return {
        "filter": {
            "nl_stop": {"type": "stop", "stopwords": "_dutch_"},
            "nl_stem": {"type": "stemmer", "language": "dutch"},
            "nl_synonyms": {"type": "synonym_graph", "synonyms": synonym_rules()},
        },
        "analyzer": {
            "nl_text": {"tokenizer": "standard", "filter": [*folding, "nl_stop", "nl_stem"]},
            "nl_search": {"tokenizer": "standard",
                          "filter": [*folding, "nl_synonyms", "nl_stop", "nl_stem"]},
            "place": {"tokenizer": "standard", "filter": folding},
        },
    }


def index_body(replicas: int = 0) -> dict[str, Any]:
    """The body of the create-index request."""
    return {
        "settings": {"index": {"number_of_shards": 1, "number_of_replicas": replicas},
                     "analysis": _analysis()},
        "mappings": {
            "dynamic": "strict",
            "_meta": {"mappingVersion": MAPPING_VERSION},
            "properties": {
                "ficheId": _KEYWORD, "version": {"type": "long"}, "kind": _KEYWORD,
                "status": _KEYWORD, "category": _KEYWORD,
                "name": {**_TEXT, "fields": {"raw": _KEYWORD}},
                "names": _TEXT, "professions": _TEXT, "professionCodes": _KEYWORD,
                "organisationTypes": _KEYWORD, "organisationLabels": _TEXT, "about": _TEXT,
                "languages": _KEYWORD,
                "municipalities": {"type": "text", "analyzer": "place"},
                "nis": _KEYWORD, "serviceAreaNis": _KEYWORD, "location": {"type": "geo_point"},
                "addresses": {"type": "keyword", "index": False},
                "contact": {"type": "object", "enabled": False},
            },
        },
    }
