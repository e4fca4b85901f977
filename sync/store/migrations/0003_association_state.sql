-- Association member exports (SOURCES.md §4): what each association listed last.
--
-- An export is a full list: a member present before and missing now has left. The digest
-- (of the member's data without sourceVersion) makes an unchanged member cost no event.

CREATE TABLE association_member_state (
    association_id text    NOT NULL,
    member_id      text    NOT NULL,
    digest         text    NOT NULL,
    source_version bigint  NOT NULL,
    present        boolean NOT NULL,
    PRIMARY KEY (association_id, member_id)
);

-- One row per ingested export; sourceVersion must grow per association.
CREATE TABLE association_export (
    association_id text        NOT NULL,
    source_version bigint      NOT NULL,
    file_name      text        NOT NULL,
    ingested_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (association_id, source_version)
);
