-- Members' DM channels, as Discord gave them to the bot, so a reminder by DM is one request (the send) instead
-- of three (fetch the user, open the DM, send). closed_at: Discord refused a DM to this member (closed DMs or a
-- block, 50007): later reminders go to the screening's thread without trying the DM again until the member
-- changes their reminder settings or a week has passed.
CREATE TABLE dm_channels (
    user_id    INTEGER PRIMARY KEY,
    channel_id INTEGER,
    closed_at  INTEGER
);
