-- An outbox row that can never be published (too large for the broker, a topic it refuses, no
-- right to write it) is parked instead of retried for ever: it stays, with when and why, for
-- an operator, and the relay moves on to the rows after it (docs/architecture.md).
ALTER TABLE outbox ADD COLUMN parked_at timestamptz, ADD COLUMN park_reason text;
DROP INDEX IF EXISTS outbox_unsent;
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL AND parked_at IS NULL;
CREATE INDEX outbox_parked ON outbox (id) WHERE parked_at IS NOT NULL;

-- Retention deletes sent outbox rows and inbox rows older than a setting, oldest first, in
-- small batches; these indexes find them without reading the tables.
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX inbox_processed_at ON inbox (processed_at);
