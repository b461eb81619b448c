-- Series: a club night on a repeating rule; each night is a normal screening (see bot/domain/series.py).
CREATE TABLE screening_series (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id         INTEGER NOT NULL,
    name             TEXT    NOT NULL,
    rule             TEXT    NOT NULL,               -- canonical rule text, e.g. "weekly thu 20:00"
    tz               TEXT    NOT NULL,               -- IANA zone the rule is read in
    film_source      TEXT    NOT NULL,               -- 'queue' or 'film'
    film_key         TEXT,                           -- a fixed film: catalogue key or custom:<slug>-<year>
    title            TEXT,
    year             INTEGER,
    runtime          INTEGER NOT NULL,               -- minutes (nights from the queue take the film's own)
    location         TEXT,
    voice_channel_id INTEGER,
    channel_id       INTEGER NOT NULL,               -- the screenings channel the nights are announced in
    days_ahead       INTEGER,                        -- NULL: only the next night is announced
    event_mode       TEXT    NOT NULL DEFAULT 'none' CHECK (event_mode IN ('none', 'recurring', 'per_night')),
    event_id         INTEGER,                        -- the recurring Discord event (event_mode 'recurring')
    ends_after       INTEGER,                        -- no nights starting after this (unix seconds)
    status           TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended', 'cancelled')),
    created_by       INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX screening_series_guild ON screening_series (guild_id, status);

-- One row per night the series has dealt with: created (announced as a screening) or skipped.
-- ``starts_at`` is the rule's occurrence (the night's own screening may have been moved since).
CREATE TABLE series_nights (
    series_id      INTEGER NOT NULL REFERENCES screening_series (id) ON DELETE CASCADE,
    starts_at      INTEGER NOT NULL,
    guild_id       INTEGER NOT NULL,
    screening_id   INTEGER REFERENCES screenings (id) ON DELETE SET NULL,
    installment_id INTEGER,                          -- the queue's film this night took
    skipped        INTEGER NOT NULL DEFAULT 0,
    skip_reason    TEXT,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (series_id, starts_at)
);
CREATE INDEX series_nights_screening ON series_nights (screening_id);
