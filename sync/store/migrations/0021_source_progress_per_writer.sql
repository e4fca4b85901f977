-- When each source was last applied (`sksync status`, the console): a row per source *and
-- writer slot* (the writing backend's pid modulo 16), read through the view `source_progress`
-- (the latest over the slots), instead of one row per source. Every apply transaction touches
-- its sources' progress at its end; with one row per source, transactions applied at the same
-- time (the partitions of a batch, other instances) queued on that row's lock until the one
-- holding it committed, which held back the load by a tenth. Two transactions now meet on a row
-- only when their backends share a slot. The rows so far keep their values, as slot 0.
ALTER TABLE source_progress RENAME TO source_progress_writer;
ALTER TABLE source_progress_writer ADD COLUMN writer smallint NOT NULL DEFAULT 0;
ALTER TABLE source_progress_writer DROP CONSTRAINT source_progress_pkey;
ALTER TABLE source_progress_writer ADD PRIMARY KEY (source, writer);
ALTER TABLE source_progress_writer ALTER COLUMN writer DROP DEFAULT;

CREATE VIEW source_progress AS
SELECT source, max(last_applied_at) AS last_applied_at, max(last_event_time) AS last_event_time
FROM source_progress_writer
GROUP BY source;

GRANT SELECT ON source_progress TO sksync_service;
