"""Screenings, RSVPs, event interest, ratings and reminder preferences (SQL only).

Other features read these tables through the functions here:
- ``get_screening``, ``list_screenings``, ``finished_screenings``, ``finished_screenings_for_film``
- ``ratings_for_film``, ``ratings_for_member``, ``ratings_for_guild``, ``verdicts`` (ratings with a review)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields

from bot.domain.screenings import CANCELLED, FINISHED, LIVE, SCHEDULED, Screening
from bot.domain.shards import ShardRange
from db.shards import owned
from db.store import Executor, Row

__all__ = ["CANCELLED", "FINISHED", "LIVE", "SCHEDULED", "Screening"]




# Selected in the dataclass's field order, so a row becomes a Screening positionally (a fifth of the cost of
# building keyword arguments from the row, which `/screening list` pays 20 times).
_COLUMNS = ", ".join(f.name for f in fields(Screening))


def _screening(row: Row) -> Screening:
    return Screening(*row)


async def create_screening(
    db: Executor,
    *,
    guild_id: int,
    film_key: str,
    title: str,
    year: int | None,
    runtime: int,
    starts_at: int,
    channel_id: int,
    created_by: int,
    now: int,
    location: str | None = None,
    voice_channel_id: int | None = None,
    notes: str | None = None,
    discussion_delay: int = 12 * 3600,
) -> Screening:
    result = await db.execute(
        "INSERT INTO screenings (guild_id, film_key, title, year, runtime, starts_at, ends_at, location, "
        "voice_channel_id, notes, discussion_delay, channel_id, created_by, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (guild_id, film_key, title, year, runtime, starts_at, starts_at + runtime * 60, location,
         voice_channel_id, notes, discussion_delay, channel_id, created_by, now, now),
    )
    assert result.lastrowid is not None
    screening = await get_screening(db, result.lastrowid)
    assert screening is not None
    return screening


async def delete_screening(db: Executor, screening_id: int) -> None:
    """Only for undoing a screening whose announcement could not be posted."""
    await db.execute("DELETE FROM screenings WHERE id = ?", (screening_id,))


async def get_screening(db: Executor, screening_id: int, guild_id: int | None = None) -> Screening | None:
    """The screening, or None (also None when ``guild_id`` is given and it belongs to another server)."""
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM screenings WHERE id = ?", (screening_id,))
    if row is None or (guild_id is not None and row["guild_id"] != guild_id):
        return None
    return _screening(row)


async def get_by_event(db: Executor, event_id: int) -> Screening | None:
    row = await db.fetchone(
        f"SELECT {_COLUMNS} FROM screenings WHERE event_id = ? ORDER BY id DESC LIMIT 1", (event_id,)
    )
    return _screening(row) if row else None


async def list_screenings(
    db: Executor,
    guild_id: int,
    *,
    statuses: Iterable[str] | None = None,
    starts_after: int | None = None,
    starts_before: int | None = None,
    newest_first: bool = False,
    limit: int = 25,
) -> list[Screening]:
    where = ["guild_id = ?"]
    params: list[object] = [guild_id]
    if statuses is not None:
        wanted = list(statuses)
        where.append(f"status IN ({', '.join('?' * len(wanted))})")
        params.extend(wanted)
    if starts_after is not None:
        where.append("starts_at >= ?")
        params.append(starts_after)
    if starts_before is not None:
        where.append("starts_at < ?")
        params.append(starts_before)
    order = "DESC" if newest_first else "ASC"
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM screenings WHERE {' AND '.join(where)} ORDER BY starts_at {order}, id {order} "
        "LIMIT ?",
        (*params, limit),
    )
    return [_screening(r) for r in rows]


async def list_upcoming(db: Executor, guild_id: int, limit: int = 25) -> list[Screening]:
    return await list_screenings(db, guild_id, statuses=(SCHEDULED, LIVE), limit=limit)


async def finished_screenings(db: Executor, guild_id: int, *, since: int | None = None) -> list[Screening]:
    """Finished screenings of the server, oldest first (``since`` = ended at or after)."""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM screenings WHERE guild_id = ? AND status = 'finished' AND ends_at >= ? "
        "ORDER BY starts_at, id",
        (guild_id, since if since is not None else 0),
    )
    return [_screening(r) for r in rows]


async def finished_screenings_for_film(db: Executor, guild_id: int, film_key: str) -> list[Screening]:
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM screenings WHERE guild_id = ? AND film_key = ? AND status = 'finished' "
        "ORDER BY starts_at, id",
        (guild_id, film_key),
    )
    return [_screening(r) for r in rows]


async def overlapping(
    db: Executor, guild_id: int, channel_id: int, starts_at: int, ends_at: int, *, exclude_id: int | None = None
) -> list[Screening]:
    """Upcoming screenings announced in ``channel_id`` whose time overlaps [starts_at, ends_at)."""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM screenings WHERE guild_id = ? AND channel_id = ? "
        "AND status IN ('scheduled', 'live') AND starts_at < ? AND ends_at > ? AND id != ? ORDER BY starts_at",
        (guild_id, channel_id, ends_at, starts_at, exclude_id or 0),
    )
    return [_screening(r) for r in rows]


async def set_message(db: Executor, screening_id: int, message_id: int, now: int) -> None:
    await db.execute(
        "UPDATE screenings SET message_id = ?, updated_at = ? WHERE id = ?", (message_id, now, screening_id)
    )


async def set_event(db: Executor, screening_id: int, event_id: int | None, now: int) -> None:
    await db.execute("UPDATE screenings SET event_id = ?, updated_at = ? WHERE id = ?", (event_id, now, screening_id))


async def set_thread(db: Executor, screening_id: int, thread_id: int, now: int) -> None:
    await db.execute(
        "UPDATE screenings SET thread_id = ?, updated_at = ? WHERE id = ?", (thread_id, now, screening_id)
    )


async def mark_live(db: Executor, screening_id: int, now: int) -> bool:
    result = await db.execute(
        "UPDATE screenings SET status = 'live', updated_at = ? WHERE id = ? AND status = 'scheduled'",
        (now, screening_id),
    )
    return result.rowcount == 1


async def mark_finished(db: Executor, screening_id: int, now: int) -> bool:
    """True when this call finished it (False if it was already finished or cancelled)."""
    result = await db.execute(
        "UPDATE screenings SET status = 'finished', finished_at = ?, updated_at = ? "
        "WHERE id = ? AND status IN ('scheduled', 'live')",
        (now, now, screening_id),
    )
    return result.rowcount == 1


async def mark_cancelled(db: Executor, screening_id: int, reason: str | None, now: int) -> bool:
    result = await db.execute(
        "UPDATE screenings SET status = 'cancelled', cancel_reason = ?, cancelled_at = ?, updated_at = ? "
        "WHERE id = ? AND status IN ('scheduled', 'live')",
        (reason, now, now, screening_id),
    )
    return result.rowcount == 1


async def set_film(
    db: Executor, screening_id: int, *, film_key: str, title: str, year: int | None, runtime: int, now: int
) -> bool:
    """Name the film of a scheduled screening announced without one (a series night "to be announced")."""
    result = await db.execute(
        "UPDATE screenings SET film_key = ?, title = ?, year = ?, runtime = ?, ends_at = starts_at + ? * 60, "
        "updated_at = ? WHERE id = ? AND status = 'scheduled'",
        (film_key, title, year, runtime, runtime, now, screening_id),
    )
    return result.rowcount == 1


async def reschedule(
    db: Executor, screening_id: int, starts_at: int, now: int, *, expected_starts_at: int | None = None
) -> bool:
    """Move the start (and end); with ``expected_starts_at`` only if it still starts then (no double move)."""
    result = await db.execute(
        "UPDATE screenings SET starts_at = ?, ends_at = ? + runtime * 60, status = 'scheduled', updated_at = ? "
        "WHERE id = ? AND status IN ('scheduled', 'live') AND starts_at = COALESCE(?, starts_at)",
        (starts_at, starts_at, now, screening_id, expected_starts_at),
    )
    return result.rowcount == 1


async def get_rendered_hash(db: Executor, screening_id: int) -> str | None:
    """A hash of what the announcement last showed (None before the first render)."""
    row = await db.fetchone("SELECT rendered_hash FROM screenings WHERE id = ?", (screening_id,))
    return str(row["rendered_hash"]) if row and row["rendered_hash"] is not None else None


async def set_rendered_hash(db: Executor, screening_id: int, digest: str | None) -> None:
    await db.execute("UPDATE screenings SET rendered_hash = ? WHERE id = ?", (digest, screening_id))


async def announcements_to_check(
    db: Executor, *, changed_since: int, limit: int = 500, shards: ShardRange | None = None
) -> list[Screening]:
    """Screenings (every server, or the servers of ``shards``) whose announcement may need an update at startup:
    the upcoming ones, and the ones that changed state since ``changed_since``."""
    mine, params = owned(shards)
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM screenings WHERE message_id IS NOT NULL "
        f"AND (status IN ('scheduled', 'live') OR updated_at >= ?){mine} ORDER BY starts_at, id LIMIT ?",
        (changed_since, *params, limit),
    )
    return [_screening(r) for r in rows]


async def count_upcoming_with_event(db: Executor, guild_id: int) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) AS n FROM screenings WHERE guild_id = ? AND event_id IS NOT NULL "
        "AND status IN ('scheduled', 'live')",
        (guild_id,),
    )
    return int(row["n"]) if row else 0


# --------------------------------------------------------------------------- RSVPs


async def set_rsvp(db: Executor, screening_id: int, user_id: int, answer: str, now: int) -> str | None:
    """Set the member's answer; returns their previous answer (None if they had none)."""
    row = await db.fetchone(
        "SELECT answer FROM screening_rsvps WHERE screening_id = ? AND user_id = ?", (screening_id, user_id)
    )
    await db.execute(
        "INSERT INTO screening_rsvps (screening_id, user_id, answer, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(screening_id, user_id) DO UPDATE SET answer = excluded.answer, updated_at = excluded.updated_at",
        (screening_id, user_id, answer, now),
    )
    return str(row["answer"]) if row else None


