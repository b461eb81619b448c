"""Installments (the club's queue of films) and teaser settings (SQL only).

Positions are 1-based among a server's queued rows; :func:`set_order` rewrites them after
every add, move, removal or watch, always inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.shards import ShardRange
from db.shards import owned
from db.store import Executor, Row

QUEUED, WATCHED = "queued", "watched"
DEFAULT_OFFSETS = "7d,1d"

_COLUMNS = (
    "id, guild_id, film_key, title, year, runtime, note, position, status, screening_id, added_by, "
    "created_at, updated_at, watched_at"
)


@dataclass(frozen=True)
class Installment:
    id: int
    guild_id: int
    film_key: str
    title: str
    year: int | None
    runtime: int | None
    note: str | None
    position: int
    status: str
    screening_id: int | None
    added_by: int
    created_at: int
    updated_at: int
    watched_at: int | None = None

    @property
    def is_queued(self) -> bool:
        return self.status == QUEUED

    @property
    def label(self) -> str:
        return f"{self.title} ({self.year})" if self.year else self.title


def _installment(row: Row) -> Installment:
    return Installment(**{key: row[key] for key in row.keys()})


async def add(
    db: Executor,
    *,
    guild_id: int,
    film_key: str,
    title: str,
    year: int | None,
    runtime: int | None,
    note: str | None,
    position: int,
    added_by: int,
    now: int,
    screening_id: int | None = None,
) -> Installment:
    """Insert a queued row at ``position`` (the caller then stores the full order with :func:`set_order`)."""
    result = await db.execute(
        "INSERT INTO installments (guild_id, film_key, title, year, runtime, note, position, status, "
        "screening_id, added_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)",
        (guild_id, film_key, title, year, runtime, note, position, screening_id, added_by, now, now),
    )
    assert result.lastrowid is not None
    row = await get(db, result.lastrowid)
    assert row is not None
    return row


async def get(db: Executor, installment_id: int, guild_id: int | None = None) -> Installment | None:
    """The installment, or None (also when ``guild_id`` is given and it belongs to another server)."""
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM installments WHERE id = ?", (installment_id,))
    if row is None or (guild_id is not None and row["guild_id"] != guild_id):
        return None
    return _installment(row)


async def queue(db: Executor, guild_id: int) -> list[Installment]:
    """The server's queued installments in order."""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM installments WHERE guild_id = ? AND status = 'queued' ORDER BY position, id",
        (guild_id,),
    )
    return [_installment(r) for r in rows]


async def watched(db: Executor, guild_id: int, limit: int = 10) -> list[Installment]:
    """The most recently watched installments, newest first."""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM installments WHERE guild_id = ? AND status = 'watched' "
        "ORDER BY watched_at DESC, id DESC LIMIT ?",
        (guild_id, limit),
    )
    return [_installment(r) for r in rows]


async def count_watched(db: Executor, guild_id: int) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) AS n FROM installments WHERE guild_id = ? AND status = 'watched'", (guild_id,)
    )
    return int(row["n"]) if row else 0


async def set_order(db: Executor, guild_id: int, order: Sequence[tuple[int, int]], now: int) -> None:
    """Store ``(position, id)`` pairs for the server's queued rows."""
    for position, installment_id in order:
        await db.execute(
            "UPDATE installments SET position = ?, updated_at = ? WHERE id = ? AND guild_id = ? AND status = 'queued'",
            (position, now, installment_id, guild_id),
        )


async def delete(db: Executor, installment_id: int, guild_id: int) -> bool:
    result = await db.execute("DELETE FROM installments WHERE id = ? AND guild_id = ?", (installment_id, guild_id))
    return result.rowcount == 1


async def mark_watched(db: Executor, installment_id: int, now: int) -> bool:
    """True when this call marked it (False if it was already watched or is gone)."""
    result = await db.execute(
        "UPDATE installments SET status = 'watched', watched_at = ?, updated_at = ? WHERE id = ? AND status = 'queued'",
        (now, now, installment_id),
    )
    return result.rowcount == 1


async def link_screening(db: Executor, installment_id: int, screening_id: int | None, now: int) -> None:
    await db.execute(
        "UPDATE installments SET screening_id = ?, updated_at = ? WHERE id = ?", (screening_id, now, installment_id)
    )


