-- Screenings whose end the installments feature has handled (installment marked watched, post-credits
-- teaser queued), written in the same transaction as that work. At startup, screenings that finished
-- recently but have no row here were missed (the bot stopped between Screenings marking them finished
-- and the in-memory event reaching the installments feature) and are handled then, exactly once.
CREATE TABLE installment_finishes (
    screening_id INTEGER PRIMARY KEY REFERENCES screenings (id) ON DELETE CASCADE,
    guild_id     INTEGER NOT NULL,
    handled_at   INTEGER NOT NULL
);