async def rsvp_answers(db: Executor, screening_id: int) -> dict[int, str]:
    rows = await db.fetchall(
        "SELECT user_id, answer FROM screening_rsvps WHERE screening_id = ? ORDER BY updated_at, user_id",
        (screening_id,),
    )
    return {int(r["user_id"]): str(r["answer"]) for r in rows}


async def going_members(db: Executor, screening_id: int) -> list[int]:
    rows = await db.fetchall(
        "SELECT user_id FROM screening_rsvps WHERE screening_id = ? AND answer = 'going' ORDER BY updated_at, user_id",
        (screening_id,),
    )
    return [int(r["user_id"]) for r in rows]


async def rsvps_for(
    db: Executor, screening_ids: Sequence[int]
) -> tuple[dict[int, dict[int, str]], dict[int, set[int]]]:
    """RSVP answers and "interested" members of several screenings in two queries (for `/screening list`)."""
    answers: dict[int, dict[int, str]] = {sid: {} for sid in screening_ids}
    interested: dict[int, set[int]] = {sid: set() for sid in screening_ids}
    if not screening_ids:
        return answers, interested
    marks = ", ".join("?" * len(screening_ids))
    for r in await db.fetchall(
        f"SELECT screening_id, user_id, answer FROM screening_rsvps WHERE screening_id IN ({marks})",
        tuple(screening_ids),
    ):
        answers[int(r["screening_id"])][int(r["user_id"])] = str(r["answer"])
    for r in await db.fetchall(
        f"SELECT screening_id, user_id FROM screening_interest WHERE screening_id IN ({marks})", tuple(screening_ids)
    ):
        interested[int(r["screening_id"])].add(int(r["user_id"]))
    return answers, interested


