"""Scheduled posts: the rows the scheduler service fires."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bot.domain import markers
from bot.domain.shards import ShardRange
from db.shards import owned
from db.store import Executor, Row

PENDING, SENDING, SENT, FAILED, MISSED, CANCELLED = (
    "pending", "sending", "sent", "failed", "missed", "cancelled",
)

_COLUMNS = (
    "id, guild_id, kind, key, channel_id, thread_id, member_id, payload, due_at, retry_at, status, "
    "attempts, last_error, message_id, recurrence, created_at, claimed_at, sent_at"
)


@dataclass(frozen=True)
class ScheduledPost:
    id: int
    guild_id: int
    kind: str
    key: str
    due_at: int
    status: str = PENDING
    channel_id: int | None = None
    thread_id: int | None = None
    member_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    retry_at: int | None = None
    attempts: int = 0
    last_error: str | None = None
    message_id: int | None = None
    recurrence: dict[str, Any] | None = None
    created_at: int = 0
    claimed_at: int | None = None
    sent_at: int | None = None

    @property
    def nonce(self) -> str:
        """Sent with the post's message so Discord drops a second copy (``enforce_nonce``)."""
        return markers.scheduled_post_nonce(self.id)

    @property
    def next_attempt_at(self) -> int:
        return self.retry_at if self.retry_at is not None else self.due_at


def _from_row(row: Row) -> ScheduledPost:
    return ScheduledPost(
        id=row["id"], guild_id=row["guild_id"], kind=row["kind"], key=row["key"],
        channel_id=row["channel_id"], thread_id=row["thread_id"], member_id=row["member_id"],
        payload=json.loads(row["payload"] or "{}"), due_at=row["due_at"], retry_at=row["retry_at"],
        status=row["status"], attempts=row["attempts"], last_error=row["last_error"],
        message_id=row["message_id"],
        recurrence=json.loads(row["recurrence"]) if row["recurrence"] else None,
        created_at=row["created_at"], claimed_at=row["claimed_at"], sent_at=row["sent_at"],
    )


async def insert(
    db: Executor, *, guild_id: int, kind: str, key: str, due_at: int, now: int,
    channel_id: int | None = None, thread_id: int | None = None, member_id: int | None = None,
    payload: dict[str, Any] | None = None, recurrence: dict[str, Any] | None = None,
) -> ScheduledPost | None:
    """Queue a post; returns None when a live post with this key already exists.

    A key whose post was cancelled may be queued again (e.g. a screening moved away and back): the
    cancelled row is revived with the new time and payload, so keys stay unique per occurrence.
    """
    row = await db.fetchone(
        "INSERT INTO scheduled_posts (guild_id, kind, key, channel_id, thread_id, member_id, payload, "
        "due_at, recurrence, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET guild_id = excluded.guild_id, kind = excluded.kind, "
        "channel_id = excluded.channel_id, thread_id = excluded.thread_id, member_id = excluded.member_id, "
        "payload = excluded.payload, due_at = excluded.due_at, recurrence = excluded.recurrence, "
        "created_at = excluded.created_at, status = 'pending', retry_at = NULL, attempts = 0, "
        "last_error = NULL, message_id = NULL, claimed_at = NULL, sent_at = NULL "
        f"WHERE scheduled_posts.status = 'cancelled' RETURNING {_COLUMNS}",
        (guild_id, kind, key, channel_id, thread_id, member_id, json.dumps(payload or {}), due_at,
         json.dumps(recurrence) if recurrence else None, now),
    )
    return _from_row(row) if row else None


async def get(db: Executor, post_id: int) -> ScheduledPost | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM scheduled_posts WHERE id = ?", (post_id,))
    return _from_row(row) if row else None


async def get_by_key(db: Executor, key: str) -> ScheduledPost | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM scheduled_posts WHERE key = ?", (key,))
    return _from_row(row) if row else None


async def list_active(db: Executor) -> list[ScheduledPost]:
    """Pending and in-flight posts, earliest first (rebuilt into memory at startup)."""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM scheduled_posts WHERE status IN ('pending', 'sending') "
        "ORDER BY COALESCE(retry_at, due_at), id"
    )
    return [_from_row(r) for r in rows]


