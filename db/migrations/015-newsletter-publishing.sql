-- Publishing a newsletter takes several messages. While they are posted the draft holds a lease
-- (publishing_until, unix seconds) so a second click, Edit intro or Discard waits; the newsletter only
-- becomes 'published' once every message is out. A lease left by a crash is cleared when the bot starts,
-- and the messages already posted (message_ids) let the next Publish resume instead of starting over.
ALTER TABLE newsletters ADD COLUMN publishing_until INTEGER;
ALTER TABLE newsletters ADD COLUMN publishing_by INTEGER;
CREATE INDEX newsletters_screening ON newsletters (guild_id, screening_id, status);
