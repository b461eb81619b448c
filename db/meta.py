"""Small key/value facts about the bot itself, and notices to moderators sent once."""

from __future__ import annotations

from db.store import Executor


async def get_meta(db: Executor, key: str) -> str | None:
    row = await db.fetchone("SELECT value FROM meta WHERE key = ?", (key,))
    return str(row["value"]) if row else None


async def set_meta(db: Executor, key: str, value: str) -> None:
    await db.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


async def claim_notice(db: Executor, guild_id: int, key: str, now: int, every: int | None = None) -> bool:
    """Record that notice ``key`` goes out now; False if it already went out.

    With ``every`` (seconds) the same notice may go out again once that long has passed.
    """
    row = await db.fetchone("SELECT sent_at FROM notices WHERE guild_id = ? AND key = ?", (guild_id, key))
    if row is not None and (every is None or now - int(row["sent_at"]) < every):
        return False
    await db.execute(
        "INSERT INTO notices(guild_id, key, sent_at) VALUES (?, ?, ?) "
        "ON CONFLICT(guild_id, key) DO UPDATE SET sent_at = excluded.sent_at",
        (guild_id, key, now),
    )
    return True
