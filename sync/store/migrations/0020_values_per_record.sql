-- Provenance per source record instead of per field: a record's last values live on its
-- `source_record` row as one JSON object, written once per record and update, instead of a
-- `field_value` row (and its index entries) per field (sync/store/record_values.py).
--
--   fields       {field: value}: the last value the record gave for each field
--   as_given     {field: text}: the source's own text where mapping normalised it; NULL: none
--   observed_at  when the record's latest values were observed; verified_at likewise, when
--                the source is authentic (NULL when the record holds no values)
--   per_field    {field: {source_version, observed_at, verified_at}} for the values whose
--                version or times are not the row's (an earlier version of the record gave
--                them); NULL when there are none
--
-- A record whose values are all withdrawn keeps its row, with {}: the row's source_version
-- still makes an older update stale.

-- Times inside the JSON are written in UTC, as the service writes them.
SET LOCAL TimeZone = 'UTC';

ALTER TABLE source_record
    ADD COLUMN fields       jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN as_given     jsonb,
    ADD COLUMN observed_at  timestamptz,
    ADD COLUMN verified_at  timestamptz,
    ADD COLUMN per_field    jsonb;

-- Every value belongs to a record the fiche holds; should a value have lost its record row,
-- the row comes back at the version of the record's latest value rather than the value being
-- lost.
INSERT INTO source_record (source, record_id, fiche_id, source_version)
SELECT source, record_id, fiche_id, max(source_version)
FROM field_value
GROUP BY fiche_id, source, record_id
ON CONFLICT (fiche_id, source, record_id) DO NOTHING;

WITH latest AS (
    -- The row's times are those of the record's latest value.
    SELECT DISTINCT ON (fiche_id, source, record_id)
           fiche_id, source, record_id, observed_at, verified_at
    FROM field_value
    ORDER BY fiche_id, source, record_id, source_version DESC, observed_at DESC
), moved AS (
    SELECT v.fiche_id, v.source, v.record_id,
           jsonb_object_agg(v.field, v.value) AS fields,
           jsonb_object_agg(v.field, v.as_given) FILTER (WHERE v.as_given IS NOT NULL)
               AS as_given,
           min(l.observed_at) AS observed_at,
           min(l.verified_at) AS verified_at,
           jsonb_object_agg(v.field, jsonb_build_object(
               'source_version', v.source_version,
               'observed_at', v.observed_at,
               'verified_at', v.verified_at))
               FILTER (WHERE (v.source_version, v.observed_at, v.verified_at)
                             IS DISTINCT FROM (r.source_version, l.observed_at, l.verified_at))
               AS per_field
    FROM field_value v
    JOIN latest l USING (fiche_id, source, record_id)
    JOIN source_record r USING (fiche_id, source, record_id)
    GROUP BY v.fiche_id, v.source, v.record_id
)
UPDATE source_record r
SET fields = m.fields, as_given = m.as_given, observed_at = m.observed_at,
    verified_at = m.verified_at, per_field = m.per_field
FROM moved m
WHERE (r.fiche_id, r.source, r.record_id) = (m.fiche_id, m.source, m.record_id);

DROP TABLE field_value;

-- Every update of a record rewrites its row, now a few hundred bytes: room left on each page
-- lets PostgreSQL keep the new version on the same page (a HOT update, no new index entry).
ALTER TABLE source_record SET (fillfactor = 70);

-- Read-only, with the columns the table had: operators' queries and reports read the values
-- one row per field as before. (It cannot be written: its rows come from jsonb_each.)
CREATE VIEW field_value AS
SELECT r.fiche_id, f.field, r.source, r.record_id, f.value,
       CASE WHEN m.meta IS NULL THEN r.source_version
            ELSE (m.meta ->> 'source_version')::bigint END AS source_version,
       CASE WHEN m.meta IS NULL THEN r.observed_at
            ELSE (m.meta ->> 'observed_at')::timestamptz END AS observed_at,
       CASE WHEN m.meta IS NULL THEN r.verified_at
            ELSE (m.meta ->> 'verified_at')::timestamptz END AS verified_at,
       r.as_given -> f.field AS as_given
FROM source_record r
CROSS JOIN LATERAL jsonb_each(r.fields) AS f(field, value)
CROSS JOIN LATERAL (SELECT r.per_field -> f.field) AS m(meta);

GRANT SELECT ON field_value TO sksync_service;
