"""The SQL of :mod:`sync.store.fiches`: every statement about fiches, named once.

Reads take arrays (``= ANY($1)``, ``unnest``) so that a whole batch costs one statement; the
writes are set-based (``unnest``) and are sent together by :class:`~sync.store.writes.Writes`.
"""

from __future__ import annotations

__all__ = [
    "CLAIM_IDENTIFIERS",
    "DELETE_PIN",
    "DELETE_RECORD",
    "FICHE_OF_CONFLICT",
    "FIND_BY_IDENTIFIERS",
    "HOLDINGS",
    "INSERT_FICHE",
    "INSERT_FICHES",
    "INSERT_HISTORY",
    "INSERT_OUTBOX",
    "LOCK_FICHES",
    "MOVE_IDENTIFIERS",
    "OWN_AND_LOCK",
    "SELECT_IDENTIFIERS",
    "TOUCH_PROGRESS",
    "UPDATE_FICHES",
    "UPSERT_CONFLICT",
    "UPSERT_PIN",
    "UPSERT_RECORDS",
]

FIND_BY_IDENTIFIERS = """
SELECT DISTINCT fiche_id FROM fiche_identifier
WHERE (type, value) IN (SELECT * FROM unnest($1::text[], $2::text[]))
"""
#: Locks in id order, so that two transactions locking overlapping batches cannot deadlock;
#: the columns a fiche's state is made of, in this order. ``{ids}``: the ids' array.
_LOCK = """
SELECT id, kind, version, status, inactive_reason, visible, verified_at FROM fiche
WHERE id = ANY({ids}) ORDER BY id FOR UPDATE
"""
LOCK_FICHES = _LOCK.format(ids="$1::uuid[]")
#: A batch's first read: the owners of its identifiers (``$1``, ``$2``: types and values) and,
#: locked in id order, the fiches they name together with the fiches ``$3`` (those the updates
#: name and those their new records would get), as ``(type, value, fiche id)`` rows and
#: :data:`LOCK_FICHES` rows. One statement: the owners are read with the snapshot the lock's
#: statement starts with (a statement of their own read them a little earlier), and, as
#: before, an identifier or a fiche another transaction commits after it is met when the batch
#: writes (the claim of an identifier returns fewer rows, the insert of a fiche a unique
#: violation: either is retried).
OWN_AND_LOCK = f"""
WITH owners AS MATERIALIZED (
    SELECT type, value, fiche_id FROM fiche_identifier
    WHERE (type, value) IN (SELECT * FROM unnest($1::text[], $2::text[]))
), locked AS ({_LOCK.format(
    ids="ARRAY(SELECT unnest($3::uuid[]) UNION SELECT fiche_id FROM owners)")})
SELECT ARRAY(SELECT ROW(o.type, o.value, o.fiche_id) FROM owners o) AS owners,
       ARRAY(SELECT l FROM locked l ORDER BY l.id) AS locked
"""  # noqa: S608 - the lock written above, never from input
FICHE_OF_CONFLICT = "SELECT fiche_id FROM conflict WHERE id = $1"
INSERT_FICHE = """
INSERT INTO fiche (id, kind, version) VALUES ($1, $2, 0) ON CONFLICT (id) DO NOTHING
"""
#: What the locked fiches hold: their pins, their open (or kept) conflicts, their records with
#: their values (:mod:`sync.store.record_values`) and their identifiers, each as an array of
#: the table's rows. A select list for :class:`~sync.store.reads.Reads`: read after the lock,
#: in a statement of its own, so that it sees what a transaction that held the lock before
#: committed.
HOLDINGS = """
ARRAY(SELECT p FROM pin p WHERE p.fiche_id = ANY($1::uuid[])) AS pins,
ARRAY(SELECT c FROM conflict c
      WHERE c.fiche_id = ANY($1::uuid[]) AND c.status IN ('open', 'kept')) AS conflicts,
ARRAY(SELECT r FROM source_record r WHERE r.fiche_id = ANY($1::uuid[])) AS records,
ARRAY(SELECT i FROM fiche_identifier i WHERE i.fiche_id = ANY($1::uuid[])) AS identifiers
"""
SELECT_IDENTIFIERS = """
SELECT fiche_id, type, value FROM fiche_identifier WHERE fiche_id = ANY($1::uuid[])
"""
#: A split gives identifiers of one fiche to another, and the record's versions leave it.
MOVE_IDENTIFIERS = """
UPDATE fiche_identifier SET fiche_id = $2
WHERE fiche_id = $1 AND (type, value) IN (SELECT * FROM unnest($3::text[], $4::text[]))
"""
DELETE_RECORD = "DELETE FROM source_record WHERE fiche_id = $1 AND source = $2 AND record_id = $3"
#: Fiches first written in this batch, with the values of their last save in it.
INSERT_FICHES = """
INSERT INTO fiche (id, kind, version, status, inactive_reason, visible, verified_at)
SELECT id, kind, version, status, inactive_reason, visible::jsonb, verified_at
FROM unnest($1::uuid[], $2::text[], $3::integer[], $4::text[], $5::text[], $6::text[],
            $7::timestamptz[]) AS u(id, kind, version, status, inactive_reason, visible,
                                    verified_at)
"""
#: The identifiers claimed in this batch; those returned were free.
CLAIM_IDENTIFIERS = """
INSERT INTO fiche_identifier (type, value, fiche_id)
SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[])
ON CONFLICT (type, value) DO NOTHING
RETURNING type, value
"""
UPDATE_FICHES = """
UPDATE fiche AS f
SET version = u.version, status = u.status, inactive_reason = u.inactive_reason,
    visible = u.visible::jsonb, verified_at = u.verified_at, updated_at = now()
FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::text[], $5::text[],
            $6::timestamptz[]) AS u(id, version, status, inactive_reason, visible, verified_at)
WHERE f.id = u.id
"""
#: One row per record and update: its version and all its values, rewritten whole (a value
#: the record no longer gives is gone from ``fields``; no row per field is written or deleted).
UPSERT_RECORDS = """
INSERT INTO source_record (source, record_id, fiche_id, source_version, fields, as_given,
                           observed_at, verified_at, per_field)
SELECT source, record_id, fiche_id, source_version, fields::jsonb, as_given::jsonb,
       observed_at, verified_at, per_field::jsonb
FROM unnest($1::text[], $2::text[], $3::uuid[], $4::bigint[], $5::text[], $6::text[],
            $7::timestamptz[], $8::timestamptz[], $9::text[])
     AS u(source, record_id, fiche_id, source_version, fields, as_given, observed_at,
          verified_at, per_field)
ON CONFLICT (fiche_id, source, record_id) DO UPDATE
SET source_version = EXCLUDED.source_version, fields = EXCLUDED.fields,
    as_given = EXCLUDED.as_given, observed_at = EXCLUDED.observed_at,
    verified_at = EXCLUDED.verified_at, per_field = EXCLUDED.per_field
"""
UPSERT_PIN = """
INSERT INTO pin (fiche_id, field, value, author, role, reason, pinned_at, review_after)
VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8)
ON CONFLICT (fiche_id, field) DO UPDATE
SET value = EXCLUDED.value, author = EXCLUDED.author, role = EXCLUDED.role,
    reason = EXCLUDED.reason, pinned_at = EXCLUDED.pinned_at, review_after = EXCLUDED.review_after
"""
DELETE_PIN = "DELETE FROM pin WHERE fiche_id = $1 AND field = $2"
UPSERT_CONFLICT = """
INSERT INTO conflict (id, fiche_id, field, candidate, source, record_id, status, raised_at)
VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8)
ON CONFLICT (id) DO UPDATE
SET status = EXCLUDED.status,
    source = EXCLUDED.source,
    record_id = EXCLUDED.record_id,
    raised_at = CASE WHEN EXCLUDED.status = 'open' AND conflict.status <> 'open'
                     THEN EXCLUDED.raised_at ELSE conflict.raised_at END,
    resolved_at = CASE WHEN EXCLUDED.status = conflict.status THEN conflict.resolved_at
                       WHEN EXCLUDED.status = 'open' THEN NULL ELSE EXCLUDED.raised_at END,
    resolved_by = CASE WHEN EXCLUDED.status = conflict.status THEN conflict.resolved_by
                       ELSE $9 END
"""
#: ``before``: the values the version replaced, of the fields it changed (the console shows
#: each change as before -> after; migration 0018).
INSERT_HISTORY = """
INSERT INTO fiche_history (fiche_id, version, event_type, changed_fields, cause_source,
                           cause_event_id, before)
SELECT fiche_id, version, event_type, ARRAY(SELECT jsonb_array_elements_text(changed::jsonb)),
       cause_source, cause_event_id, before::jsonb
FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::text[])
     AS u(fiche_id, version, event_type, changed, cause_source, cause_event_id, before)
"""
#: Outbox ids follow the order of enqueueing: the relay publishes in id order, which is what
#: keeps every fiche's versions in order downstream.
#: A row with a ``park_reason`` (too large to publish) is written parked (sync/store/outbox.py).
#: The payload is stored as the JSON text written, the text the relay publishes.
INSERT_OUTBOX = """
INSERT INTO outbox (event_id, topic, key, payload, type, parked_at, park_reason)
SELECT event_id, topic, key, payload, type,
       CASE WHEN park_reason IS NOT NULL THEN now() END, park_reason
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
     WITH ORDINALITY AS u(event_id, topic, key, payload, park_reason, type, position)
ORDER BY position
ON CONFLICT (event_id) DO NOTHING
"""
#: A row of the writing backend's own slot (migration 0021): transactions applied at the same
#: time do not queue on one row per source.
TOUCH_PROGRESS = """
INSERT INTO source_progress_writer (source, writer, last_applied_at, last_event_time)
SELECT u.source, pg_backend_pid() % 16, u.applied_at, u.event_time
FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS u(source, applied_at, event_time)
ON CONFLICT (source, writer) DO UPDATE SET last_applied_at = EXCLUDED.last_applied_at,
    last_event_time = GREATEST(source_progress_writer.last_event_time, EXCLUDED.last_event_time)
"""
