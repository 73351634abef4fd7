-- Live updates (docs/architecture.md "Live updates"): every payment (completed, failed, refunded), for
-- its user's streams (GET /v1/payments/stream) to replay from an id and then follow.
--
-- Ids are per user, gap-free and in commit order: the counter row of the user is
-- locked by the change's transaction until it commits, so id n+1 is taken only after
-- the transaction that took n committed or rolled back (and a rollback returns n). A
-- client that saw n therefore has everything up to n, and resumes with id > n.
-- Written by a trigger, so no code path that writes a payment can forget it.
CREATE TABLE payment_update_counters (
    user_id text   PRIMARY KEY,
    last_id bigint NOT NULL
);

CREATE TABLE payment_updates (
    user_id    text        NOT NULL,
    id         bigint      NOT NULL,
    type       text        NOT NULL,
    data       jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_id, id)
);
-- The periodic tail (who changed lately) and the pruning by age.
CREATE INDEX payment_updates_created_idx ON payment_updates (created_at);

CREATE FUNCTION record_payment_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    next_id bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN
        RETURN NULL;
    END IF;
    INSERT INTO payment_update_counters AS c (user_id, last_id) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET last_id = c.last_id + 1
        RETURNING last_id INTO next_id;
    INSERT INTO payment_updates (user_id, id, type, data)
    VALUES (NEW.user_id, next_id, 'payment.status',
            jsonb_build_object('paymentId', NEW.id, 'orderId', NEW.order_id, 'status', NEW.status,
                               'amount', NEW.amount, 'currency', NEW.currency,
                               'failureReason', NEW.failure_reason, 'statusUrl', '/v1/payments/' || NEW.id));
    RETURN NULL;
END;
$$;

CREATE TRIGGER payments_record_update AFTER INSERT OR UPDATE OF status ON payments
    FOR EACH ROW EXECUTE FUNCTION record_payment_update();
