-- The CloudEvents attributes as columns of their own, for Debezium's outbox event router:
-- it can place a column as a record header (table.fields.additional.placement) but cannot
-- read a field inside the `headers` document, and our consumers need ce_source and ce_time
-- (docs/operations.md, "Publishing the outbox with Debezium"). The writer fills them from
-- the same values as `headers`, which our relay keeps reading. Not generated columns:
-- PostgreSQL 15's logical replication does not send those.
ALTER TABLE outbox
    ADD COLUMN ce_source     text,  -- e.g. /paypipe/payment-api
    ADD COLUMN ce_time       text,  -- RFC 3339, the event's time
    ADD COLUMN ce_dataschema text,  -- NULL when the type has no schema version
    ADD COLUMN traceparent   text,  -- W3C; NULL outside a trace
    -- A column, not a Connect InsertHeader: its literal "1.0" is parsed as a number and
    -- reaches Kafka as "1".
    ADD COLUMN ce_specversion text NOT NULL DEFAULT '1.0';
-- Rows written before this migration and not yet published.
UPDATE outbox
   SET ce_source = headers->>'ce_source', ce_time = headers->>'ce_time',
       ce_dataschema = headers->>'ce_dataschema', traceparent = headers->>'traceparent';
