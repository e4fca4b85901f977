-- Dead letters already sent back to their original topic (``sksync dlq replay``).
--
-- The primary key is the letter's position on its dead-letter topic: a second replay finds
-- the row and skips the letter, and two operators replaying at once cannot both send it
-- (the second INSERT waits for the first transaction, then finds the row).
-- "offset" is a reserved word in PostgreSQL, hence the quotes.

CREATE TABLE dead_letter_replay (
    dlq_topic    text        NOT NULL,
    partition    integer     NOT NULL,
    "offset"     bigint      NOT NULL,
    replayed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dlq_topic, partition, "offset")
);
