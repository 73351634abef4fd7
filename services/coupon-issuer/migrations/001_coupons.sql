-- coupon-issuer owns coupons, the coupons it issued and the outcome of every request.

CREATE TABLE coupons (
    id              uuid        PRIMARY KEY,
    name            text        NOT NULL,
    discount        bigint      NOT NULL CHECK (discount >= 0),  -- minor units
    total_stock     bigint      NOT NULL CHECK (total_stock >= 0),
    remaining_stock bigint      NOT NULL CHECK (remaining_stock >= 0 AND remaining_stock <= total_stock),
    valid_from      timestamptz NOT NULL,
    valid_until     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT coupons_window CHECK (valid_until > valid_from)
);

-- One coupon per user: the decider never issues twice, and this constraint makes sure
-- of it whatever races (two consumers during a rebalance, a replayed batch).
CREATE TABLE issued_coupons (
    id         uuid        PRIMARY KEY,
    coupon_id  uuid        NOT NULL REFERENCES coupons (id),
    user_id    text        NOT NULL,
    request_id uuid        NOT NULL UNIQUE,
    issued_at  timestamptz NOT NULL,
    CONSTRAINT issued_coupons_one_per_user UNIQUE (coupon_id, user_id)
);
CREATE INDEX issued_coupons_user_idx ON issued_coupons (user_id, issued_at DESC);

-- Every request's outcome. PENDING is written by the HTTP side only after Kafka
-- acknowledged the request, and never over a decision (INSERT ... ON CONFLICT DO
-- NOTHING); the decider's write replaces PENDING and nothing else. coupon_id has no
-- foreign key: NOT_FOUND requests name coupons that do not exist.
CREATE TABLE coupon_requests (
    request_id       uuid        PRIMARY KEY,
    coupon_id        uuid        NOT NULL,
    user_id          text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('PENDING', 'ISSUED', 'REJECTED')),
    reason           text        CHECK (reason IN ('OUT_OF_STOCK', 'ALREADY_ISSUED', 'EXPIRED', 'NOT_FOUND')),
    issued_coupon_id uuid,
    requested_at     timestamptz NOT NULL,
    decided_at       timestamptz,
    CONSTRAINT coupon_requests_reason CHECK ((status = 'REJECTED') = (reason IS NOT NULL)),
    CONSTRAINT coupon_requests_decided CHECK ((status = 'PENDING') = (decided_at IS NULL))
);
CREATE INDEX coupon_requests_coupon_idx ON coupon_requests (coupon_id, status);
