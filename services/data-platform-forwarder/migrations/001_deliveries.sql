-- data-platform-forwarder owns the delivery log: one row per event id, with the state of
-- its delivery to the analytics webhook and the number of HTTP tries it took.
--
--   PUBLISHED    seen (the row is written before the first try starts)
--   IN_PROGRESS  a try is on the wire
--   COMPLETED    the webhook accepted it (2xx); never sent again
--   FAILED       a try failed; another in-process try follows
--   DEAD_LETTER  the in-process tries are spent (or the webhook refused it): the record
--                went to dlq.data-platform-forwarder; a later try from
--                retry.data-platform-forwarder may still complete it

CREATE TABLE deliveries (
    event_id         uuid        PRIMARY KEY,
    seq              bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,  -- the listing cursor
    event_type       text        NOT NULL,
    event_key        text        NOT NULL,
    status           text        NOT NULL
                     CHECK (status IN ('PUBLISHED', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'DEAD_LETTER')),
    attempts         integer     NOT NULL DEFAULT 0,  -- HTTP tries, over every delivery of the event
    last_http_status integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz
);
CREATE INDEX deliveries_status_seq_idx ON deliveries (status, seq);
