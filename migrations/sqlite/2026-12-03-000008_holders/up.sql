-- Who holds what, so that a holder that is provably dead (its process gone on this host) is
-- taken over at once instead of after its lease or hold runs out: the process behind each
-- instance's heartbeat, and the process holding each pending outbox row it claimed or wrote
-- ahead of its due time (crate::holder).
ALTER TABLE instances ADD COLUMN process TEXT;
ALTER TABLE outbox ADD COLUMN held_by TEXT;
CREATE INDEX outbox_held_by ON outbox (held_by) WHERE status = 'pending' AND held_by IS NOT NULL;
