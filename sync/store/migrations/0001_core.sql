-- The directory's fiches, their identifiers and field-level provenance, pins and conflicts,
-- the inbox that makes redelivery harmless and the outbox the relay publishes from.

CREATE TABLE fiche (
    id               uuid PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('person', 'organisation')),
    version          integer NOT NULL CHECK (version >= 0),
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    inactive_reason  text,
    visible          jsonb NOT NULL DEFAULT '{}'::jsonb,
    verified_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fiche_kind_status ON fiche (kind, status);

-- An identifier belongs to at most one fiche.
CREATE TABLE fiche_identifier (
    type      text NOT NULL,
    value     text NOT NULL,
    fiche_id  uuid NOT NULL REFERENCES fiche (id),
    added_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (type, value)
);
CREATE INDEX fiche_identifier_fiche ON fiche_identifier (fiche_id);

-- The last value each source record gave for each field.
CREATE TABLE field_value (
    fiche_id        uuid NOT NULL REFERENCES fiche (id),
    field           text NOT NULL,
    source          text NOT NULL,
    record_id       text NOT NULL,
    value           jsonb NOT NULL,
    source_version  bigint NOT NULL,
    observed_at     timestamptz NOT NULL,
    verified_at     timestamptz,
    PRIMARY KEY (fiche_id, field, source, record_id)
);

-- The last sourceVersion applied per source record: older or equal ones are stale.
CREATE TABLE source_record (
    source          text NOT NULL,
    record_id       text NOT NULL,
    fiche_id        uuid NOT NULL REFERENCES fiche (id),
    source_version  bigint NOT NULL,
    PRIMARY KEY (fiche_id, source, record_id)
);

CREATE TABLE pin (
    fiche_id      uuid NOT NULL REFERENCES fiche (id),
    field         text NOT NULL,
    value         jsonb NOT NULL,
    author        text NOT NULL,
    role          text NOT NULL,
    reason        text,
    pinned_at     timestamptz NOT NULL,
    review_after  date,
    PRIMARY KEY (fiche_id, field)
);

CREATE TABLE conflict (
    id           uuid PRIMARY KEY,
    fiche_id     uuid NOT NULL REFERENCES fiche (id),
    field        text NOT NULL,
    candidate    jsonb NOT NULL,
    source       text NOT NULL,
    record_id    text NOT NULL,
    status       text NOT NULL CHECK (status IN ('open', 'kept', 'closed', 'accepted')),
    raised_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz,
    resolved_by  text
);
CREATE INDEX conflict_open ON conflict (fiche_id) WHERE status IN ('open', 'kept');

-- One row per fiche version: what changed and which event caused it.
CREATE TABLE fiche_history (
    fiche_id        uuid NOT NULL REFERENCES fiche (id),
    version         integer NOT NULL,
    event_type      text NOT NULL,
    changed_fields  text[] NOT NULL,
    cause_source    text,
    cause_event_id  text,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (fiche_id, version)
);

-- (source, event id) of every update applied: the primary key makes redelivery harmless.
CREATE TABLE inbox (
    source        text NOT NULL,
    event_id      text NOT NULL,
    outcome       text NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, event_id)
);

CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    event_id    uuid NOT NULL UNIQUE,
    topic       text NOT NULL,
    key         text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;

-- Last successful apply per source, for operators.
CREATE TABLE source_progress (
    source          text PRIMARY KEY,
    last_applied_at timestamptz NOT NULL,
    last_event_time timestamptz
);
