-- Per-server settings, bot metadata, and de-duplicated notices to moderators.
-- Times are INTEGER unix seconds (UTC) throughout the schema.
CREATE TABLE guild_settings (
    guild_id                 INTEGER PRIMARY KEY,
    announcements_channel_id INTEGER,
    screenings_channel_id    INTEGER,
    polls_channel_id         INTEGER,
    trivia_channel_id        INTEGER,
    basil_channel_id         INTEGER,
    moderator_role_id        INTEGER,
    timezone                 TEXT    NOT NULL DEFAULT 'UTC',
    reminder_offsets         TEXT    NOT NULL DEFAULT '1d,1h',
    basil_approval           INTEGER NOT NULL DEFAULT 0,
    updated_at               INTEGER NOT NULL
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE notices (
    guild_id INTEGER NOT NULL,
    key      TEXT    NOT NULL,
    sent_at  INTEGER NOT NULL,
    PRIMARY KEY (guild_id, key)
);
