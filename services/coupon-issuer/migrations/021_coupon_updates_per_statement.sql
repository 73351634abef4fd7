-- The live updates of 020_coupon_updates.sql written per statement (issue 18): the row
-- trigger ran an upsert and an insert for every request changed; the triggers of
-- libs/events/migrations/000_live_updates.sql run one of each per statement, with the
-- same ids and the same data. A new file, not an edit of 020: migrations are recorded by
-- name, so a database that applied 020 would never see an edit of it.
DROP TRIGGER coupon_requests_record_update ON coupon_requests;
DROP FUNCTION record_coupon_update();

-- What a coupon request's update carries.
CREATE FUNCTION coupon_update_data(r coupon_requests) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('requestId', r.request_id, 'couponId', r.coupon_id, 'status', r.status,
                              'reason', r.reason, 'issuedCouponId', r.issued_coupon_id,
                              'decidedAt', r.decided_at,
                              'statusUrl', '/v1/coupon-requests/' || r.request_id)
$$;

SELECT create_live_update_triggers('coupon_requests', 'coupon', 'coupon-request.status', 'request_id');
