-- Basil's Corner: a member's edit of an approved memorial, while memorial approval is on, waits here for a
-- moderator. The public card keeps the approved version until the edit is approved; declining drops it.
-- One waiting edit per memorial: a newer edit replaces the one still waiting.
CREATE TABLE basil_pending_edits (
    memorial_id   INTEGER PRIMARY KEY REFERENCES basil_memorials(id) ON DELETE CASCADE,
    guild_id      INTEGER NOT NULL,
    member_id     INTEGER NOT NULL,
    species       TEXT,
    born          TEXT,                           -- ISO date
    passed        TEXT,                           -- ISO date
    story         TEXT    NOT NULL,
    anniversaries INTEGER NOT NULL,
    photo_name    TEXT,                           -- a new photo's bytes, fetched when the edit was sent
    photo_type    TEXT,
    photo_data    BLOB,
    created_at    INTEGER NOT NULL
);
CREATE INDEX basil_pending_edits_guild ON basil_pending_edits (guild_id, created_at);

-- Memorials per member per day are counted by author and creation time.
CREATE INDEX basil_memorials_author ON basil_memorials (guild_id, author_id, created_at);
