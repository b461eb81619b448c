"""The Spreadsheet's tables (SQL only): moderators' checks, comments, members' watched marks and
what Letterboxd imports wrote.

Ratings themselves live in the screenings feature's ``ratings`` table (``db.screenings``).
"""

from __future__ import annotations

from dataclasses import dataclass

from db.store import Executor

# --------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class CheckMark:
    guild_id: int
    film_key: str
    watched: bool
    watched_at: int | None
    set_by: int
    set_at: int


async def set_check(
    db: Executor, guild_id: int, film_key: str, *, watched: bool, watched_at: int | None, set_by: int, now: int
) -> None:
    """Check (``watched=True``) or uncheck a film for the club, replacing an earlier mark."""
    await db.execute(
        "INSERT INTO sheet_checks (guild_id, film_key, watched, watched_at, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(guild_id, film_key) DO UPDATE SET watched = excluded.watched, watched_at = excluded.watched_at, "
        "set_by = excluded.set_by, set_at = excluded.set_at",
        (guild_id, film_key, 1 if watched else 0, watched_at, set_by, now),
    )


async def get_check(db: Executor, guild_id: int, film_key: str) -> CheckMark | None:
    row = await db.fetchone(
        "SELECT guild_id, film_key, watched, watched_at, set_by, set_at FROM sheet_checks "
        "WHERE guild_id = ? AND film_key = ?",
        (guild_id, film_key),
    )
    if row is None:
        return None
    return CheckMark(row["guild_id"], row["film_key"], bool(row["watched"]), row["watched_at"], row["set_by"],
                     row["set_at"])  # fmt: skip


async def list_checks(db: Executor, guild_id: int) -> dict[str, CheckMark]:
    rows = await db.fetchall(
        "SELECT guild_id, film_key, watched, watched_at, set_by, set_at FROM sheet_checks WHERE guild_id = ?",
        (guild_id,),
    )
    return {
        str(r["film_key"]): CheckMark(
            r["guild_id"], r["film_key"], bool(r["watched"]), r["watched_at"], r["set_by"], r["set_at"]
        )
        for r in rows
    }


# --------------------------------------------------------------------------- comments


@dataclass(frozen=True)
class Comment:
    guild_id: int
    film_key: str
    user_id: int
    body: str
    created_at: int
    updated_at: int


_COMMENT_COLUMNS = "guild_id, film_key, user_id, body, created_at, updated_at"


async def set_comment(db: Executor, guild_id: int, film_key: str, user_id: int, body: str, now: int) -> bool:
    """Write the member's comment on a film; True when it replaced an earlier one."""
    before = await get_comment(db, guild_id, film_key, user_id)
    await db.execute(
        f"INSERT INTO sheet_comments ({_COMMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(guild_id, film_key, user_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
        (guild_id, film_key, user_id, body, now, now),
    )
    return before is not None


async def get_comment(db: Executor, guild_id: int, film_key: str, user_id: int) -> Comment | None:
    row = await db.fetchone(
        f"SELECT {_COMMENT_COLUMNS} FROM sheet_comments WHERE guild_id = ? AND film_key = ? AND user_id = ?",
        (guild_id, film_key, user_id),
    )
    return Comment(**{k: row[k] for k in row.keys()}) if row else None


async def delete_comment(db: Executor, guild_id: int, film_key: str, user_id: int) -> bool:
    result = await db.execute(
        "DELETE FROM sheet_comments WHERE guild_id = ? AND film_key = ? AND user_id = ?", (guild_id, film_key, user_id)
    )
    return result.rowcount == 1


async def list_comments(db: Executor, guild_id: int) -> list[Comment]:
    """Every comment of the server, oldest first."""
    rows = await db.fetchall(
        f"SELECT {_COMMENT_COLUMNS} FROM sheet_comments WHERE guild_id = ? ORDER BY created_at, user_id", (guild_id,)
    )
    return [Comment(**{k: r[k] for k in r.keys()}) for r in rows]


# --------------------------------------------------------------------------- members' watched marks


async def watched_marks(db: Executor, guild_id: int, user_id: int) -> dict[str, str | None]:
    """film key -> watched date (``YYYY-MM-DD`` or None) of the member's own marks."""
    rows = await db.fetchall(
        "SELECT film_key, watched_on FROM member_watched WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    return {str(r["film_key"]): r["watched_on"] for r in rows}


async def add_watched(
    db: Executor, guild_id: int, user_id: int, film_key: str, watched_on: str | None, now: int,
    source: str = "letterboxd",
) -> bool:
    """Record that the member watched the film; keeps the earliest date. True when anything changed."""
    row = await db.fetchone(
        "SELECT watched_on FROM member_watched WHERE guild_id = ? AND user_id = ? AND film_key = ?",
        (guild_id, user_id, film_key),
    )
    if row is None:
        await db.execute(
            "INSERT INTO member_watched (guild_id, user_id, film_key, watched_on, source, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (guild_id, user_id, film_key, watched_on, source, now),
        )
        return True
    old = row["watched_on"]
    if watched_on is None or (old is not None and old <= watched_on):
        return False
    await db.execute(
        "UPDATE member_watched SET watched_on = ? WHERE guild_id = ? AND user_id = ? AND film_key = ?",
        (watched_on, guild_id, user_id, film_key),
    )
    return True


# --------------------------------------------------------------------------- Letterboxd imports


@dataclass(frozen=True)
class ImportedRating:
    film_key: str
    stars: float
    thumbs: int
    imported_at: int


async def imported_ratings(db: Executor, guild_id: int, user_id: int) -> dict[str, ImportedRating]:
    rows = await db.fetchall(
        "SELECT film_key, stars, thumbs, imported_at FROM letterboxd_ratings WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    )
    return {
        str(r["film_key"]): ImportedRating(
            str(r["film_key"]), float(r["stars"]), int(r["thumbs"]), int(r["imported_at"])
        )
        for r in rows
    }


async def record_imported_rating(
    db: Executor, guild_id: int, user_id: int, film_key: str, stars: float, thumbs: int, now: int
) -> None:
    await db.execute(
        "INSERT INTO letterboxd_ratings (guild_id, user_id, film_key, stars, thumbs, imported_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(guild_id, user_id, film_key) DO UPDATE SET stars = excluded.stars, "
        "thumbs = excluded.thumbs, imported_at = excluded.imported_at",
        (guild_id, user_id, film_key, stars, thumbs, now),
    )
