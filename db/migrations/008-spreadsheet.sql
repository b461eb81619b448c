-- The Spreadsheet (the club's journey through the Best Picture nominees), members' own watched
-- marks (Letterboxd imports), what each Letterboxd import wrote, and the theme shelf.

-- A moderator's check (watched = 1) or uncheck (watched = 0) of a film for the whole club.
-- A finished screening counts as watched on its own; an uncheck hides screenings that ended before it.
CREATE TABLE sheet_checks (
    guild_id   INTEGER NOT NULL,
    film_key   TEXT    NOT NULL,
    watched    INTEGER NOT NULL CHECK (watched IN (0, 1)),
    watched_at INTEGER,                      -- when the club watched it (checks only)
    set_by     INTEGER NOT NULL,
    set_at     INTEGER NOT NULL,
    PRIMARY KEY (guild_id, film_key)
);

-- One comment per member per film, editable.
CREATE TABLE sheet_comments (
    guild_id   INTEGER NOT NULL,
    film_key   TEXT    NOT NULL,
    user_id    INTEGER NOT NULL,
    body       TEXT    NOT NULL CHECK (length(body) BETWEEN 1 AND 280),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, film_key, user_id)
);

-- A member's own "I watched it" marks (from Letterboxd imports).
CREATE TABLE member_watched (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    film_key   TEXT    NOT NULL,
    watched_on TEXT,                          -- YYYY-MM-DD when known
    source     TEXT    NOT NULL DEFAULT 'letterboxd',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id, film_key)
);

-- Ratings a Letterboxd import wrote into the ratings table: an import only changes a rating it
-- wrote itself and that the member has not changed since (ratings.updated_at = imported_at).
CREATE TABLE letterboxd_ratings (
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    film_key    TEXT    NOT NULL,
    stars       REAL    NOT NULL,
    thumbs      INTEGER NOT NULL CHECK (thumbs BETWEEN 1 AND 5),
    imported_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id, film_key)
);

-- The current theme shelf of a server (one at a time) and its films, in order.
CREATE TABLE themes (
    guild_id   INTEGER PRIMARY KEY,
    title      TEXT    NOT NULL,
    channel_id INTEGER,
    message_id INTEGER,
    pinned     INTEGER NOT NULL DEFAULT 0,
    set_by     INTEGER NOT NULL,
    set_at     INTEGER NOT NULL
);

CREATE TABLE theme_films (
    guild_id INTEGER NOT NULL REFERENCES themes (guild_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    film_key TEXT    NOT NULL,
    title    TEXT    NOT NULL,
    year     INTEGER,
    PRIMARY KEY (guild_id, position)
);
