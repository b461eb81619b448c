-- Basil's Corner: what `/basil memorial` and `/basil edit` collected while their story form is open.
-- Kept in the database (not in memory) so a form submitted after a restart, or after a long
-- time writing, still completes. A draft is taken (deleted) when its form is submitted.
CREATE TABLE basil_drafts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id      INTEGER NOT NULL,
    member_id     INTEGER NOT NULL,
    memorial_id   INTEGER REFERENCES basil_memorials(id) ON DELETE CASCADE,  -- set for an edit
    name          TEXT    NOT NULL,
    name_key      TEXT    NOT NULL,
    species       TEXT,
    born          TEXT,                           -- ISO date
    passed        TEXT,                           -- ISO date
    anniversaries INTEGER NOT NULL DEFAULT 1,
    photo_url     TEXT,                           -- the attachment on Discord's CDN, fetched on submit
    photo_ext     TEXT,
    photo_type    TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX basil_drafts_created ON basil_drafts (created_at);

-- Cards and threads are looked up when Discord says a message, thread or channel was deleted.
CREATE INDEX basil_memorials_channel ON basil_memorials (channel_id);
CREATE INDEX basil_memorials_thread ON basil_memorials (thread_id);
