"""The SQL of matching (:mod:`sync.store.matching`, :mod:`sync.store.match_batch`): every
statement about profiles, blocking keys, candidates, rejections and links, named once."""

from __future__ import annotations

__all__ = [
    "CANDIDATES",
    "CANDIDATES_OF_RECORDS",
    "CANDIDATE_BY_ID",
    "COUNT_BY_STATUS",
    "DELETE_KEYS",
    "DELETE_KEY_ROWS",
    "FICHES_AFTER",
    "IDENTIFIERS_OF",
    "INDEX_OF",
    "INSERT_REJECTION",
    "LINK_OF",
    "LOCK_CANDIDATE",
    "LOCK_FICHE",
    "MARK_SPLIT",
    "PENDING_OF_RECORD",
    "PENDING_OF_RECORDS",
    "SELECT_EXTRA",
    "SELECT_KEYS",
    "SET_STATUS",
    "SOURCES_OF",
    "STILL_FREE",
    "SUPERSEDE",
    "SUPERSEDE_RECORDS",
    "UPSERT_CANDIDATE",
    "UPSERT_EXTRA",
    "UPSERT_KEYS",
    "UPSERT_KEY_ROWS",
    "UPSERT_LINK",
    "UPSERT_PROFILE",
    "UPSERT_PROFILES",
    "WAITING",
]

# -- one record or fiche at a time (MatchStore) ---------------------------------------------

