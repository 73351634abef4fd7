-- order-processor owns products (with their stock), orders and order items.

-- Stock is three counters: `held` by orders awaiting payment, `sold` to paid orders,
-- and what is left (total_stock - held - sold) is available. The CHECK makes
-- overselling impossible whatever the code above it does.
CREATE TABLE products (
    id            text        PRIMARY KEY,
    name          text        NOT NULL,
    unit_price    bigint      NOT NULL CHECK (unit_price >= 0),
    currency      text        NOT NULL,
    total_stock   bigint      NOT NULL CHECK (total_stock >= 0),
    held          bigint      NOT NULL DEFAULT 0 CHECK (held >= 0),
    sold          bigint      NOT NULL DEFAULT 0 CHECK (sold >= 0),
    sale_opens_at timestamptz NOT NULL,
    -- Set once, in the transaction that sold the last unit: product.sold-out is emitted
    -- exactly when this goes from NULL to a time.
    sold_out_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT products_never_oversold CHECK (held + sold <= total_stock)
);

CREATE TABLE orders (
    id              uuid        PRIMARY KEY,
    user_id         text        NOT NULL,
    status          text        NOT NULL CHECK (status IN (
                        'CREATED', 'PENDING_PAYMENT', 'PAYMENT_COMPLETED', 'PREPARING', 'IN_WAREHOUSE',
                        'SHIPMENT_STARTED', 'IN_TRANSIT', 'COMPLETED', 'REFUND_REQUESTED', 'REFUNDED',
                        'CANCELLED', 'EXPIRED')),
    fulfilment      text        NOT NULL CHECK (fulfilment IN ('SHIPPING', 'WAREHOUSE')),
    total_amount    bigint      NOT NULL CHECK (total_amount >= 0),
    currency        text        NOT NULL,
    expires_at      timestamptz NOT NULL,
    payment_id      uuid,       -- the payment that completed (or must be refunded)
    cancel_reason   text        CHECK (cancel_reason IN ('PAYMENT_FAILED', 'EXPIRED', 'USER_CANCELLED')),
    idempotency_key text,       -- the client's Idempotency-Key, if it sent one
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    -- NULL keys are distinct: only requests that carried a key are deduplicated.
    CONSTRAINT orders_idempotency_key UNIQUE (user_id, idempotency_key)
);
-- The expiry sweep reads only unpaid orders, oldest deadline first.
CREATE INDEX orders_pending_expiry_idx ON orders (expires_at) WHERE status = 'PENDING_PAYMENT';

-- The foreign key is load-bearing: the order row is inserted only if every hold was
-- taken, so items of an order that could not hold its stock fail here and abort the
-- creation's transaction (see order_store.cpp).
CREATE TABLE order_items (
    order_id   uuid   NOT NULL REFERENCES orders (id),
    line       int    NOT NULL,
    product_id text   NOT NULL,
    quantity   bigint NOT NULL CHECK (quantity > 0),
    unit_price bigint NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (order_id, line)
);
