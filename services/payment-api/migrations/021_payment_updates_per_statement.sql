-- The live updates of 020_payment_updates.sql written per statement (issue 18): the row
-- trigger ran an upsert and an insert for every payment, 64 of each for a batch; the
-- triggers of libs/events/migrations/000_live_updates.sql run one of each per
-- statement, with the same ids and the same data. A new file, not an edit of 020:
-- migrations are recorded by name, so a database that applied 020 would never see an
-- edit of it.
DROP TRIGGER payments_record_update ON payments;
DROP FUNCTION record_payment_update();

-- What a payment's update carries.
CREATE FUNCTION payment_update_data(p payments) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('paymentId', p.id, 'orderId', p.order_id, 'status', p.status,
                              'amount', p.amount, 'currency', p.currency,
                              'failureReason', p.failure_reason, 'statusUrl', '/v1/payments/' || p.id)
$$;

SELECT create_live_update_triggers('payments', 'payment', 'payment.status', 'id');