SELECT_EXTRA = "SELECT kbo_numbers FROM match_extra WHERE fiche_id = $1"
UPSERT_EXTRA = """
INSERT INTO match_extra (fiche_id, kbo_numbers) VALUES ($1, $2)
ON CONFLICT (fiche_id) DO UPDATE SET kbo_numbers = EXCLUDED.kbo_numbers
"""
UPSERT_PROFILE = """
INSERT INTO match_profile (fiche_id, kind, profile, updated_at) VALUES ($1, $2, $3::jsonb, $4)
ON CONFLICT (fiche_id) DO UPDATE SET kind = EXCLUDED.kind, profile = EXCLUDED.profile,
    updated_at = EXCLUDED.updated_at
"""
#: A fiche's blocking keys are one ``match_keys`` row (migration 0017), absent when it has none.
SELECT_KEYS = "SELECT keys FROM match_keys WHERE fiche_id = $1"
DELETE_KEYS = "DELETE FROM match_keys WHERE fiche_id = $1"
UPSERT_KEYS = """
INSERT INTO match_keys (fiche_id, keys) VALUES ($1, $2::text[])
ON CONFLICT (fiche_id) DO UPDATE SET keys = EXCLUDED.keys
"""
#: The fiches sharing a key with the record (its :func:`~sync.matching.lookup_keys`: the fiches
#: already holding a record of its source are not under those), found through the GIN index
#: on ``match_keys.keys`` (``&&``), of its kind, that may still be it: none holds a record of
#: the same source (checked again: a key row may be older than the record) or an identifier of
#: a type the record carries (that would be someone else), and no editor rejected the pair.
#: Most shared keys first; fiche id breaks ties. ``OFFSET 0`` keeps the keys' lookup first and
#: each profile read by its fiche id: while the statistics lag behind a growing table, the
#: planner would rather scan every profile (a hundred times slower at 100,000 fiches).
CANDIDATES = """
SELECT p.fiche_id, p.profile
FROM (SELECT fiche_id, (SELECT count(*) FROM unnest(keys) AS u(key)
                        WHERE u.key = ANY($1::text[])) AS shared
      FROM match_keys WHERE keys && $1::text[] OFFSET 0) k
CROSS JOIN LATERAL (SELECT fiche_id, profile FROM match_profile
                    WHERE fiche_id = k.fiche_id AND kind = $2 OFFSET 0) p
WHERE NOT EXISTS (SELECT 1 FROM source_record r WHERE r.fiche_id = p.fiche_id AND r.source = $3)
  AND NOT EXISTS (SELECT 1 FROM fiche_identifier i
                  WHERE i.fiche_id = p.fiche_id AND i.type = ANY($4::text[]))
  AND NOT EXISTS (SELECT 1 FROM match_rejection j
                  WHERE j.source = $3 AND j.record_id = $5 AND j.fiche_id = p.fiche_id)
ORDER BY k.shared DESC, p.fiche_id
LIMIT $6
"""
#: The fiche's row lock: whoever links a record to it holds this until commit.
LOCK_FICHE = "SELECT 1 FROM fiche WHERE id = $1 FOR UPDATE"
#: The candidate conditions for one fiche, checked *after* the lock, in a statement of its
#: own: under READ COMMITTED a new statement sees what a concurrent linker committed while
#: we waited, where subqueries of the locking statement would still see the old snapshot.
STILL_FREE = """
SELECT NOT EXISTS (SELECT 1 FROM source_record r WHERE r.fiche_id = $1 AND r.source = $2)
   AND NOT EXISTS (SELECT 1 FROM fiche_identifier i WHERE i.fiche_id = $1
                   AND i.type = ANY($3::text[]))
"""
PENDING_OF_RECORD = """
SELECT * FROM match_candidate WHERE source = $1 AND record_id = $2 AND status = 'pending'
ORDER BY score DESC, fiche_id
"""
UPSERT_CANDIDATE = """
INSERT INTO match_candidate (id, source, record_id, fiche_id, score, parts, pending_update,
                             source_version, status, created_at)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, 'pending', $9)
ON CONFLICT (id) DO UPDATE SET score = EXCLUDED.score, parts = EXCLUDED.parts,
    pending_update = EXCLUDED.pending_update, source_version = EXCLUDED.source_version,
    status = 'pending', decided_at = NULL, decided_by = NULL
RETURNING (xmax = 0) AS inserted
"""
SUPERSEDE = """
UPDATE match_candidate SET status = 'superseded', decided_at = $4
WHERE source = $1 AND record_id = $2 AND status = 'pending' AND NOT (id = ANY($3::uuid[]))
"""
CANDIDATE_BY_ID = "SELECT * FROM match_candidate WHERE id = $1"
LOCK_CANDIDATE = "SELECT * FROM match_candidate WHERE id = $1 FOR UPDATE"
SET_STATUS = """
UPDATE match_candidate SET status = $2, decided_at = $3, decided_by = $4 WHERE id = $1
"""
INSERT_REJECTION = """
INSERT INTO match_rejection (source, record_id, fiche_id, rejected_by, rejected_at)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING
"""
UPSERT_LINK = """
INSERT INTO match_link (fiche_id, source, record_id, identifiers, score, match_id, linked_by,
                        linked_at)
VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8)
ON CONFLICT (fiche_id, source, record_id) DO UPDATE SET identifiers = EXCLUDED.identifiers,
    score = EXCLUDED.score, match_id = EXCLUDED.match_id, linked_by = EXCLUDED.linked_by,
    linked_at = EXCLUDED.linked_at, split_into = NULL, split_by = NULL, split_at = NULL
"""
LINK_OF = """
SELECT * FROM match_link WHERE fiche_id = $1 AND source = $2 AND record_id = $3
  AND split_into IS NULL
"""
MARK_SPLIT = """
UPDATE match_link SET split_into = $4, split_by = $5, split_at = $6
WHERE fiche_id = $1 AND source = $2 AND record_id = $3
"""
WAITING = """
SELECT c.*, p.profile AS fiche_profile FROM match_candidate c
LEFT JOIN match_profile p ON p.fiche_id = c.fiche_id
WHERE c.status = 'pending' ORDER BY c.created_at, c.source, c.record_id, c.score DESC, c.id
LIMIT $1
"""
COUNT_BY_STATUS = "SELECT status, count(*) AS n FROM match_candidate GROUP BY status"
FICHES_AFTER = "SELECT id, kind, visible FROM fiche WHERE id > $1 ORDER BY id LIMIT $2"
IDENTIFIERS_OF = "SELECT fiche_id, type, value FROM fiche_identifier WHERE fiche_id = ANY($1)"
SOURCES_OF = "SELECT DISTINCT fiche_id, source FROM source_record WHERE fiche_id = ANY($1)"


# -- a whole apply batch at once (BatchMatchStore) ------------------------------------------

# The batched apply's reads, as select lists for :class:`~sync.store.reads.Reads`: sent with
# what the locked fiches hold, in one statement (:mod:`sync.store.match_batch`).

