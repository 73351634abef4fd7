-- Refunds of paid orders, and the event date of a ticket product (issue 16 items 2 and 5).

-- The date of the event a product is a ticket for: 002_product_event.sql adds it (text,
-- a date or a date and time as given); order events carry it per line and
-- product.sold-out carries it, so rankings can be kept per event date.

-- When payment.completed completed the order: a user's refund is allowed for
-- PAYPIPE_REFUND_WINDOW_MS after it. NULL for orders paid before this column existed
-- (the rule then takes updated_at, which their payment wrote).
ALTER TABLE orders ADD COLUMN paid_at timestamptz;
-- Why a refund was asked for, carried into order.refunded.
ALTER TABLE orders ADD COLUMN refund_reason text
    CHECK (refund_reason IN ('ORDER_CANCELLED', 'ORDER_EXPIRED', 'USER_REQUESTED', 'ADMIN_REFUND'));
