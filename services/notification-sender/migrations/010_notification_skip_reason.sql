-- Why an event got no message. A user id is no longer taken as a chat id (issue 13):
-- a user without a configured chat is SKIPPED with reason 'no-chat', and the log says so.
-- (Numbered 010, not 002, so that migrations written in parallel for other changes sort
-- before it; migrations apply in name order.)

ALTER TABLE notifications ADD COLUMN reason text;
UPDATE notifications SET reason = 'no-chat' WHERE status = 'SKIPPED' AND reason IS NULL;
ALTER TABLE notifications
    ADD CONSTRAINT notifications_reason_check
    CHECK ((status = 'SKIPPED') = (reason IS NOT NULL));
