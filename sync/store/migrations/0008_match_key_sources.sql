-- Blocking keys per source (sync/matching/blocking.py, stored_keys): a fiche's keys are kept
-- once per automated source that may still send it a record, prefixed with that source, so
-- that the records of a source never meet, in the index, the fiches already holding a record
-- of it. Rewrites the keys written before: "p|g|44021|NURSE" becomes "cobrha|p|g|44021|NURSE"
-- and "association|p|g|44021|NURSE", less the sources the fiche holds a record of.
INSERT INTO match_key (key, fiche_id)
SELECT s.source || '|' || k.key, k.fiche_id
FROM match_key k
JOIN fiche f ON f.id = k.fiche_id
CROSS JOIN LATERAL unnest(CASE f.kind WHEN 'person' THEN ARRAY['cobrha', 'association']
                                      ELSE ARRAY['cobrha', 'kbo'] END) AS s(source)
WHERE k.key ~ '^[po]\|'
  AND NOT EXISTS (SELECT 1 FROM source_record r
                  WHERE r.fiche_id = k.fiche_id AND r.source = s.source)
ON CONFLICT DO NOTHING;

DELETE FROM match_key WHERE key ~ '^[po]\|';
