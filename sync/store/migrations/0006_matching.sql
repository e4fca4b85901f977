-- Matching source records to fiches made by hand (docs/matching.md).
--
-- match_profile holds each fiche's normalised features (what scoring compares) and match_key
-- its blocking keys: a record is scored only against the fiches that share a key with it, an
-- index lookup. Both are derived from the fiche and rewritten whenever it changes.

CREATE TABLE match_profile (
    fiche_id    uuid PRIMARY KEY REFERENCES fiche (id),
    kind        text NOT NULL,
    profile     jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE match_key (
    key       text NOT NULL,
    fiche_id  uuid NOT NULL REFERENCES fiche (id),
    PRIMARY KEY (key, fiche_id)
);
CREATE INDEX match_key_fiche ON match_key (fiche_id);

-- What an export knew that is not a fiche field: the enterprise number of the practice.
-- Not an identifier (the fiches of one organisation's services share it); no foreign key,
-- as it is written just before its fiche.
CREATE TABLE match_extra (
    fiche_id     uuid PRIMARY KEY,
    kbo_numbers  text[] NOT NULL DEFAULT '{}'
);

-- A record that may be an existing fiche, waiting for an editor. The record's update waits
-- here (pending_update) instead of becoming a fiche. One row per (record, candidate fiche);
-- the id is derived from that pair.
CREATE TABLE match_candidate (
    id              uuid PRIMARY KEY,
    source          text NOT NULL,
    record_id       text NOT NULL,
    fiche_id        uuid NOT NULL REFERENCES fiche (id),
    score           double precision NOT NULL,
    parts           jsonb NOT NULL,
    pending_update  jsonb NOT NULL,
    source_version  bigint NOT NULL,
    status          text NOT NULL
                    CHECK (status IN ('pending', 'accepted', 'rejected', 'superseded')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    decided_at      timestamptz,
    decided_by      text
);
CREATE INDEX match_candidate_record ON match_candidate (source, record_id) WHERE status = 'pending';
CREATE INDEX match_candidate_waiting ON match_candidate (created_at, id) WHERE status = 'pending';

-- A pair an editor said is not the same (or a link undone): never proposed again.
CREATE TABLE match_rejection (
    source       text NOT NULL,
    record_id    text NOT NULL,
    fiche_id     uuid NOT NULL REFERENCES fiche (id),
    rejected_by  text NOT NULL,
    rejected_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, record_id, fiche_id)
);

-- Records linked to a fiche by matching (automatically or by an editor): what a split undoes.
-- identifiers: those the record brought when it was linked.
CREATE TABLE match_link (
    fiche_id     uuid NOT NULL REFERENCES fiche (id),
    source       text NOT NULL,
    record_id    text NOT NULL,
    identifiers  jsonb NOT NULL,
    score        double precision,
    match_id     uuid,
    linked_by    text NOT NULL,
    linked_at    timestamptz NOT NULL DEFAULT now(),
    split_into   uuid,
    split_by     text,
    split_at     timestamptz,
    PRIMARY KEY (fiche_id, source, record_id)
);