async def count_upcoming(db: Executor, guild_id: int) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) AS n FROM screenings WHERE guild_id = ? AND status IN ('scheduled', 'live')", (guild_id,)
    )
    return int(row["n"]) if row else 0


async def get_rsvp(db: Executor, screening_id: int, user_id: int) -> str | None:
    row = await db.fetchone(
        "SELECT answer FROM screening_rsvps WHERE screening_id = ? AND user_id = ?", (screening_id, user_id)
    )
    return str(row["answer"]) if row else None


async def upcoming_going_for_member(db: Executor, guild_id: int, user_id: int) -> list[Screening]:
    rows = await db.fetchall(
        f"SELECT {', '.join('s.' + c.strip() for c in _COLUMNS.split(','))} FROM screenings s "
        "JOIN screening_rsvps r ON r.screening_id = s.id "
        "WHERE s.guild_id = ? AND r.user_id = ? AND r.answer = 'going' AND s.status = 'scheduled' "
        "ORDER BY s.starts_at",
        (guild_id, user_id),
    )
    return [_screening(r) for r in rows]


async def add_interest(db: Executor, screening_id: int, user_id: int, now: int) -> bool:
    result = await db.execute(
        "INSERT INTO screening_interest (screening_id, user_id, added_at) VALUES (?, ?, ?) "
        "ON CONFLICT(screening_id, user_id) DO NOTHING",
        (screening_id, user_id, now),
    )
    return result.rowcount == 1


