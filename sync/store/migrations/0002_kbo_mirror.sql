-- KBO / BCE Open Data mirror (SOURCES.md §3) and the last state emitted per enterprise.
--
-- The kbo.<table> tables hold the rows of the last ingested extract as the KBO writes them
-- (numbers as 10 digits without dots, dates as dates, codes untouched). A Full extract
-- replaces them, an Update deletes then inserts. kbo.entity_state is what lets an Update say
-- "changed or not" per enterprise: a delete-and-reinsert of the same rows gives the same digest.

CREATE SCHEMA kbo;

CREATE TABLE kbo.extract (
    extract_number bigint      PRIMARY KEY,
    extract_type   text        NOT NULL CHECK (extract_type IN ('Full', 'Update')),
    snapshot_date  date        NOT NULL,
    ingested_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kbo.enterprise (
    enterprise_number   text PRIMARY KEY,
    status              text NOT NULL,
    juridical_situation text,
    type_of_enterprise  text,
    juridical_form      text,
    juridical_form_cac  text,
    start_date          date
);

CREATE TABLE kbo.establishment (
    establishment_number text PRIMARY KEY,
    start_date           date,
    enterprise_number    text NOT NULL
);
CREATE INDEX establishment_enterprise_idx ON kbo.establishment (enterprise_number);

-- entity_number is an enterprise, establishment unit or branch number: no foreign keys,
-- the KBO files are not referentially complete (branches, stopped entities).
CREATE TABLE kbo.denomination (
    entity_number        text NOT NULL,
    language             text NOT NULL,
    type_of_denomination text NOT NULL,
    denomination         text NOT NULL
);
CREATE INDEX denomination_entity_idx ON kbo.denomination (entity_number);

CREATE TABLE kbo.address (
    entity_number      text NOT NULL,
    type_of_address    text NOT NULL,
    country_nl         text,
    country_fr         text,
    zipcode            text,
    municipality_nl    text,
    municipality_fr    text,
    street_nl          text,
    street_fr          text,
    house_number       text,
    box                text,
    extra_address_info text,
    date_striking_off  date
);
CREATE INDEX address_entity_idx ON kbo.address (entity_number);

CREATE TABLE kbo.contact (
    entity_number  text NOT NULL,
    entity_contact text,
    contact_type   text NOT NULL,
    value          text NOT NULL
);
CREATE INDEX contact_entity_idx ON kbo.contact (entity_number);

CREATE TABLE kbo.activity (
    entity_number  text NOT NULL,
    activity_group text NOT NULL,
    nace_version   text NOT NULL,
    nace_code      text NOT NULL,
    classification text
);
CREATE INDEX activity_entity_idx ON kbo.activity (entity_number);

-- One row per enterprise ever seen. state/digest: its last assembled state (without
-- sourceVersion). active: present in the KBO. emitted: its state was published at least
-- once (care-relevant or linked), so its disappearance must be published too.
CREATE TABLE kbo.entity_state (
    enterprise_number text    PRIMARY KEY,
    digest            text    NOT NULL,
    state             jsonb   NOT NULL,
    extract_number    bigint  NOT NULL,
    active            boolean NOT NULL,
    emitted           boolean NOT NULL DEFAULT false
);
