-- Trivia: durable scores per server, member and pack; each server's own pack of questions.
-- Sessions themselves live in memory (a restart ends them); only their results are stored.

CREATE TABLE trivia_scores (
    guild_id   INTEGER NOT NULL,
    member_id  INTEGER NOT NULL,
    pack       TEXT    NOT NULL,              -- a shipped pack's name, or 'server' for the server's own
    points     INTEGER NOT NULL DEFAULT 0,
    correct    INTEGER NOT NULL DEFAULT 0,    -- questions answered right
    games      INTEGER NOT NULL DEFAULT 0,    -- sessions played (answered at least once)
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, member_id, pack)
);

CREATE INDEX trivia_scores_board ON trivia_scores (guild_id, pack, points DESC);

-- Questions a server added with /trivia add or /trivia import: together they are its own pack.
CREATE TABLE trivia_questions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id     INTEGER NOT NULL,
    question_key TEXT    NOT NULL,            -- casefolded, spaces collapsed: one row per question
    question     TEXT    NOT NULL,
    answers      TEXT    NOT NULL,            -- JSON list of strings; the first one is shown
    added_by     INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (guild_id, question_key)
);