async def remove_interest(db: Executor, screening_id: int, user_id: int) -> bool:
    result = await db.execute(
        "DELETE FROM screening_interest WHERE screening_id = ? AND user_id = ?", (screening_id, user_id)
    )
    return result.rowcount == 1


async def replace_interest(db: Executor, screening_id: int, user_ids: Iterable[int], now: int) -> bool:
    """Make the "Interested" set exactly ``user_ids`` (after missing gateway events); True if it changed."""
    wanted = set(user_ids)
    have = await interested_members(db, screening_id)
    gone, new = have - wanted, wanted - have
    if gone:
        await db.executemany(
            "DELETE FROM screening_interest WHERE screening_id = ? AND user_id = ?",
            [(screening_id, uid) for uid in gone],
        )
    if new:
        await db.executemany(
            "INSERT INTO screening_interest (screening_id, user_id, added_at) VALUES (?, ?, ?) "
            "ON CONFLICT(screening_id, user_id) DO NOTHING",
            [(screening_id, uid, now) for uid in new],
        )
    return bool(gone or new)


async def interested_members(db: Executor, screening_id: int) -> set[int]:
    rows = await db.fetchall("SELECT user_id FROM screening_interest WHERE screening_id = ?", (screening_id,))
    return {int(r["user_id"]) for r in rows}


# --------------------------------------------------------------------------- ratings


@dataclass(frozen=True)
class Rating:
    guild_id: int
    film_key: str
    user_id: int
    thumbs: int
    review: str | None
    title: str
    year: int | None
    screening_id: int | None
    created_at: int
    updated_at: int

    @property
    def label(self) -> str:
        return f"{self.title} ({self.year})" if self.year else self.title


_RATING_COLUMNS = "guild_id, film_key, user_id, thumbs, review, title, year, screening_id, created_at, updated_at"


def _rating(row: Row) -> Rating:
    return Rating(**{key: row[key] for key in row.keys()})


