-- Live updates (docs/architecture.md "Live updates"): every order state change, for
-- its user's streams (GET /v1/orders/stream) to replay from an id and then follow.
--
-- Ids are per user, gap-free and in commit order: the counter row of the user is
-- locked by the change's transaction until it commits, so id n+1 is taken only after
-- the transaction that took n committed or rolled back (and a rollback returns n). A
-- client that saw n therefore has everything up to n, and resumes with id > n.
-- Written by a trigger, so no code path that changes an order can forget it.
CREATE TABLE order_update_counters (
    user_id text   PRIMARY KEY,
    last_id bigint NOT NULL
);

CREATE TABLE order_updates (
    user_id    text        NOT NULL,
    id         bigint      NOT NULL,
    type       text        NOT NULL,
    data       jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_id, id)
);
-- The periodic tail (who changed lately) and the pruning by age.
CREATE INDEX order_updates_created_idx ON order_updates (created_at);

CREATE FUNCTION record_order_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    next_id bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN
        RETURN NULL;
    END IF;
    INSERT INTO order_update_counters AS c (user_id, last_id) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET last_id = c.last_id + 1
        RETURNING last_id INTO next_id;
    INSERT INTO order_updates (user_id, id, type, data)
    VALUES (NEW.user_id, next_id, 'order.status',
            jsonb_build_object('orderId', NEW.id, 'status', NEW.status, 'cancelReason', NEW.cancel_reason,
                               'totalAmount', NEW.total_amount, 'currency', NEW.currency,
                               'fulfilment', NEW.fulfilment, 'updatedAt', NEW.updated_at,
                               'statusUrl', '/v1/orders/' || NEW.id));
    RETURN NULL;
END;
$$;

CREATE TRIGGER orders_record_update AFTER INSERT OR UPDATE OF status ON orders
    FOR EACH ROW EXECUTE FUNCTION record_order_update();
