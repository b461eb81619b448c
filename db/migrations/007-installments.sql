-- Installments: the films the club works through in order, and per-server teaser settings.
-- The film is stored on the row (catalogue key or custom:<slug>-<year>, title, year, runtime),
-- so nothing depends on the catalogue staying the same.
CREATE TABLE installments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id     INTEGER NOT NULL,
    film_key     TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    year         INTEGER,
    runtime      INTEGER,                        -- minutes, when known
    note         TEXT,
    position     INTEGER NOT NULL,               -- 1-based among the queued rows of the server
    status       TEXT    NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'watched')),
    screening_id INTEGER REFERENCES screenings (id) ON DELETE SET NULL,  -- the linked screening
    added_by     INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    watched_at   INTEGER
);
CREATE INDEX installments_queue ON installments (guild_id, status, position);
CREATE INDEX installments_screening ON installments (screening_id);
CREATE INDEX installments_film ON installments (guild_id, film_key, status);

-- Teasers before a screening: offsets like "7d,1d", or "off". No row = the defaults.
CREATE TABLE teaser_settings (
    guild_id    INTEGER PRIMARY KEY,
    offsets     TEXT    NOT NULL DEFAULT '7d,1d',
    post_credits INTEGER NOT NULL DEFAULT 1,     -- 0 = no teaser when a screening ends
    updated_at  INTEGER NOT NULL
);
