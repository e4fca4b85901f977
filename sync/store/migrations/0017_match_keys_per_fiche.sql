-- Matching's blocking keys as one row per fiche (docs/scaling.md): all of a fiche's index
-- keys (each prefixed with a source that may still send it a record, as since 0008) in one
-- text[] with a GIN index, instead of one match_key row per key (about ten to twenty per
-- fiche, each with its primary-key and fiche_id index entries). The row is written only when
-- the keys change; the candidate search asks `keys && $1` through the GIN index.
--
-- A table of its own rather than a column of match_profile: the profile is rewritten with
-- every update of its fiche, and a row rewritten outside HOT gets new entries in every index
-- on it, so a GIN over match_profile would write all the keys again whether they changed or
-- not.
--
-- fastupdate off: with the pending list on, every candidate search (one per new record)
-- would scan the whole unsorted pending list (up to gin_pending_list_limit, 4 MB) besides the
-- tree, and a load makes both searches and inserts all the time.
CREATE TABLE match_keys (
    fiche_id  uuid PRIMARY KEY,
    keys      text[] NOT NULL CHECK (cardinality(keys) > 0)
);

-- Sorted as Python sorts them (by code point), as the service writes them.
INSERT INTO match_keys (fiche_id, keys)
SELECT fiche_id, array_agg(key ORDER BY key COLLATE "C")
FROM match_key
GROUP BY fiche_id;

CREATE INDEX match_keys_keys ON match_keys USING gin (keys) WITH (fastupdate = off);

DROP TABLE match_key;

ANALYZE match_keys;
