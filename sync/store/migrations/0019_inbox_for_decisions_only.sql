-- The inbox keeps only the updates whose redelivery nothing else makes harmless: pins,
-- conflict decisions, match decisions, splits and verifications. A source record's update is
-- made harmless by the record's sourceVersion (source_record, or the waiting match
-- candidate) and writes no inbox row any more (docs/architecture.md, guarantee 2).
--
-- What the inbox also told operators, how many updates each event source had applied per
-- minute (the console's throughput) and in all (`updates_seen`), is now counted here: one row
-- per event source, minute and database connection, added to once per apply batch. Per
-- connection, so that the transactions of parallel partitions never wait for one another's
-- row. Rows older than the inbox's retention are deleted with the inbox's.
CREATE TABLE apply_count (
    source   text NOT NULL,         -- the CloudEvent source of the updates, as the inbox had it
    minute   timestamptz NOT NULL,  -- the start of the minute (date_trunc)
    writer   integer NOT NULL,      -- the backend (pg_backend_pid) that counted; 0: migrated
    updates  integer NOT NULL,      -- updates applied in that minute (duplicates not counted)
    PRIMARY KEY (source, minute, writer)
);
CREATE INDEX apply_count_minute ON apply_count (minute);

-- The counts so far, from the inbox rows still kept (every update applied within the
-- retention had one): the throughput and the figure of `sksync status` carry on unchanged.
INSERT INTO apply_count (source, minute, writer, updates)
SELECT source, date_trunc('minute', processed_at), 0, count(*)
FROM inbox GROUP BY 1, 2;
