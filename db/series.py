"""Series of club nights and their nights (SQL only). The rules live in :mod:`bot.domain.series`.

A night row is written when the series creates the night's screening (``screening_id``) or a moderator skips it
(``skipped``); the key (series, occurrence) makes creating a night twice impossible, even after a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime

from bot.domain.shards import ShardRange
from db.shards import owned
from db.store import Executor, Row

ACTIVE, ENDED, CANCELLED = "active", "ended", "cancelled"
EVENT_NONE, EVENT_RECURRING, EVENT_PER_NIGHT = "none", "recurring", "per_night"


@dataclass(frozen=True)
class Series:
    id: int
    guild_id: int
    name: str
    rule: str
    tz: str
    film_source: str
    film_key: str | None
    title: str | None
    year: int | None
    runtime: int
    location: str | None
    voice_channel_id: int | None
    channel_id: int
    days_ahead: int | None
    event_mode: str
    event_id: int | None
    ends_after: int | None
    status: str
    created_by: int
    created_at: int
    updated_at: int

    @property
    def from_queue(self) -> bool:
        return self.film_source == "queue"

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE

    @property
    def rule_dict(self) -> dict[str, str]:
        """The stored rule as the scheduler's recurrence seam takes it."""
        return {"rule": self.rule, "tz": self.tz}

    @property
    def film_label(self) -> str:
        if self.from_queue:
            return "the installment queue"
        return f"{self.title} ({self.year})" if self.year else str(self.title)


@dataclass(frozen=True)
class Night:
    series_id: int
    starts_at: int
    guild_id: int
    screening_id: int | None
    installment_id: int | None
    skipped: bool
    skip_reason: str | None
    created_at: int

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.starts_at, UTC)


_COLUMNS = ", ".join(f.name for f in fields(Series))
_NIGHT_COLUMNS = ", ".join(f.name for f in fields(Night))


def _series(row: Row) -> Series:
    return Series(*row)


def _night(row: Row) -> Night:
    values = list(row)
    values[5] = bool(values[5])
    return Night(*values)


async def create(
    db: Executor,
    *,
    guild_id: int,
    name: str,
    rule: str,
    tz: str,
    film_source: str,
    film_key: str | None,
    title: str | None,
    year: int | None,
    runtime: int,
    location: str | None,
    voice_channel_id: int | None,
    channel_id: int,
    days_ahead: int | None,
    event_mode: str,
    created_by: int,
    now: int,
) -> Series:
    result = await db.execute(
        "INSERT INTO screening_series (guild_id, name, rule, tz, film_source, film_key, title, year, runtime, "
        "location, voice_channel_id, channel_id, days_ahead, event_mode, created_by, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (guild_id, name, rule, tz, film_source, film_key, title, year, runtime, location, voice_channel_id,
         channel_id, days_ahead, event_mode, created_by, now, now),
    )
    assert result.lastrowid is not None
    made = await get(db, result.lastrowid)
    assert made is not None
    return made


async def get(db: Executor, series_id: int, guild_id: int | None = None) -> Series | None:
    """The series, or None (also when ``guild_id`` is given and it belongs to another server)."""
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM screening_series WHERE id = ?", (series_id,))
    if row is None or (guild_id is not None and row["guild_id"] != guild_id):
        return None
    return _series(row)


async def list_for_guild(db: Executor, guild_id: int, *, active_only: bool = False, limit: int = 25) -> list[Series]:
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM screening_series WHERE guild_id = ? AND (? = 0 OR status = 'active') "
        "ORDER BY status = 'active' DESC, id LIMIT ?",
        (guild_id, 1 if active_only else 0, limit),
    )
    return [_series(r) for r in rows]


async def count_active(db: Executor, guild_id: int) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) AS n FROM screening_series WHERE guild_id = ? AND status = 'active'", (guild_id,)
    )
    return int(row["n"]) if row else 0


async def all_active(db: Executor, *, shards: ShardRange | None = None) -> list[Series]:
    """Every active series (of every server, or of the servers of ``shards``)."""
    mine, params = owned(shards)
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM screening_series WHERE status = 'active'{mine} ORDER BY id", params
    )
    return [_series(r) for r in rows]