async def set_rating(
    db: Executor,
    guild_id: int,
    film_key: str,
    user_id: int,
    thumbs: int,
    review: str | None,
    now: int,
    *,
    title: str | None = None,
    year: int | None = None,
    screening_id: int | None = None,
) -> tuple[Rating, bool]:
    """Create or change the member's rating of a film; (rating, whether it is new).

    Without ``title`` the film's title and year are taken from its latest screening here.
    Changing only the thumbs keeps an earlier review (pass ``review=""`` to clear it).
    """
    if title is None:
        latest = await db.fetchone(
            "SELECT id, title, year FROM screenings WHERE guild_id = ? AND film_key = ? "
            "ORDER BY starts_at DESC, id DESC LIMIT 1",
            (guild_id, film_key),
        )
        title = str(latest["title"]) if latest else film_key
        year = latest["year"] if latest else year
        screening_id = screening_id or (int(latest["id"]) if latest else None)
    before = await get_rating(db, guild_id, film_key, user_id)
    await db.execute(
        f"INSERT INTO ratings ({_RATING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(guild_id, film_key, user_id) DO UPDATE SET thumbs = excluded.thumbs, "
        "review = CASE WHEN ? = 1 THEN excluded.review ELSE ratings.review END, "
        "title = excluded.title, year = excluded.year, "
        "screening_id = COALESCE(excluded.screening_id, ratings.screening_id), updated_at = excluded.updated_at",
        (guild_id, film_key, user_id, thumbs, review or None, title, year, screening_id, now, now,
         1 if review is not None else 0),
    )
    rating = await get_rating(db, guild_id, film_key, user_id)
    assert rating is not None
    return rating, before is None


async def get_rating(db: Executor, guild_id: int, film_key: str, user_id: int) -> Rating | None:
    row = await db.fetchone(
        f"SELECT {_RATING_COLUMNS} FROM ratings WHERE guild_id = ? AND film_key = ? AND user_id = ?",
        (guild_id, film_key, user_id),
    )
    return _rating(row) if row else None


async def ratings_for_film(db: Executor, guild_id: int, film_key: str) -> list[Rating]:
    rows = await db.fetchall(
        f"SELECT {_RATING_COLUMNS} FROM ratings WHERE guild_id = ? AND film_key = ? ORDER BY created_at, user_id",
        (guild_id, film_key),
    )
    return [_rating(r) for r in rows]


async def ratings_for_member(db: Executor, guild_id: int, user_id: int) -> list[Rating]:
    rows = await db.fetchall(
        f"SELECT {_RATING_COLUMNS} FROM ratings WHERE guild_id = ? AND user_id = ? ORDER BY updated_at DESC, film_key",
        (guild_id, user_id),
    )
    return [_rating(r) for r in rows]


async def ratings_for_guild(db: Executor, guild_id: int) -> list[Rating]:
    rows = await db.fetchall(
        f"SELECT {_RATING_COLUMNS} FROM ratings WHERE guild_id = ? ORDER BY film_key, created_at, user_id",
        (guild_id,),
    )
    return [_rating(r) for r in rows]


async def rating_distributions(db: Executor, guild_id: int) -> list[tuple[str, str, int | None, tuple[int, ...]]]:
    """(film_key, title, year, thumbs distribution: index 0 = one thumb ... 4 = five) of every film rated here.

    One pass in SQL, so the ratings board does not build an object per rating. Title and year come from the
    film's most recent rating (window functions: portable SQL, no bare columns beside an aggregate).
    """
    counts = ", ".join(
        f"SUM(CASE WHEN thumbs = {n} THEN 1 ELSE 0 END) OVER (PARTITION BY film_key) AS t{n}" for n in range(1, 6)
    )
    rows = await db.fetchall(
        "SELECT film_key, title, year, t1, t2, t3, t4, t5 FROM (SELECT film_key, title, year, "
        f"ROW_NUMBER() OVER (PARTITION BY film_key ORDER BY created_at DESC, user_id DESC) AS n, {counts} "
        "FROM ratings WHERE guild_id = ?) AS latest WHERE n = 1 ORDER BY film_key",
        (guild_id,),
    )
    return [(str(r["film_key"]), str(r["title"]), r["year"], tuple(int(r[f"t{n}"]) for n in range(1, 6)))
            for r in rows]


