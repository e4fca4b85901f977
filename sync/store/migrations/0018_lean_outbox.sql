-- A lean outbox (docs/architecture.md, "Publishing"): a row holds an event until the relay has
-- published it, and the relay deletes it in the step that used to mark it sent. An event now
-- costs one insert and one delete; before, the mark was an update outside HOT (`sent_at` is in
-- the predicate of the partial indexes) with new entries in every index, and retention deleted
-- the row days later.
--
-- The payload is the JSON text the service wrote (published as it is: no parse on insert, no
-- rendering on every read), and the event type, which the relay sends as a header, has its own
-- column.
--
-- What read the published rows moves:
-- * the console's history shows each version's changes as before -> after. It read both from
--   the snapshots of the published fiche events; a history row now keeps the values its
--   version replaced (`before`, the changed fields only: nothing for a new fiche), and the
--   values after are those of the next version that changed the field, or the fiche's own.
--   Filled here from the snapshots still in the outbox; a version whose previous snapshot is
--   gone (past the old retention) keeps NULL: not known.
ALTER TABLE fiche_history ADD COLUMN before jsonb;

UPDATE fiche_history SET before = '{}'::jsonb WHERE event_type = 'created';

UPDATE fiche_history h
SET before = (SELECT coalesce(jsonb_object_agg(f, p.snapshot -> f)
                              FILTER (WHERE p.snapshot ? f), '{}'::jsonb)
              FROM unnest(h.changed_fields) AS f)
FROM (SELECT key, (payload -> 'data' ->> 'version')::integer AS version,
             payload -> 'data' -> 'snapshot' AS snapshot
      FROM outbox
      WHERE jsonb_typeof(payload -> 'data' -> 'snapshot') = 'object'
        AND jsonb_typeof(payload -> 'data' -> 'version') = 'number') AS p
WHERE h.event_type <> 'created' AND p.key = h.fiche_id::text AND p.version = h.version - 1;

-- Rows already sent were published (the relay marked them only after the broker took them):
-- nothing is left to do with them. Unsent rows keep their ids (the order of publishing), event
-- ids and payloads; parked rows stay parked.
DELETE FROM outbox WHERE sent_at IS NOT NULL;

DROP INDEX IF EXISTS outbox_sent_at;
DROP INDEX IF EXISTS outbox_unsent;
ALTER TABLE outbox ADD COLUMN type text;
UPDATE outbox SET type = payload ->> 'type';
ALTER TABLE outbox ALTER COLUMN payload TYPE text USING payload::text,
                   DROP COLUMN sent_at;

-- Every row is unsent now: the relay reads in primary-key order, passing over the parked rows
-- (few, and found through their own partial index, which only parking and release write).
-- The unique event id stays: the guard against enqueueing one event twice while it waits.
ANALYZE outbox;
