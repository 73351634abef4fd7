-- The live updates of 020_order_updates.sql written per statement (issue 18): the row
-- trigger ran an upsert and an insert for every order changed; the triggers of
-- libs/events/migrations/000_live_updates.sql run one of each per statement, with the
-- same ids. A new file, not an edit of 020: migrations are recorded by name, so a
-- database that applied 020 would never see an edit of it.
DROP TRIGGER orders_record_update ON orders;
DROP FUNCTION record_order_update();

-- What an order's update carries; refundReason says why a refund was asked for
-- (REFUND_REQUESTED and REFUNDED; null before).
CREATE FUNCTION order_update_data(o orders) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('orderId', o.id, 'status', o.status, 'cancelReason', o.cancel_reason,
                              'refundReason', o.refund_reason,
                              'totalAmount', o.total_amount, 'currency', o.currency,
                              'fulfilment', o.fulfilment, 'updatedAt', o.updated_at,
                              'statusUrl', '/v1/orders/' || o.id)
$$;

SELECT create_live_update_triggers('orders', 'order', 'order.status', 'id');
