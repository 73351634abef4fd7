-- Tickets: the event a product admits to, for the messages its orders lead to. Optional:
-- products without them (and every product created before them) stay as they were.
-- event_date is RFC 3339 as given, its offset kept, so a message shows the venue's local
-- time (a timestamptz would keep the instant and lose the offset); the API checks it.
ALTER TABLE products ADD COLUMN IF NOT EXISTS event_date text;
ALTER TABLE products ADD COLUMN IF NOT EXISTS venue text;
