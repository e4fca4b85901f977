-- Fiches by kind and status (`sksync status`, the gauges, the console) kept as fiches are
-- written, instead of counted with a count(*) that reads the whole table: that read grew with
-- the directory (92 ms at 220,000 fiches, every five seconds for the gauges alone) and took
-- its CPU from the apply. Triggers on fiche add to a row per kind, status and writing backend
-- (pg_backend_pid), so the transactions of parallel partitions never wait for one another's
-- row (as apply_count, 0019); the inbox's retention folds the rows of backends that have gone
-- into writer 0. A writer's row may go below zero (a fiche counted by one backend and moved
-- by another); the sum over the writers is the count.
CREATE TABLE fiche_tally (
    kind    text NOT NULL,
    status  text NOT NULL,
    writer  integer NOT NULL,  -- the backend (pg_backend_pid) that counted; 0: folded, migrated
    fiches  bigint NOT NULL,   -- fiches this writer added to the kind and status, less those it took away
    PRIMARY KEY (kind, status, writer)
);

-- A statement's new fiches (or deleted ones, counted down), in one upsert per kind and status
-- (sorted: two folds of writer 0 take its rows in the same order). Both triggers name their
-- transition table `changed`.
CREATE FUNCTION fiche_tally_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fiche_tally AS t (kind, status, writer, fiches)
    SELECT kind, status, pg_backend_pid(), CASE TG_OP WHEN 'DELETE' THEN -count(*) ELSE count(*) END
    FROM changed GROUP BY kind, status ORDER BY kind, status
    ON CONFLICT (kind, status, writer) DO UPDATE SET fiches = t.fiches + EXCLUDED.fiches;
    RETURN NULL;
END
$$;

-- A fiche whose kind or status changed (the trigger's WHEN: other updates fire nothing).
CREATE FUNCTION fiche_tally_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fiche_tally AS t (kind, status, writer, fiches)
    VALUES (OLD.kind, OLD.status, pg_backend_pid(), -1), (NEW.kind, NEW.status, pg_backend_pid(), 1)
    ON CONFLICT (kind, status, writer) DO UPDATE SET fiches = t.fiches + EXCLUDED.fiches;
    RETURN NULL;
END
$$;

CREATE FUNCTION fiche_tally_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM fiche_tally;
    RETURN NULL;
END
$$;

-- Created before the counts below are taken: CREATE TRIGGER locks fiche against writes until
-- this migration commits, so no fiche written meanwhile is missed or counted twice.
CREATE TRIGGER fiche_tally_inserted AFTER INSERT ON fiche
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION fiche_tally_counted();
CREATE TRIGGER fiche_tally_moved AFTER UPDATE OF kind, status ON fiche
    FOR EACH ROW WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION fiche_tally_moved();
CREATE TRIGGER fiche_tally_deleted AFTER DELETE ON fiche
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION fiche_tally_counted();
CREATE TRIGGER fiche_tally_truncated AFTER TRUNCATE ON fiche
    FOR EACH STATEMENT EXECUTE FUNCTION fiche_tally_truncated();

INSERT INTO fiche_tally (kind, status, writer, fiches)
SELECT kind, status, 0, count(*) FROM fiche GROUP BY kind, status;

-- Only the count above could use this index: one index entry less per new fiche, and a
-- change of status no longer rewrites an index entry.
DROP INDEX fiche_kind_status;