async def set_event(db: Executor, series_id: int, event_id: int | None, event_mode: str, now: int) -> None:
    await db.execute(
        "UPDATE screening_series SET event_id = ?, event_mode = ?, updated_at = ? WHERE id = ?",
        (event_id, event_mode, now, series_id),
    )


async def set_rule(db: Executor, series_id: int, rule: str, now: int) -> None:
    await db.execute("UPDATE screening_series SET rule = ?, updated_at = ? WHERE id = ?", (rule, now, series_id))


async def set_ends_after(db: Executor, series_id: int, ends_after: int | None, now: int) -> None:
    await db.execute(
        "UPDATE screening_series SET ends_after = ?, updated_at = ? WHERE id = ?", (ends_after, now, series_id)
    )


async def set_status(db: Executor, series_id: int, status: str, now: int, *, only_if: str = ACTIVE) -> bool:
    """Move an ``only_if`` series to ``status``; False when it was not in ``only_if`` any more."""
    result = await db.execute(
        "UPDATE screening_series SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
        (status, now, series_id, only_if),
    )
    return result.rowcount == 1


# --------------------------------------------------------------------------- nights


async def add_night(
    db: Executor, series: Series, starts_at: int, now: int, *, screening_id: int | None = None,
    installment_id: int | None = None,
) -> bool:
    """Record a created night; False when that night already has a row (created or skipped before)."""
    result = await db.execute(
        "INSERT INTO series_nights (series_id, starts_at, guild_id, screening_id, installment_id, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(series_id, starts_at) DO NOTHING",
        (series.id, starts_at, series.guild_id, screening_id, installment_id, now),
    )
    return result.rowcount == 1


async def set_night_screening(db: Executor, series_id: int, starts_at: int, screening_id: int | None) -> None:
    await db.execute(
        "UPDATE series_nights SET screening_id = ? WHERE series_id = ? AND starts_at = ?",
        (screening_id, series_id, starts_at),
    )


async def set_night_installment(db: Executor, series_id: int, starts_at: int, installment_id: int | None) -> None:
    await db.execute(
        "UPDATE series_nights SET installment_id = ? WHERE series_id = ? AND starts_at = ?",
        (installment_id, series_id, starts_at),
    )


async def skip_night(db: Executor, series: Series, starts_at: int, reason: str | None, now: int) -> Night | None:
    """Mark the night skipped (creating its row if it was not created yet); returns the night as it was, or None
    when it had no row."""
    before = await get_night(db, series.id, starts_at)
    await db.execute(
        "INSERT INTO series_nights (series_id, starts_at, guild_id, skipped, skip_reason, created_at) "
        "VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT(series_id, starts_at) DO UPDATE SET skipped = 1, "
        "skip_reason = excluded.skip_reason",
        (series.id, starts_at, series.guild_id, reason, now),
    )
    return before


async def get_night(db: Executor, series_id: int, starts_at: int) -> Night | None:
    row = await db.fetchone(
        f"SELECT {_NIGHT_COLUMNS} FROM series_nights WHERE series_id = ? AND starts_at = ?", (series_id, starts_at)
    )
    return _night(row) if row else None


async def nights(db: Executor, series_id: int) -> list[Night]:
    rows = await db.fetchall(
        f"SELECT {_NIGHT_COLUMNS} FROM series_nights WHERE series_id = ? ORDER BY starts_at", (series_id,)
    )
    return [_night(r) for r in rows]


async def night_of_screening(db: Executor, screening_id: int) -> Night | None:
    row = await db.fetchone(
        f"SELECT {_NIGHT_COLUMNS} FROM series_nights WHERE screening_id = ? LIMIT 1", (screening_id,)
    )
    return _night(row) if row else None


async def claimed_installments(db: Executor, guild_id: int) -> set[int]:
    """Installments taken by series nights that have not finished yet (so the next night takes the one after)."""
    rows = await db.fetchall(
        "SELECT n.installment_id FROM series_nights n JOIN screenings s ON s.id = n.screening_id "
        "WHERE n.guild_id = ? AND n.installment_id IS NOT NULL AND n.skipped = 0 "
        "AND s.status IN ('scheduled', 'live')",
        (guild_id,),
    )
    return {int(r["installment_id"]) for r in rows}