#: The pending candidates of many records at once, each a ``match_candidate`` row.
PENDING_OF_RECORDS = """
ARRAY(SELECT c FROM match_candidate c
      WHERE (c.source, c.record_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
        AND c.status = 'pending'
      ORDER BY c.source, c.record_id, c.score DESC, c.fiche_id) AS pending
"""
#: :data:`~sync.store.matching.CANDIDATES` for many records at once: ``$1..$5`` one row per
#: record (its number, kind, source, record id, identifier types separated by spaces), ``$6``
#: its blocking keys (a JSON array), ``$7`` the limit per record; each candidate a ``(number,
#: fiche id, profile)`` row. Each record's keys are looked up in the GIN index on their own
#: (``OFFSET 0`` keeps the planner from scanning the whole key table instead, which it prefers
#: while its statistics lag behind a fast-growing table).
CANDIDATES_OF_RECORDS = """
ARRAY(
WITH r AS (
    SELECT u.n, u.kind, u.source, u.record_id, u.id_types,
           ARRAY(SELECT jsonb_array_elements_text(u.keys::jsonb)) AS keys
    FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[],
                $6::text[]) AS u(n, kind, source, record_id, id_types, keys)
), hits AS MATERIALIZED (
    SELECT r.n, m.fiche_id, m.shared
    FROM r CROSS JOIN LATERAL (
        SELECT k.fiche_id, (SELECT count(*) FROM unnest(k.keys) AS u(key)
                            WHERE u.key = ANY(r.keys)) AS shared
        FROM match_keys k WHERE k.keys && r.keys OFFSET 0) AS m
), ranked AS (
    SELECT h.n, p.fiche_id, p.profile,
           row_number() OVER (PARTITION BY h.n ORDER BY h.shared DESC, p.fiche_id) AS place
    FROM hits h
    JOIN r ON r.n = h.n
    CROSS JOIN LATERAL (
        SELECT p.fiche_id, p.profile FROM match_profile p
        WHERE p.fiche_id = h.fiche_id AND p.kind = r.kind
          AND NOT EXISTS (SELECT 1 FROM source_record s
                          WHERE s.fiche_id = p.fiche_id AND s.source = r.source)
          AND NOT EXISTS (SELECT 1 FROM fiche_identifier i WHERE i.fiche_id = p.fiche_id
                          AND i.type = ANY(string_to_array(r.id_types, ' ')))
          AND NOT EXISTS (SELECT 1 FROM match_rejection j WHERE j.source = r.source
                          AND j.record_id = r.record_id AND j.fiche_id = p.fiche_id)
        OFFSET 0) AS p
)
SELECT ROW(n, fiche_id, profile) FROM ranked WHERE place <= $7 ORDER BY n, place
) AS candidates
"""
#: The stored blocking keys of the fiches ``$1`` and the extra KBO numbers of the fiches
#: ``$2``: ``(fiche id, items)`` rows of each.
INDEX_OF = """
ARRAY(SELECT ROW(k.fiche_id, k.keys) FROM match_keys k
      WHERE k.fiche_id = ANY($1::uuid[])) AS index_keys,
ARRAY(SELECT ROW(e.fiche_id, e.kbo_numbers) FROM match_extra e
      WHERE e.fiche_id = ANY($2::uuid[])) AS index_extra
"""
UPSERT_PROFILES = """
INSERT INTO match_profile (fiche_id, kind, profile, updated_at)
SELECT fiche_id, kind, profile::jsonb, updated_at
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])
     AS u(fiche_id, kind, profile, updated_at)
ON CONFLICT (fiche_id) DO UPDATE SET kind = EXCLUDED.kind, profile = EXCLUDED.profile,
    updated_at = EXCLUDED.updated_at
"""
#: The fiches whose keys changed: their whole new key set, one JSON array each (fiches have
#: keys of different counts, which a two-dimensional array cannot hold), in the given order.
UPSERT_KEY_ROWS = """
INSERT INTO match_keys (fiche_id, keys)
SELECT u.fiche_id, ARRAY(SELECT e.key FROM jsonb_array_elements_text(u.keys::jsonb)
                         WITH ORDINALITY AS e(key, place) ORDER BY e.place)
FROM unnest($1::uuid[], $2::text[]) AS u(fiche_id, keys)
ON CONFLICT (fiche_id) DO UPDATE SET keys = EXCLUDED.keys
"""
#: The fiches whose keys are now none (they hold records of every source that is matched).
DELETE_KEY_ROWS = "DELETE FROM match_keys WHERE fiche_id = ANY($1::uuid[])"
SUPERSEDE_RECORDS = """
UPDATE match_candidate AS c SET status = 'superseded', decided_at = u.at
FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS u(source, record_id, at)
WHERE c.source = u.source AND c.record_id = u.record_id AND c.status = 'pending'
"""
