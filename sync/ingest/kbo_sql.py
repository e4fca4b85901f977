"""The SQL of the KBO mirror, named once (tables in migration 0002_kbo_mirror.sql).

Sort keys use ``COLLATE "C"`` so that an enterprise's assembled state, and so its digest,
does not depend on the database's locale: a new locale must not look like a KBO change.
"""

from __future__ import annotations

__all__ = [
    "AFFECTED_ALL",
    "AFFECTED_BY_ESTABLISHMENT",
    "AFFECTED_DIRECT",
    "ANALYZE_AFFECTED",
    "ANALYZE_MIRROR",
    "CREATE_AFFECTED",
    "CREATE_DELETED",
    "LAST_EXTRACT",
    "LINKED_NUMBERS",
    "MARK_REMOVED",
    "RECORD_EXTRACT",
    "STATES",
    "TRUNCATE_MIRROR",
    "UPSERT_STATES",
]

LAST_EXTRACT = """
SELECT extract_number FROM kbo.extract ORDER BY ingested_at DESC, extract_number DESC LIMIT 1
"""

RECORD_EXTRACT = """
INSERT INTO kbo.extract (extract_number, extract_type, snapshot_date) VALUES ($1, $2, $3)
ON CONFLICT (extract_number) DO UPDATE
SET extract_type = EXCLUDED.extract_type, snapshot_date = EXCLUDED.snapshot_date,
    ingested_at = now()
"""

TRUNCATE_MIRROR = """
TRUNCATE kbo.enterprise, kbo.establishment, kbo.denomination, kbo.address, kbo.contact,
         kbo.activity
"""

CREATE_AFFECTED = """
CREATE TEMP TABLE kbo_affected (enterprise_number text PRIMARY KEY) ON COMMIT DROP
"""

CREATE_DELETED = """
CREATE TEMP TABLE kbo_deleted (tbl text NOT NULL, entity_number text NOT NULL) ON COMMIT DROP
"""

#: A Full extract affects every enterprise in it and every one that was active before.
AFFECTED_ALL = """
INSERT INTO kbo_affected
SELECT enterprise_number FROM kbo.enterprise
UNION SELECT enterprise_number FROM kbo.entity_state WHERE active
"""

# Statistics: the planner must know the sizes of tables just filled in this transaction
# (autovacuum cannot see them yet, and never analyzes temp tables), or the per-batch state
# query may scan two million units for every thousand enterprises.
ANALYZE_MIRROR = """
ANALYZE kbo.enterprise, kbo.establishment, kbo.denomination, kbo.address, kbo.contact,
        kbo.activity, kbo_affected
"""
ANALYZE_AFFECTED = "ANALYZE kbo_affected"

#: Enterprise numbers among the touched entity numbers (table kbo_touched).
AFFECTED_DIRECT = """
INSERT INTO kbo_affected
SELECT DISTINCT entity_number FROM kbo_touched WHERE left(entity_number, 1) IN ('0', '1')
ON CONFLICT DO NOTHING
"""

#: Owners of touched establishment units, as the mirror holds them before the deletes: a
#: unit closed or moved counts for its old enterprise (its new one is in kbo_touched).
AFFECTED_BY_ESTABLISHMENT = """
INSERT INTO kbo_affected
SELECT DISTINCT s.enterprise_number
FROM kbo.establishment s JOIN kbo_touched t ON t.entity_number = s.establishment_number
ON CONFLICT DO NOTHING
"""

LINKED_NUMBERS = """
SELECT value FROM fiche_identifier WHERE type = 'CBE'
"""

