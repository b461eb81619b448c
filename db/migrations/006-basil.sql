-- Basil's Corner: memorials for the club's pets, their photos, tributes and anniversaries.
CREATE TABLE basil_memorials (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id      INTEGER NOT NULL,
    name          TEXT    NOT NULL,
    name_key      TEXT    NOT NULL,               -- casefolded name: one pet of a name per server
    species       TEXT,
    born          TEXT,                           -- ISO date (no time)
    passed        TEXT,                           -- ISO date (no time)
    story         TEXT    NOT NULL DEFAULT '',
    author_id     INTEGER NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'approved')),
    anniversaries INTEGER NOT NULL DEFAULT 1,     -- 0 = the author opted out
    channel_id    INTEGER,                        -- the card (once published)
    message_id    INTEGER,
    thread_id     INTEGER,
    created_at    INTEGER NOT NULL,
    approved_at   INTEGER,
    approved_by   INTEGER,
    updated_at    INTEGER NOT NULL,
    UNIQUE (guild_id, name_key)
);
CREATE INDEX basil_memorials_status ON basil_memorials (guild_id, status, created_at);
CREATE INDEX basil_memorials_message ON basil_memorials (message_id);

-- The photo's bytes, kept so a queued memorial and `/basil remember` never depend on a CDN URL.
CREATE TABLE basil_photos (
    memorial_id  INTEGER PRIMARY KEY REFERENCES basil_memorials(id) ON DELETE CASCADE,
    filename     TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    data         BLOB    NOT NULL
);

CREATE TABLE basil_tributes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    memorial_id INTEGER NOT NULL REFERENCES basil_memorials(id) ON DELETE CASCADE,
    author_id   INTEGER NOT NULL,
    author_name TEXT    NOT NULL,
    text        TEXT    NOT NULL,
    message_id  INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX basil_tributes_memorial ON basil_tributes (memorial_id, created_at);

-- Anniversary posts that went out (one per memorial and year), for the newsletter.
CREATE TABLE basil_anniversaries (
    memorial_id INTEGER NOT NULL REFERENCES basil_memorials(id) ON DELETE CASCADE,
    year        INTEGER NOT NULL,
    years       INTEGER NOT NULL,
    channel_id  INTEGER,
    message_id  INTEGER,
    sent_at     INTEGER NOT NULL,
    PRIMARY KEY (memorial_id, year)
);

-- Outcomes (approved/declined) that could not be sent by DM; shown on the member's next /basil command.
CREATE TABLE basil_notices (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id   INTEGER NOT NULL,
    member_id  INTEGER NOT NULL,
    text       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX basil_notices_member ON basil_notices (guild_id, member_id);
