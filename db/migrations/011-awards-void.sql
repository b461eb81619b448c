-- Snack-award ballots: remember a void ballot (several numbers added while the bot was away, order
-- unknown) once the bot has reconciled it on reconnecting, so it is still reported as void at close.
ALTER TABLE award_ballots ADD COLUMN void INTEGER NOT NULL DEFAULT 0;