#: One batch (keyset: enterprise numbers after $1, at most $2) of affected enterprises with
#: their assembled state (NULL when no longer in the KBO), digest, care relevance and the
#: state emitted before.
STATES = """
WITH batch AS (
  SELECT enterprise_number FROM kbo_affected
  WHERE enterprise_number > $1 ORDER BY enterprise_number LIMIT $2
), entities AS (
  SELECT enterprise_number AS entity_number FROM batch
  UNION ALL
  SELECT s.establishment_number FROM kbo.establishment s JOIN batch b USING (enterprise_number)
), parts AS (
  SELECT e.entity_number,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('language', x.lang, 'type', x.kind,
              'value', x.denomination) ORDER BY x.lang, x.kind, x.denomination COLLATE "C"), '[]')
     FROM (SELECT CASE d.language WHEN '1' THEN 'fr' WHEN '2' THEN 'nl' WHEN '3' THEN 'de'
                  WHEN '4' THEN 'en' END AS lang,
                  CASE d.type_of_denomination WHEN '001' THEN 'name' WHEN '002'
                  THEN 'abbreviation' WHEN '003' THEN 'commercial' END AS kind, d.denomination
           FROM kbo.denomination d WHERE d.entity_number = e.entity_number) x
     WHERE x.lang IS NOT NULL AND x.kind IS NOT NULL) AS denominations,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('type', a.type_of_address,
              'countryNL', a.country_nl, 'zipcode', a.zipcode,
              'municipalityNL', a.municipality_nl, 'municipalityFR', a.municipality_fr,
              'streetNL', a.street_nl, 'streetFR', a.street_fr, 'houseNumber', a.house_number,
              'box', a.box, 'extraAddressInfo', a.extra_address_info,
              'dateStrikingOff', a.date_striking_off)
            ORDER BY a.type_of_address, a.zipcode COLLATE "C", a.street_nl COLLATE "C",
                     a.house_number COLLATE "C", a.box COLLATE "C", a::text COLLATE "C"), '[]')
     FROM kbo.address a
     WHERE a.entity_number = e.entity_number AND a.type_of_address IN ('REGO', 'BAET')
    ) AS addresses,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('type', c.contact_type, 'value', c.value)
            ORDER BY c.contact_type, c.value COLLATE "C"), '[]')
     FROM kbo.contact c
     WHERE c.entity_number = e.entity_number AND c.contact_type IN ('TEL', 'EMAIL', 'WEB')
    ) AS contacts,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('group', v.activity_group,
              'naceVersion', v.nace_version, 'naceCode', v.nace_code,
              'classification', v.classification)
            ORDER BY v.activity_group, v.nace_version, v.nace_code, v.classification), '[]')
     FROM kbo.activity v WHERE v.entity_number = e.entity_number) AS activities,
    -- care: a NACE 2008 or 2025 code in 86 (health), 87 (residential care), 88 (social work)
    EXISTS (SELECT 1 FROM kbo.activity v
            WHERE v.entity_number = e.entity_number AND v.nace_version IN ('2008', '2025')
              AND left(v.nace_code, 2) IN ('86', '87', '88')) AS care
  FROM entities e
), units AS (
  SELECT s.enterprise_number, bool_or(p.care) AS care,
    jsonb_agg(jsonb_build_object('establishmentNumber', s.establishment_number,
      'startDate', s.start_date, 'denominations', p.denominations, 'addresses', p.addresses,
      'contacts', p.contacts, 'activities', p.activities) ORDER BY s.establishment_number)
      AS establishments
  FROM kbo.establishment s JOIN batch b USING (enterprise_number)
  JOIN parts p ON p.entity_number = s.establishment_number
  GROUP BY s.enterprise_number
), states AS (
  SELECT e.enterprise_number, p.care OR coalesce(u.care, false) AS care,
    jsonb_build_object('enterpriseNumber', e.enterprise_number, 'status', e.status,
      'juridicalSituation', e.juridical_situation,
      'typeOfEnterprise', CASE e.type_of_enterprise WHEN '1' THEN 'natural'
                          WHEN '2' THEN 'legal' ELSE e.type_of_enterprise END,
      'juridicalForm', e.juridical_form, 'startDate', e.start_date,
      'denominations', p.denominations, 'addresses', p.addresses, 'contacts', p.contacts,
      'activities', p.activities, 'establishments', coalesce(u.establishments, '[]'))
      AS state
  FROM kbo.enterprise e JOIN batch b USING (enterprise_number)
  JOIN parts p ON p.entity_number = e.enterprise_number
  LEFT JOIN units u USING (enterprise_number)
)
SELECT b.enterprise_number, s.state::text AS state,
  encode(sha256(convert_to(s.state::text, 'UTF8')), 'hex') AS digest,
  coalesce(s.care, false) AS care,
  o.digest AS old_digest, o.active AS old_active, o.emitted AS old_emitted
FROM batch b LEFT JOIN states s USING (enterprise_number)
LEFT JOIN kbo.entity_state o USING (enterprise_number)
ORDER BY b.enterprise_number
"""

UPSERT_STATES = """
INSERT INTO kbo.entity_state AS o
  (enterprise_number, digest, state, extract_number, active, emitted)
SELECT n, d, s::jsonb, $4, true, e
FROM unnest($1::text[], $2::text[], $3::text[], $5::boolean[]) AS x(n, d, s, e)
ON CONFLICT (enterprise_number) DO UPDATE
SET digest = EXCLUDED.digest, state = EXCLUDED.state, extract_number = EXCLUDED.extract_number,
    active = true, emitted = o.emitted OR EXCLUDED.emitted
"""

MARK_REMOVED = """
UPDATE kbo.entity_state
SET active = false, extract_number = $2, emitted = emitted OR enterprise_number = ANY($3)
WHERE enterprise_number = ANY($1)
"""
