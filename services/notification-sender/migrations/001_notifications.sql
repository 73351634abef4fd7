-- notification-sender owns the log of what it sent: one row per event id, written after
-- Telegram accepted the message (or after deciding not to send it), so a redelivered
-- event finds its row and is not sent again.

CREATE TABLE notifications (
    event_id            uuid        PRIMARY KEY,
    seq                 bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,  -- the listing cursor
    event_type          text        NOT NULL,
    user_id             text        NOT NULL,
    status              text        NOT NULL CHECK (status IN ('SENT', 'SKIPPED')),
    chat_id             text,       -- null when SKIPPED (no chat for the user)
    locale              text        NOT NULL,
    text                text        NOT NULL,
    payment_id          uuid,
    order_id            uuid,
    request_id          uuid,
    telegram_message_id bigint,
    sent_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_user_seq_idx ON notifications (user_id, seq);
