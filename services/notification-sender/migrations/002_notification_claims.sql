-- A claim per event id, taken and committed BEFORE the Telegram call: a second runner
-- of the same record (a partition revoked while its job was in flight and given to
-- another replica, a redelivery racing a slow send) finds the claim and does not send.
--
--   owner        the claiming process (Config::claim_owner)
--   lease_until  the claim holds until then; an expired claim may be taken over (the
--                owner died, or its call outlived the lease): that takeover is counted as
--                a possible duplicate (notification_possible_duplicates_total)
--   takeovers    how often another owner took it over after its lease expired
--
--   done         the event's log row is written (same statement). A done claim is never
--                claimed again: deleting it instead let a runner whose snapshot predated
--                the log row insert a fresh claim and send again (seen in a test).
--
-- A claim not done goes when its owner gives it up having sent nothing (a definite
-- failure, a revoked partition). Done claims stay, one small row per event, as the log's.

CREATE TABLE notification_claims (
    event_id    uuid        PRIMARY KEY,
    owner       text        NOT NULL,
    lease_until timestamptz NOT NULL,
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    takeovers   integer     NOT NULL DEFAULT 0,
    done        boolean     NOT NULL DEFAULT false
);
