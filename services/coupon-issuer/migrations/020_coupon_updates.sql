-- Live updates (docs/architecture.md "Live updates"): every coupon request, asked (PENDING) and decided (ISSUED, REJECTED), for
-- its user's streams (GET /v1/coupon-requests/stream) to replay from an id and then follow.
--
-- Ids are per user, gap-free and in commit order: the counter row of the user is
-- locked by the change's transaction until it commits, so id n+1 is taken only after
-- the transaction that took n committed or rolled back (and a rollback returns n). A
-- client that saw n therefore has everything up to n, and resumes with id > n.
-- Written by a trigger, so no code path that writes a request can forget it.
-- A decided request written to its user's stream is NOTIFIED (the moment is kept; the
-- decision stays in status).
ALTER TABLE coupon_requests ADD COLUMN notified_at timestamptz;

CREATE TABLE coupon_update_counters (
    user_id text   PRIMARY KEY,
    last_id bigint NOT NULL
);

CREATE TABLE coupon_updates (
    user_id    text        NOT NULL,
    id         bigint      NOT NULL,
    type       text        NOT NULL,
    data       jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_id, id)
);
-- The periodic tail (who changed lately) and the pruning by age.
CREATE INDEX coupon_updates_created_idx ON coupon_updates (created_at);

CREATE FUNCTION record_coupon_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    next_id bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN
        RETURN NULL;
    END IF;
    INSERT INTO coupon_update_counters AS c (user_id, last_id) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET last_id = c.last_id + 1
        RETURNING last_id INTO next_id;
    INSERT INTO coupon_updates (user_id, id, type, data)
    VALUES (NEW.user_id, next_id, 'coupon-request.status',
            jsonb_build_object('requestId', NEW.request_id, 'couponId', NEW.coupon_id, 'status', NEW.status,
                               'reason', NEW.reason, 'issuedCouponId', NEW.issued_coupon_id,
                               'decidedAt', NEW.decided_at,
                               'statusUrl', '/v1/coupon-requests/' || NEW.request_id));
    RETURN NULL;
END;
$$;

CREATE TRIGGER coupon_requests_record_update AFTER INSERT OR UPDATE OF status ON coupon_requests
    FOR EACH ROW EXECUTE FUNCTION record_coupon_update();
