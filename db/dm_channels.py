"""Members' DM channels and who cannot be DMed (see migration 018)."""

from __future__ import annotations

from dataclasses import dataclass

from db.store import Executor


@dataclass(frozen=True)
class DmChannel:
    user_id: int
    channel_id: int | None
    closed_at: int | None


async def get(db: Executor, user_id: int) -> DmChannel | None:
    row = await db.fetchone("SELECT user_id, channel_id, closed_at FROM dm_channels WHERE user_id = ?", (user_id,))
    return DmChannel(row["user_id"], row["channel_id"], row["closed_at"]) if row else None


async def remember_channel(db: Executor, user_id: int, channel_id: int) -> None:
    await db.execute(
        "INSERT INTO dm_channels (user_id, channel_id, closed_at) VALUES (?, ?, NULL) "
        "ON CONFLICT(user_id) DO UPDATE SET channel_id = excluded.channel_id, closed_at = NULL",
        (user_id, channel_id),
    )


async def mark_closed(db: Executor, user_id: int, now: int) -> None:
    await db.execute(
        "INSERT INTO dm_channels (user_id, channel_id, closed_at) VALUES (?, NULL, ?) "
        "ON CONFLICT(user_id) DO UPDATE SET closed_at = excluded.closed_at",
        (user_id, now),
    )


async def forget_closed(db: Executor, user_id: int) -> None:
    """The member changed their reminder settings: try their DMs again next time."""
    await db.execute("UPDATE dm_channels SET closed_at = NULL WHERE user_id = ?", (user_id,))


async def forget(db: Executor, user_id: int) -> None:
    await db.execute("DELETE FROM dm_channels WHERE user_id = ?", (user_id,))
