-- Web pages and calendar feeds (issue 21): per-server switch and token, members' personal feed tokens, and the
-- display names the pages show. Tokens are never stored: only their SHA-256 (the bot derives a token again from
-- a key kept outside the database and the nonce here, so a copied database or backup reveals no link).
CREATE TABLE web_sites (
    guild_id   INTEGER PRIMARY KEY,
    enabled    INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    nonce      TEXT    NOT NULL,                -- random; a new one on every rotation
    token_hash TEXT    NOT NULL UNIQUE,         -- sha256 hex of the server's token
    updated_by INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    rotated_at INTEGER NOT NULL
);

-- A member's personal feed (the screenings they said Going or Maybe to); dropped when the server's token rotates.
CREATE TABLE web_member_tokens (
    token_hash TEXT    PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    nonce      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (guild_id, user_id)
);

-- Display names seen in interactions of servers whose pages are on (never ids or avatars on the pages).
CREATE TABLE web_names (
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    display_name TEXT    NOT NULL,
    seen_at      INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
