-- The transactional outbox, with the columns of Debezium's outbox event router, so a
-- team can replace our relay with Debezium (route.by.field=type,
-- route.topic.replacement=${routedByValue}, table.field.event.key=aggregateid) without
-- touching a producer. Rows are deleted once Kafka has acknowledged them.
CREATE TABLE outbox (
    id            uuid        PRIMARY KEY,            -- the event id (ce_id)
    aggregatetype text        NOT NULL,               -- "order", "payment", "coupon", ...
    aggregateid   text        NOT NULL,               -- the Kafka record key
    type          text        NOT NULL,               -- ce_type, also the topic name
    payload       jsonb       NOT NULL,               -- the event data
    headers       jsonb       NOT NULL DEFAULT '{}',  -- ce_source, ce_time, ce_dataschema, traceparent
    seq           bigserial   NOT NULL,               -- publication order
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX outbox_seq_idx ON outbox (seq);

-- Wakes the relay (LISTEN outbox_<schema>) once per inserting statement.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox_' || TG_TABLE_SCHEMA, '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
