-- payment-api owns wallets, payments and its projection of payable orders.

CREATE TABLE wallets (
    user_id    text        PRIMARY KEY,
    balance    bigint      NOT NULL CHECK (balance >= 0),
    currency   text        NOT NULL DEFAULT 'KRW',
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every change of a balance, so balance = sum(amount) can always be checked.
CREATE TABLE wallet_entries (
    id              uuid        PRIMARY KEY,
    user_id         text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('DEPOSIT', 'PAYMENT', 'REFUND')),
    amount          bigint      NOT NULL,  -- signed: deposits and refunds add, payments subtract
    balance_after   bigint      NOT NULL,
    payment_id      uuid,
    idempotency_key text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wallet_entries_user_idx ON wallet_entries (user_id);
CREATE UNIQUE INDEX wallet_entries_deposit_key ON wallet_entries (user_id, idempotency_key) WHERE kind = 'DEPOSIT';
CREATE UNIQUE INDEX wallet_entries_refund_once ON wallet_entries (payment_id) WHERE kind = 'REFUND';

-- What payment-api knows of orders, from order.created and order.cancelled.
CREATE TABLE payable_orders (
    order_id   uuid        PRIMARY KEY,
    user_id    text        NOT NULL,
    amount     bigint      NOT NULL CHECK (amount >= 0),
    currency   text        NOT NULL,
    status     text        NOT NULL CHECK (status IN ('PAYABLE', 'PAID', 'PAYMENT_FAILED', 'CANCELLED')),
    expires_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payments (
    id                  uuid        PRIMARY KEY,
    order_id            uuid        NOT NULL,
    user_id             text        NOT NULL,
    amount              bigint      NOT NULL,
    currency            text        NOT NULL,
    status              text        NOT NULL CHECK (status IN ('COMPLETED', 'FAILED', 'REFUNDED')),
    failure_reason      text,
    idempotency_key     text        NOT NULL,
    request_fingerprint text        NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    refunded_at         timestamptz,
    CONSTRAINT payments_idempotency_key UNIQUE (user_id, idempotency_key)
);
-- An order is charged at most once, whatever races.
CREATE UNIQUE INDEX payments_one_charge_per_order ON payments (order_id) WHERE status IN ('COMPLETED', 'REFUNDED');
