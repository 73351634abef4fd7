-- Dead letters an operator handled before dlq-retrier reached them (docs/runbook.md,
-- "Dead letters waiting"): retried now (here) or skipped (parked with reason SKIPPED).
-- The retrier's loop consults both before it republishes or parks a record, so a
-- record retried now is not re-delivered again by its own schedule.

CREATE TABLE retried_dead_letters (
    dlq_topic      text        NOT NULL,
    dlq_partition  integer     NOT NULL,
    dlq_offset     bigint      NOT NULL,
    consumer_group text        NOT NULL,
    retry_topic    text        NOT NULL,
    attempt        integer     NOT NULL,  -- the attempt it was sent for
    retried_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset)
);

ALTER TABLE parked_records DROP CONSTRAINT parked_records_reason_check;
ALTER TABLE parked_records ADD CONSTRAINT parked_records_reason_check
    CHECK (reason IN ('FATAL', 'EXHAUSTED', 'FOREIGN', 'SKIPPED'));
