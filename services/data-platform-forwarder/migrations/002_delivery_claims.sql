-- The claim on a delivery, taken and committed with IN_PROGRESS BEFORE the webhook call:
-- a second runner of the same record (a partition revoked while its job was in flight
-- and given to another replica) finds an unexpired claim of another owner and does not
-- call. An expired claim may be taken over (its owner died or its call outlived the
-- lease); that takeover is counted as a possible duplicate
-- (webhook_possible_duplicates_total). The claim is cleared when its owner ends the try.

ALTER TABLE deliveries
    ADD COLUMN claim_owner text,
    ADD COLUMN claim_until timestamptz,
    ADD COLUMN takeovers   integer NOT NULL DEFAULT 0;
