-- Screenings (watch parties), RSVPs, "Interested" on the native event, ratings, reminder preferences.
-- The film is stored on the screening: catalogue key (e.g. her-2013) or custom:<slug>-<year>,
-- plus title, year and runtime, so nothing depends on the catalogue staying the same.
CREATE TABLE screenings (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id         INTEGER NOT NULL,
    film_key         TEXT    NOT NULL,
    title            TEXT    NOT NULL,
    year             INTEGER,
    runtime          INTEGER NOT NULL,               -- minutes
    starts_at        INTEGER NOT NULL,               -- unix seconds, UTC
    ends_at          INTEGER NOT NULL,               -- starts_at + runtime
    location         TEXT,                           -- "where", free text
    voice_channel_id INTEGER,
    notes            TEXT,
    discussion_delay INTEGER NOT NULL DEFAULT 43200,  -- seconds after the end before the discussion thread
    channel_id       INTEGER NOT NULL,               -- the screenings channel it was announced in
    message_id       INTEGER,                        -- the announcement
    thread_id        INTEGER,                        -- thread on the announcement (reminders, discussion)
    event_id         INTEGER,                        -- native Discord scheduled event
    status           TEXT    NOT NULL DEFAULT 'scheduled'
                     CHECK (status IN ('scheduled', 'live', 'finished', 'cancelled')),
    cancel_reason    TEXT,
    created_by       INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    cancelled_at     INTEGER
);
CREATE INDEX screenings_guild ON screenings (guild_id, status, starts_at);
CREATE INDEX screenings_film ON screenings (guild_id, film_key, status);
CREATE INDEX screenings_event ON screenings (event_id);

CREATE TABLE screening_rsvps (
    screening_id INTEGER NOT NULL REFERENCES screenings (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL,
    answer       TEXT    NOT NULL CHECK (answer IN ('going', 'maybe', 'cant')),
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (screening_id, user_id)
);

-- Members who marked "Interested" on the native event (they count as Maybe unless they answered).
CREATE TABLE screening_interest (
    screening_id INTEGER NOT NULL REFERENCES screenings (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL,
    added_at     INTEGER NOT NULL,
    PRIMARY KEY (screening_id, user_id)
);

-- One rating per member per film per server (changeable). A review makes it a "verdict".
CREATE TABLE ratings (
    guild_id     INTEGER NOT NULL,
    film_key     TEXT    NOT NULL,
    user_id      INTEGER NOT NULL,
    thumbs       INTEGER NOT NULL CHECK (thumbs BETWEEN 1 AND 5),
    review       TEXT,
    title        TEXT    NOT NULL,
    year         INTEGER,
    screening_id INTEGER REFERENCES screenings (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (guild_id, film_key, user_id)
);
CREATE INDEX ratings_member ON ratings (guild_id, user_id);
CREATE INDEX ratings_updated ON ratings (guild_id, updated_at);

-- Personal reminder preferences; no row = the server's defaults.
CREATE TABLE reminder_prefs (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    offsets    TEXT    NOT NULL,                    -- e.g. "1h,10m", or "off"
    via        TEXT    NOT NULL DEFAULT 'dm' CHECK (via IN ('dm', 'thread')),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
