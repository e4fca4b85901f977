-- When editors were last asked to have a fiche checked (VerificationDue, once per period).
ALTER TABLE fiche ADD COLUMN verification_notified_at timestamptz;
CREATE INDEX fiche_verification ON fiche (coalesce(verified_at, created_at)) WHERE status = 'active';
