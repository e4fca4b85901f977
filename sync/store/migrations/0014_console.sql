-- The console: its local accounts, their sessions, and one audit row per decision taken in it.

-- A local account. roles: 'operator' (dead letters, lag), 'editor' (conflicts, matches);
-- an account may hold both. password_hash: argon2id in its PHC string form.
CREATE TABLE console_user (
    name           text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 100),
    password_hash  text NOT NULL,
    roles          text[] NOT NULL CHECK (roles <@ ARRAY['operator', 'editor']::text[]
                                          AND cardinality(roles) > 0),
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- A signed-in browser. Only the SHA-256 of the cookie's token is kept, so a copy of this table
-- cannot be used to sign in; csrf_token is echoed by every form of that session.
CREATE TABLE console_session (
    token_hash   text PRIMARY KEY,
    user_name    text NOT NULL REFERENCES console_user (name) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX console_session_user ON console_session (user_name);

-- Who decided what, when, and from which page (kept when the account is removed).
CREATE TABLE console_audit (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    user_name  text NOT NULL,
    action     text NOT NULL,
    target     text NOT NULL,
    page       text NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX console_audit_target ON console_audit (target);

-- The audit trail is written, never rewritten, by the service's role.
REVOKE UPDATE, DELETE, TRUNCATE ON console_audit FROM sksync_service;
