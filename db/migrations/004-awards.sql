-- Snack-award polls and their ballots.
-- nominees/counts/winners are JSON arrays; nominee indexes are 0-based (0 = 1️⃣).
CREATE TABLE award_polls (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id           INTEGER NOT NULL,
    channel_id         INTEGER NOT NULL,
    message_id         INTEGER,                       -- the poll post; NULL until it is sent
    category           TEXT    NOT NULL,
    nominees           TEXT    NOT NULL,              -- JSON list of names
    film_title         TEXT,                          -- free text, optional
    film_key           TEXT,                          -- catalogue key when the film was recognised
    show_counts        INTEGER NOT NULL DEFAULT 0,
    status             TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed', 'cancelled')),
    opened_by          INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    closes_at          INTEGER NOT NULL,
    closed_at          INTEGER,
    counts             TEXT,                          -- JSON list of votes per nominee, set at close
    winners            TEXT,                          -- JSON list of nominee indexes, set at close
    ballots            INTEGER,                       -- counted ballots, set at close
    void_ballots       INTEGER NOT NULL DEFAULT 0,
    is_tie             INTEGER NOT NULL DEFAULT 0,
    results_message_id INTEGER,                       -- set once the results are posted
    runoff_of          INTEGER UNIQUE REFERENCES award_polls (id) ON DELETE SET NULL
);

CREATE INDEX award_polls_guild ON award_polls (guild_id, status, closes_at);
CREATE INDEX award_polls_message ON award_polls (message_id);
CREATE INDEX award_polls_film ON award_polls (guild_id, film_key);

CREATE TABLE award_ballots (
    poll_id    INTEGER NOT NULL REFERENCES award_polls (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL,
    choice     INTEGER,                               -- nominee index; NULL = no vote (withdrawn)
    seen_mask  INTEGER NOT NULL DEFAULT 0,            -- bit i: the bot saw this member's reaction i
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (poll_id, user_id)
) WITHOUT ROWID;