@dataclass(frozen=True, slots=True)
class ActivePost:
    """What the scheduler needs of a pending or in-flight post to give it its timer job."""

    id: int
    kind: str
    due_at: int
    next_attempt_at: int
    status: str


async def list_active_times(db: Executor, *, shards: ShardRange | None = None) -> list[ActivePost]:
    """Pending and in-flight posts, earliest first, without their payloads (the startup rebuild of the jobs);
    only the servers of ``shards`` when given (a cluster rebuilds its own servers' jobs)."""
    mine, params = owned(shards)
    rows = await db.fetchall(
        "SELECT id, kind, due_at, COALESCE(retry_at, due_at) AS at, status FROM scheduled_posts "
        f"WHERE status IN ('pending', 'sending'){mine} ORDER BY at, id",
        params,
    )
    return [ActivePost(int(r[0]), str(r[1]), int(r[2]), int(r[3]), str(r[4])) for r in rows]


async def active_keys(db: Executor, kind: str) -> dict[str, int]:
    """Key -> due time of the pending and in-flight posts of ``kind`` (one query, e.g. for a startup check)."""
    rows = await db.fetchall(
        "SELECT key, COALESCE(retry_at, due_at) AS at FROM scheduled_posts "
        "WHERE kind = ? AND status IN ('pending', 'sending')",
        (kind,),
    )
    return {str(r["key"]): int(r["at"]) for r in rows}


async def next_due(db: Executor, limit: int = 200) -> list[ScheduledPost]:
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM scheduled_posts WHERE status = 'pending' "
        "ORDER BY COALESCE(retry_at, due_at), id LIMIT ?",
        (limit,),
    )
    return [_from_row(r) for r in rows]


async def claim(db: Executor, post_id: int, now: int) -> bool:
    """Atomically take a pending post for sending; False if someone else has it."""
    result = await db.execute(
        "UPDATE scheduled_posts SET status = 'sending', attempts = attempts + 1, claimed_at = ? "
        "WHERE id = ? AND status = 'pending'",
        (now, post_id),
    )
    return result.rowcount == 1


async def claim_many(db: Executor, post_ids: list[int], now: int) -> list[ScheduledPost]:
    """Claim every still-pending post of ``post_ids`` in one statement; returns the claimed posts."""
    claimed: list[ScheduledPost] = []
    for start in range(0, len(post_ids), 500):
        chunk = post_ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        rows = await db.fetchall(
            f"UPDATE scheduled_posts SET status = 'sending', attempts = attempts + 1, claimed_at = ? "
            f"WHERE id IN ({marks}) AND status = 'pending' RETURNING {_COLUMNS}",
            (now, *chunk),
        )
        claimed.extend(_from_row(r) for r in rows)
    claimed.sort(key=lambda p: (p.next_attempt_at, p.id))
    return claimed


async def mark_sent(db: Executor, post_id: int, now: int, message_id: int | None) -> None:
    await db.execute(
        "UPDATE scheduled_posts SET status = 'sent', sent_at = ?, message_id = ?, last_error = NULL "
        "WHERE id = ?",
        (now, message_id, post_id),
    )


async def mark_retry(db: Executor, post_id: int, retry_at: int, error: str) -> None:
    await db.execute(
        "UPDATE scheduled_posts SET status = 'pending', retry_at = ?, last_error = ? WHERE id = ?",
        (retry_at, error[:500], post_id),
    )


async def settle_pending(db: Executor, post_id: int, status: str, error: str) -> bool:
    """Give a still-pending post its final ``status`` (missed, failed) with a reason; False if it is not pending
    any more (sent, cancelled or being sent meanwhile), so a late timer event never overrides what happened."""
    result = await db.execute(
        "UPDATE scheduled_posts SET status = ?, last_error = ? WHERE id = ? AND status = 'pending'",
        (status, error[:500], post_id),
    )
    return result.rowcount == 1