async def has_ratings(db: Executor, guild_id: int) -> bool:
    return await db.fetchone("SELECT 1 FROM ratings WHERE guild_id = ? LIMIT 1", (guild_id,)) is not None


async def verdicts(db: Executor, guild_id: int, *, since: int | None = None) -> list[Rating]:
    """Ratings that carry a review, oldest change first (``since`` = changed at or after)."""
    rows = await db.fetchall(
        f"SELECT {_RATING_COLUMNS} FROM ratings WHERE guild_id = ? AND review IS NOT NULL AND updated_at >= ? "
        "ORDER BY updated_at, film_key, user_id",
        (guild_id, since if since is not None else 0),
    )
    return [_rating(r) for r in rows]


async def rated_films(db: Executor, guild_id: int) -> list[tuple[str, str, int | None]]:
    """(film_key, title, year) of every film rated here, alphabetically."""
    rows = await db.fetchall(
        "SELECT film_key, MAX(title) AS title, MAX(year) AS year FROM ratings WHERE guild_id = ? "
        "GROUP BY film_key ORDER BY lower(MAX(title)), film_key",
        (guild_id,),
    )
    return [(str(r["film_key"]), str(r["title"]), r["year"]) for r in rows]


async def screened_films(db: Executor, guild_id: int) -> list[tuple[str, str, int | None]]:
    """(film_key, title, year) of every film with a finished screening here, most recent first."""
    rows = await db.fetchall(
        "SELECT film_key, title, year FROM (SELECT film_key, title, year, starts_at, "
        "ROW_NUMBER() OVER (PARTITION BY film_key ORDER BY starts_at DESC, id DESC) AS n FROM screenings "
        "WHERE guild_id = ? AND status = 'finished') AS latest WHERE n = 1 ORDER BY starts_at DESC, film_key",
        (guild_id,),
    )
    return [(str(r["film_key"]), str(r["title"]), r["year"]) for r in rows]


# --------------------------------------------------------------------------- reminder preferences


@dataclass(frozen=True)
class ReminderPref:
    guild_id: int
    user_id: int
    offsets: str  # "1h,10m" or "off"
    via: str  # "dm" or "thread"
    updated_at: int


async def get_reminder_pref(db: Executor, guild_id: int, user_id: int) -> ReminderPref | None:
    row = await db.fetchone(
        "SELECT guild_id, user_id, offsets, via, updated_at FROM reminder_prefs WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    )
    return ReminderPref(**{k: row[k] for k in row.keys()}) if row else None


async def set_reminder_pref(db: Executor, guild_id: int, user_id: int, offsets: str, via: str, now: int) -> None:
    await db.execute(
        "INSERT INTO reminder_prefs (guild_id, user_id, offsets, via, updated_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(guild_id, user_id) DO UPDATE SET offsets = excluded.offsets, via = excluded.via, "
        "updated_at = excluded.updated_at",
        (guild_id, user_id, offsets, via, now),
    )


async def clear_reminder_pref(db: Executor, guild_id: int, user_id: int) -> None:
    await db.execute("DELETE FROM reminder_prefs WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))


async def reminder_prefs_for(db: Executor, guild_id: int, user_ids: Iterable[int]) -> dict[int, ReminderPref]:
    ids = list(user_ids)
    if not ids:
        return {}
    rows = await db.fetchall(
        "SELECT guild_id, user_id, offsets, via, updated_at FROM reminder_prefs "
        f"WHERE guild_id = ? AND user_id IN ({', '.join('?' * len(ids))})",
        (guild_id, *ids),
    )
    return {int(r["user_id"]): ReminderPref(**{k: r[k] for k in r.keys()}) for r in rows}
