-- The provider pages: one-time sign-in links, provider sessions, and the attempts that the
-- rate limits count. A provider is bound to fiches by an identifier (NIHII-PERSON, CBE or
-- ESTABLISHMENT), never by a fiche id: what the identifier reaches is looked up per request.

-- A sign-in link. Only the SHA-256 of its token is kept: a copy of this table opens nothing.
-- It works once (used_at) and until expires_at.
CREATE TABLE provider_link (
    token_hash     text PRIMARY KEY,
    binding_type   text NOT NULL CHECK (binding_type IN ('NIHII-PERSON', 'CBE', 'ESTABLISHMENT')),
    binding_value  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz
);
CREATE INDEX provider_link_expiry ON provider_link (expires_at);

-- A signed-in provider's browser (the cookie's token hashed, as for the console).
CREATE TABLE provider_session (
    token_hash     text PRIMARY KEY,
    binding_type   text NOT NULL,
    binding_value  text NOT NULL,
    csrf_token     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL
);

-- One row per sign-in link asked, per thing it counts against: kind 'identifier', 'address'
-- (the e-mail address) or 'client' (the IP address); key is a SHA-256, never the value.
CREATE TABLE provider_attempt (
    id    bigserial PRIMARY KEY,
    at    timestamptz NOT NULL DEFAULT now(),
    kind  text NOT NULL CHECK (kind IN ('identifier', 'address', 'client')),
    key   text NOT NULL
);
CREATE INDEX provider_attempt_key ON provider_attempt (kind, key, at);
