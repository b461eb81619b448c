-- The installment newsletter: members' previews and verdicts, and the newsletters themselves.
-- A verdict also sets the member's rating (the screenings feature's `ratings` table); its text is kept
-- here because a verdict may be longer than a `/rate` review and is posted as its own message.

-- One preview per member per film per server, editable until the screening starts.
CREATE TABLE newsletter_previews (
    guild_id     INTEGER NOT NULL,
    film_key     TEXT    NOT NULL,
    user_id      INTEGER NOT NULL,
    text         TEXT    NOT NULL,
    screening_id INTEGER REFERENCES screenings (id) ON DELETE SET NULL,
    channel_id   INTEGER,                      -- where it was posted (thread or screenings channel)
    message_id   INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (guild_id, film_key, user_id)
);

-- One verdict per member per film per server (changeable).
CREATE TABLE newsletter_verdicts (
    guild_id     INTEGER NOT NULL,
    film_key     TEXT    NOT NULL,
    user_id      INTEGER NOT NULL,
    thumbs       INTEGER NOT NULL CHECK (thumbs BETWEEN 1 AND 5),
    text         TEXT,
    title        TEXT    NOT NULL,
    year         INTEGER,
    screening_id INTEGER REFERENCES screenings (id) ON DELETE SET NULL,
    channel_id   INTEGER,
    message_id   INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (guild_id, film_key, user_id)
);

-- Drafts and published newsletters. `sections` is the compiled content (JSON list of
-- {key, heading, paragraphs}); `body_md` the Markdown file as published.
-- covers_since/covers_until: the period Basil's Corner covered; the next newsletter starts after the
-- latest published covers_until (the "since" marker).
CREATE TABLE newsletters (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id     INTEGER NOT NULL,
    film_key     TEXT    NOT NULL,
    film_title   TEXT    NOT NULL,
    film_year    INTEGER,
    screening_id INTEGER REFERENCES screenings (id) ON DELETE SET NULL,
    title        TEXT    NOT NULL,
    intro        TEXT    NOT NULL DEFAULT '',
    sections     TEXT    NOT NULL,
    body_md      TEXT,
    status       TEXT    NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'discarded')),
    covers_since INTEGER NOT NULL,
    covers_until INTEGER NOT NULL,
    created_by   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    published_by INTEGER,
    published_at INTEGER,
    channel_id   INTEGER,                      -- the announcements channel it was posted in
    message_ids  TEXT    NOT NULL DEFAULT '[]' -- JSON list, in order
);
CREATE INDEX newsletters_guild ON newsletters (guild_id, status, published_at);
