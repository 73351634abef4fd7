-- Telegram chats linked by their users (the bot's /start <link-token>), and the one-time
-- tokens that link them. A token is stored only as its SHA-256: the database never
-- holds a usable one.
CREATE TABLE telegram_link_tokens (
    token_hash  text        PRIMARY KEY,  -- hex SHA-256 of the token
    user_id     text        NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,              -- set once: a token links one chat, once
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX telegram_link_tokens_user_idx ON telegram_link_tokens (user_id);

-- One chat per user (a later /start replaces it); /stop in a chat forgets every user
-- linked to it.
CREATE TABLE telegram_chats (
    user_id    text        PRIMARY KEY,
    chat_id    text        NOT NULL,
    locale     text        CHECK (locale IN ('ko', 'en')),  -- the chat's language, if ours
    linked_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX telegram_chats_chat_idx ON telegram_chats (chat_id);