async def by_screening(db: Executor, screening_id: int) -> Installment | None:
    row = await db.fetchone(
        f"SELECT {_COLUMNS} FROM installments WHERE screening_id = ? ORDER BY id LIMIT 1", (screening_id,)
    )
    return _installment(row) if row else None


async def first_unlinked_for_film(db: Executor, guild_id: int, film_key: str) -> Installment | None:
    """The earliest queued installment of this film that has no screening linked yet."""
    row = await db.fetchone(
        f"SELECT {_COLUMNS} FROM installments WHERE guild_id = ? AND film_key = ? AND status = 'queued' "
        "AND screening_id IS NULL ORDER BY position, id LIMIT 1",
        (guild_id, film_key),
    )
    return _installment(row) if row else None


async def first_queued_for_film(
    db: Executor, guild_id: int, film_key: str, *, added_by_time: int | None = None
) -> Installment | None:
    """The earliest queued installment of this film (only those added by ``added_by_time`` when given)."""
    row = await db.fetchone(
        f"SELECT {_COLUMNS} FROM installments WHERE guild_id = ? AND film_key = ? AND status = 'queued' "
        "AND created_at <= COALESCE(?, created_at) ORDER BY position, id LIMIT 1",
        (guild_id, film_key, added_by_time),
    )
    return _installment(row) if row else None


# --------------------------------------------------------------------------- handled screening ends


async def claim_finish(db: Executor, screening_id: int, guild_id: int, now: int) -> bool:
    """Record that a finished screening's end is being handled; False if it already was."""
    result = await db.execute(
        "INSERT INTO installment_finishes (screening_id, guild_id, handled_at) VALUES (?, ?, ?) "
        "ON CONFLICT(screening_id) DO NOTHING",
        (screening_id, guild_id, now),
    )
    return result.rowcount == 1


async def unhandled_finishes(
    db: Executor, since: int, limit: int = 500, *, shards: ShardRange | None = None
) -> list[int]:
    """Ids of screenings (any server, or the servers of ``shards``) finished at or after ``since`` whose end was
    never handled."""
    mine, params = owned(shards, "s.guild_id")
    rows = await db.fetchall(
        "SELECT s.id FROM screenings AS s LEFT JOIN installment_finishes AS f ON f.screening_id = s.id "
        f"WHERE s.status = 'finished' AND s.finished_at >= ? AND f.screening_id IS NULL{mine} "
        "ORDER BY s.finished_at, s.id LIMIT ?",
        (since, *params, limit),
    )
    return [int(r["id"]) for r in rows]


# --------------------------------------------------------------------------- teaser settings


@dataclass(frozen=True)
class TeaserSettings:
    guild_id: int
    offsets: str = DEFAULT_OFFSETS  # "7d,1d" or "off"
    post_credits: bool = True

    @property
    def before_enabled(self) -> bool:
        return self.offsets != "off"


async def get_settings(db: Executor, guild_id: int) -> TeaserSettings:
    row = await db.fetchone(
        "SELECT guild_id, offsets, post_credits FROM teaser_settings WHERE guild_id = ?", (guild_id,)
    )
    if row is None:
        return TeaserSettings(guild_id)
    return TeaserSettings(int(row["guild_id"]), str(row["offsets"]), bool(row["post_credits"]))


async def save_settings(db: Executor, settings: TeaserSettings, now: int) -> None:
    await db.execute(
        "INSERT INTO teaser_settings (guild_id, offsets, post_credits, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(guild_id) DO UPDATE SET offsets = excluded.offsets, post_credits = excluded.post_credits, "
        "updated_at = excluded.updated_at",
        (settings.guild_id, settings.offsets, 1 if settings.post_credits else 0, now),
    )


async def last_added_id(db: Executor, guild_id: int) -> int:
    """The id of the server's most recently added installment (queued or watched), 0 when none."""
    row = await db.fetchone("SELECT MAX(id) AS n FROM installments WHERE guild_id = ?", (guild_id,))
    return int(row["n"]) if row and row["n"] is not None else 0