async def reschedule(db: Executor, post_id: int, guild_id: int, due_at: int) -> ScheduledPost | None:
    """Move a pending post of the server to ``due_at`` (a fresh start: no retry time); None if there is no such
    pending post."""
    row = await db.fetchone(
        "UPDATE scheduled_posts SET due_at = ?, retry_at = NULL, last_error = NULL "
        f"WHERE id = ? AND guild_id = ? AND status = 'pending' RETURNING {_COLUMNS}",
        (due_at, post_id, guild_id),
    )
    return _from_row(row) if row else None


async def mark_status(db: Executor, post_id: int, status: str, error: str | None = None) -> None:
    await db.execute(
        "UPDATE scheduled_posts SET status = ?, last_error = COALESCE(?, last_error) WHERE id = ?",
        (status, error[:500] if error else None, post_id),
    )


async def count_waiting(db: Executor, guild_id: int, kind: str) -> int:
    """How many posts of ``kind`` the server has waiting to be sent (pending or being sent)."""
    row = await db.fetchone(
        "SELECT count(*) FROM scheduled_posts WHERE guild_id = ? AND kind = ? AND status IN ('pending', 'sending')",
        (guild_id, kind),
    )
    return int(row[0]) if row else 0


async def defer(db: Executor, post_id: int, retry_at: int, reason: str) -> None:
    """Put a claimed post back to wait (its server is not loaded yet); the claim does not count as an attempt."""
    await db.execute(
        "UPDATE scheduled_posts SET status = 'pending', "
        "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, retry_at = ?, "
        "last_error = ? WHERE id = ? AND status = 'sending'",
        (retry_at, reason[:500], post_id),
    )


async def release(db: Executor, post_id: int) -> None:
    """Put an in-flight post back to pending (after a restart), keeping its attempt count."""
    await db.execute(
        "UPDATE scheduled_posts SET status = 'pending' WHERE id = ? AND status = 'sending'", (post_id,)
    )


async def cancel(db: Executor, post_id: int, guild_id: int) -> bool:
    result = await db.execute(
        "UPDATE scheduled_posts SET status = 'cancelled' "
        "WHERE id = ? AND guild_id = ? AND status IN ('pending', 'failed', 'missed')",
        (post_id, guild_id),
    )
    return result.rowcount == 1


async def cancel_by_key_prefix(db: Executor, guild_id: int, prefix: str) -> list[int]:
    """Cancel every pending post whose key starts with ``prefix``; returns their ids."""
    rows = await db.fetchall(
        "SELECT id FROM scheduled_posts WHERE guild_id = ? AND status = 'pending' AND key LIKE ? ESCAPE '\\'",
        (guild_id, _like_prefix(prefix)),
    )
    ids = [int(r["id"]) for r in rows]
    if ids:
        await db.execute(
            f"UPDATE scheduled_posts SET status = 'cancelled' WHERE id IN ({', '.join('?' * len(ids))})",
            ids,
        )
    return ids


async def list_pending_by_key_prefix(db: Executor, guild_id: int, prefix: str) -> list[ScheduledPost]:
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM scheduled_posts WHERE guild_id = ? AND status = 'pending' "
        "AND key LIKE ? ESCAPE '\\' ORDER BY due_at, id",
        (guild_id, _like_prefix(prefix)),
    )
    return [_from_row(r) for r in rows]


async def list_for_guild(
    db: Executor, guild_id: int, *, since: int, limit: int = 25
) -> tuple[list[ScheduledPost], list[ScheduledPost]]:
    """(upcoming pending posts, failed/missed posts since ``since``) of one server."""
    upcoming = await db.fetchall(
        f"SELECT {_COLUMNS} FROM scheduled_posts WHERE guild_id = ? AND status IN ('pending', 'sending') "
        "ORDER BY due_at, id LIMIT ?",
        (guild_id, limit),
    )
    trouble = await db.fetchall(
        f"SELECT {_COLUMNS} FROM scheduled_posts WHERE guild_id = ? AND status IN ('failed', 'missed') "
        "AND due_at >= ? ORDER BY due_at DESC, id DESC LIMIT ?",
        (guild_id, since, limit),
    )
    return [_from_row(r) for r in upcoming], [_from_row(r) for r in trouble]


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
