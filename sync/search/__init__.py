"""A reference search index fed only by fiche events (``sk.fiche.event``).

It shows what a downstream search team builds from the events alone: it imports nothing of the
service's store and never reads its database. Pure parts (vocabulary, places, documents,
mappings, queries) are separate from the consumer that writes to OpenSearch.
"""
