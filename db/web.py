"""The club's web pages and calendar feeds: the per-server switch and token, personal feed tokens, display names,
and the few read queries the pages need beyond the features' own repositories (SQL only).

Tokens are never stored, only their SHA-256 hex (``token_hash``): a request's token is hashed and looked up by
that hash. Every query here is bounded (a LIMIT, or a key) and reads a whole page's rows in one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from bot.domain.screenings import Screening
from db.basil import _COLUMNS as MEMORIAL_COLUMNS
from db.basil import Memorial
from db.basil import _from_row as memorial_from_row
from db.store import Executor, Row, Store

_SCREENING_COLUMNS = ", ".join(f"s.{f.name}" for f in fields(Screening))


@dataclass(frozen=True)
class Site:
    guild_id: int
    enabled: bool
    nonce: str
    token_hash: str
    updated_by: int
    updated_at: int
    rotated_at: int


_SITE_COLUMNS = "guild_id, enabled, nonce, token_hash, updated_by, updated_at, rotated_at"


def _site(row: Row) -> Site:
    return Site(int(row[0]), bool(row[1]), str(row[2]), str(row[3]), int(row[4]), int(row[5]), int(row[6]))


async def get_site(db: Executor, guild_id: int) -> Site | None:
    row = await db.fetchone(f"SELECT {_SITE_COLUMNS} FROM web_sites WHERE guild_id = ?", (guild_id,))
    return _site(row) if row else None


async def site_by_token_hash(db: Executor, token_hash: str) -> Site | None:
    """The site a token belongs to (enabled or not), or None."""
    row = await db.fetchone(f"SELECT {_SITE_COLUMNS} FROM web_sites WHERE token_hash = ?", (token_hash,))
    return _site(row) if row else None


async def enabled_guilds(db: Executor) -> list[int]:
    rows = await db.fetchall("SELECT guild_id FROM web_sites WHERE enabled = 1")
    return [int(r[0]) for r in rows]


async def save_site(
    db: Executor, guild_id: int, *, enabled: bool, nonce: str, token_hash: str, by: int, now: int, rotated: bool
) -> Site:
    """Create or change the server's site. ``rotated``: a new token; members' personal tokens are dropped with
    the old one (they were derived from it)."""
    await db.execute(
        f"INSERT INTO web_sites ({_SITE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(guild_id) DO UPDATE SET enabled = excluded.enabled, nonce = excluded.nonce, "
        "token_hash = excluded.token_hash, updated_by = excluded.updated_by, updated_at = excluded.updated_at, "
        "rotated_at = CASE WHEN ? = 1 THEN excluded.rotated_at ELSE web_sites.rotated_at END",
        (guild_id, int(enabled), nonce, token_hash, by, now, now, 1 if rotated else 0),
    )
    if rotated:
        await db.execute("DELETE FROM web_member_tokens WHERE guild_id = ?", (guild_id,))
    site = await get_site(db, guild_id)
    assert site is not None
    return site


@dataclass(frozen=True)
class MemberToken:
    token_hash: str
    guild_id: int
    user_id: int
    nonce: str
    created_at: int


async def member_token(db: Executor, guild_id: int, user_id: int) -> MemberToken | None:
    row = await db.fetchone(
        "SELECT token_hash, guild_id, user_id, nonce, created_at FROM web_member_tokens "
        "WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    )
    return MemberToken(*row) if row else None


async def member_by_token_hash(db: Executor, token_hash: str) -> MemberToken | None:
    row = await db.fetchone(
        "SELECT token_hash, guild_id, user_id, nonce, created_at FROM web_member_tokens WHERE token_hash = ?",
        (token_hash,),
    )
    return MemberToken(*row) if row else None


async def save_member_token(db: Executor, token: MemberToken) -> None:
    await db.execute(
        "INSERT INTO web_member_tokens (token_hash, guild_id, user_id, nonce, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(guild_id, user_id) DO UPDATE SET token_hash = excluded.token_hash, nonce = excluded.nonce, "
        "created_at = excluded.created_at",
        (token.token_hash, token.guild_id, token.user_id, token.nonce, token.created_at),
    )


# --------------------------------------------------------------------------- display names


async def remember_names(db: Executor, rows: Sequence[tuple[int, int, str, int]]) -> None:
    """(guild id, user id, display name, seen at) of members seen in interactions."""
    await db.executemany(
        "INSERT INTO web_names (guild_id, user_id, display_name, seen_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(guild_id, user_id) DO UPDATE SET display_name = excluded.display_name, seen_at = excluded.seen_at",
        rows,
    )


async def names(db: Executor, guild_id: int, user_ids: Sequence[int]) -> dict[int, str]:
    """Display names of those members of the server the bot has seen (in chunks of 500 ids, one query each)."""
    wanted = sorted(set(user_ids))
    found: dict[int, str] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        rows = await db.fetchall(
            f"SELECT user_id, display_name FROM web_names WHERE guild_id = ? "
            f"AND user_id IN ({', '.join('?' * len(chunk))})",
            (guild_id, *chunk),
        )
        found.update({int(r[0]): str(r[1]) for r in rows})
    return found


# --------------------------------------------------------------------------- reads for the pages and feeds


async def feed_screenings(db: Executor, guild_id: int, *, since: int, limit: int) -> list[Screening]:
    """Every screening of the server starting at or after ``since`` (cancelled ones too), soonest first."""
    rows = await db.fetchall(
        f"SELECT {_SCREENING_COLUMNS} FROM screenings s WHERE s.guild_id = ? AND s.starts_at >= ? "
        "ORDER BY s.starts_at, s.id LIMIT ?",
        (guild_id, since, limit),
    )
    return [Screening(*r) for r in rows]


async def member_feed_screenings(
    db: Executor, guild_id: int, user_id: int, *, since: int, limit: int
) -> list[Screening]:
    """The screenings the member said Going or Maybe to (or marked Interested on the event without answering,
    which counts as Maybe), cancelled ones included so calendars drop them; soonest first."""
    rows = await db.fetchall(
        f"SELECT {_SCREENING_COLUMNS} FROM screenings s WHERE s.guild_id = ? AND s.starts_at >= ? AND ("
        "EXISTS (SELECT 1 FROM screening_rsvps r WHERE r.screening_id = s.id AND r.user_id = ? "
        "AND r.answer IN ('going', 'maybe')) "
        "OR (EXISTS (SELECT 1 FROM screening_interest i WHERE i.screening_id = s.id AND i.user_id = ?) "
        "AND NOT EXISTS (SELECT 1 FROM screening_rsvps r WHERE r.screening_id = s.id AND r.user_id = ?))) "
        "ORDER BY s.starts_at, s.id LIMIT ?",
        (guild_id, since, user_id, user_id, user_id, limit),
    )
    return [Screening(*r) for r in rows]


async def rsvp_counts(db: Executor, screening_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """screening id -> (going, maybe), "Interested" without an answer counting as Maybe; two grouped queries."""
    counts = {sid: [0, 0] for sid in screening_ids}
    if not screening_ids:
        return {}
    marks = ", ".join("?" * len(screening_ids))
    for r in await db.fetchall(
        "SELECT screening_id, SUM(CASE WHEN answer = 'going' THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN answer = 'maybe' THEN 1 ELSE 0 END) FROM screening_rsvps "
        f"WHERE screening_id IN ({marks}) GROUP BY screening_id",
        tuple(screening_ids),
    ):
        counts[int(r[0])][0] += int(r[1] or 0)
        counts[int(r[0])][1] += int(r[2] or 0)
    for r in await db.fetchall(
        f"SELECT i.screening_id, COUNT(*) FROM screening_interest i LEFT JOIN screening_rsvps r "
        f"ON r.screening_id = i.screening_id AND r.user_id = i.user_id "
        f"WHERE i.screening_id IN ({marks}) AND r.user_id IS NULL GROUP BY i.screening_id",
        tuple(screening_ids),
    ):
        counts[int(r[0])][1] += int(r[1])
    return {sid: (going, maybe) for sid, (going, maybe) in counts.items()}


async def approved_memorials(db: Executor, guild_id: int, limit: int) -> list[Memorial]:
    """The wall: approved memorials, most recently passed first (unknown dates last), at most ``limit``."""
    rows = await db.fetchall(
        f"SELECT {MEMORIAL_COLUMNS} FROM basil_memorials WHERE guild_id = ? AND status = 'approved' "
        "ORDER BY passed IS NULL, passed DESC, name_key LIMIT ?",
        (guild_id, limit),
    )
    return [memorial_from_row(r) for r in rows]


async def memorials_with_photos(db: Executor, guild_id: int) -> dict[int, str]:
    """memorial id -> photo content type, for the server's approved memorials that have a photo."""
    rows = await db.fetchall(
        "SELECT p.memorial_id, p.content_type FROM basil_photos p JOIN basil_memorials m ON m.id = p.memorial_id "
        "WHERE m.guild_id = ? AND m.status = 'approved'",
        (guild_id,),
    )
    return {int(r[0]): str(r[1]) for r in rows}


async def approved_photo(store: Store, guild_id: int, memorial_id: int) -> tuple[str, bytes, int] | None:
    """(content type, bytes, memorial's updated_at) of an approved memorial's photo in this server; read through
    the store's worker thread (a photo may be megabytes)."""
    rows = await store.fetchall_bulk(
        "SELECT p.content_type, p.data, m.updated_at FROM basil_photos p JOIN basil_memorials m "
        "ON m.id = p.memorial_id WHERE m.id = ? AND m.guild_id = ? AND m.status = 'approved'",
        (memorial_id, guild_id),
    )
    return (str(rows[0][0]), bytes(rows[0][1]), int(rows[0][2])) if rows else None
