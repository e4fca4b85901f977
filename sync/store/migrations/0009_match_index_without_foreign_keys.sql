-- The blocking keys and profiles are matching's index: derived from a fiche's values, written
-- only by the transaction that holds the fiche's row lock, and rebuilt from the fiches by
-- `sksync matches reindex`. Checking each key row against the fiche table cost a quarter of a
-- batch's writes (about ten key rows per fiche, each with its own check); fiches are never
-- deleted, so the checks could never fail. Candidates, rejections and links, which are
-- decisions rather than an index, keep theirs.
ALTER TABLE match_key DROP CONSTRAINT IF EXISTS match_key_fiche_id_fkey;
ALTER TABLE match_profile DROP CONSTRAINT IF EXISTS match_profile_fiche_id_fkey;
