-- The single source of truth for everything the bot posts later.
CREATE TABLE scheduled_posts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id    INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    key         TEXT    NOT NULL UNIQUE,          -- one row per occurrence
    channel_id  INTEGER,
    thread_id   INTEGER,
    member_id   INTEGER,
    payload     TEXT    NOT NULL DEFAULT '{}',    -- JSON
    due_at      INTEGER NOT NULL,                 -- unix seconds, UTC
    retry_at    INTEGER,                          -- next attempt after a transient failure
    status      TEXT    NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'missed', 'cancelled')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    message_id  INTEGER,
    recurrence  TEXT,                             -- JSON rule, NULL for one-off posts
    created_at  INTEGER NOT NULL,
    claimed_at  INTEGER,
    sent_at     INTEGER
);

CREATE INDEX scheduled_posts_pending ON scheduled_posts (status, due_at);
CREATE INDEX scheduled_posts_guild ON scheduled_posts (guild_id, status, due_at);
