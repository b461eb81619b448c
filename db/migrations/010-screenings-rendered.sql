-- Screenings: remember what the announcement last showed (a hash of its embed and buttons), so an
-- RSVP count change that was still waiting to be edited in when the bot stopped (or crashed) is
-- brought up to date at the next start, and unchanged announcements are not edited again.
ALTER TABLE screenings ADD COLUMN rendered_hash TEXT;
