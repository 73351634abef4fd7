-- The relay's fast path (libs/events/outbox.hpp): a writer publishes its committed
-- events itself when no older row of their key is in the outbox, and marks those rows
-- fast_path; the relay's pass leaves such a row to its writer for a grace period, then
-- publishes it (the writer died between COMMIT and publish). The index answers both
-- "is an older row of this key still here" questions (the insert's, the pass's).
-- Columns of the relay only: Debezium's outbox router ignores them.
ALTER TABLE outbox ADD COLUMN fast_path boolean NOT NULL DEFAULT false;
CREATE INDEX outbox_aggregateid_idx ON outbox (aggregateid, seq);
