-- Least privilege: the role the running service works as. It reads and writes the service's
-- tables and owns none of them, so it cannot drop, alter or create any (docs/security.md).
-- Migrations run as the owner role (SKSYNC_MIGRATION_DATABASE_URL); the service connects as a
-- LOGIN role that an operator makes a member of sksync_service.
--
-- Roles belong to the whole server, not to one database: another database on the same server
-- may have created it already, possibly at this very moment (hence both exceptions).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sksync_service') THEN
        CREATE ROLE sksync_service NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

-- PostgreSQL before 15 lets every role create tables in public; 15 and later no longer do.
-- (A no-op, with a warning, when the migrating role does not own the schema.)
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

GRANT USAGE ON SCHEMA public, kbo TO sksync_service;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public, kbo TO sksync_service;
-- A KBO Full extract replaces the mirror with TRUNCATE (sync/ingest/kbo_sql.py).
GRANT TRUNCATE ON ALL TABLES IN SCHEMA kbo TO sksync_service;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public, kbo TO sksync_service;

-- Tables and sequences later migrations create (as this same owner role) get the same grants.
ALTER DEFAULT PRIVILEGES IN SCHEMA public, kbo
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO sksync_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA kbo GRANT TRUNCATE ON TABLES TO sksync_service;
ALTER DEFAULT PRIVILEGES IN SCHEMA public, kbo GRANT USAGE ON SEQUENCES TO sksync_service;
