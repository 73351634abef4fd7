-- A row Kafka will not take (its topic is missing, it is too large, it is refused) is
-- set aside instead of being retried at the head of every pass: the relay skips it, the
-- rows after it flow, and an operator sees it with its reason
-- (docs/operations.md, "Outbox rows set aside"). Columns of the relay only: Debezium's
-- outbox router reads the inserts and ignores them.
ALTER TABLE outbox
    ADD COLUMN attempts     integer     NOT NULL DEFAULT 0,  -- passes that failed to deliver it
    ADD COLUMN last_error   text,                            -- why the last one failed
    ADD COLUMN set_aside_at timestamptz;                     -- not NULL: skipped until requeued
CREATE INDEX outbox_pending_idx ON outbox (seq) WHERE set_aside_at IS NULL;
