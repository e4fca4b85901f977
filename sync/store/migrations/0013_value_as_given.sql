-- The text a source wrote for a value that mapping normalised (a phone number typed
-- `080 18 86 57`, kept as +3280188657): provenance keeps what the source said.
ALTER TABLE field_value ADD COLUMN as_given jsonb;
