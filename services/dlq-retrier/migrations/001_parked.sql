-- dlq-retrier owns the parked dead letters: records it gave up on, kept byte-exact
-- until an operator replays or purges them (see src/parked.hpp).

CREATE TABLE parked_records (
    id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer_group     text        NOT NULL,
    status             text        NOT NULL DEFAULT 'PARKED' CHECK (status IN ('PARKED', 'REPLAYED', 'PURGED')),
    reason             text        NOT NULL CHECK (reason IN ('FATAL', 'EXHAUSTED', 'FOREIGN')),
    reason_detail      text        NOT NULL,
    -- Where the record failed first (kafka_dlt-original-*); null when its headers do not say.
    original_topic     text,
    original_partition integer,
    original_offset    bigint,
    original_timestamp timestamptz,
    -- The dead letter itself: its place in dlq.<group>, key, value and every header.
    dlq_topic          text        NOT NULL,
    dlq_partition      integer     NOT NULL,
    dlq_offset         bigint      NOT NULL,
    record_key         bytea,      -- null: a null key
    record_value       bytea       NOT NULL,
    -- [{"name": "...", "value": "<base64 of the exact bytes>"}, ...] in record order;
    -- "nameBase64" too when a name is not valid UTF-8.
    headers            jsonb       NOT NULL,
    error_class        text        NOT NULL,
    message            text        NOT NULL,
    attempt            integer     NOT NULL,
    first_failed_at    timestamptz,
    failed_at          timestamptz,
    parked_at          timestamptz NOT NULL DEFAULT now(),
    replayed_at        timestamptz,
    purged_at          timestamptz,
    replay_count       integer     NOT NULL DEFAULT 0,
    -- A dead letter read twice (a crash before its offset was committed) is parked once.
    CONSTRAINT parked_records_dead_letter UNIQUE (dlq_topic, dlq_partition, dlq_offset)
);

CREATE INDEX parked_records_group_status ON parked_records (consumer_group, status, id);
CREATE INDEX parked_records_status ON parked_records (status, id);
