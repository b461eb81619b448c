"""Basil's Corner: memorials, their photos, tributes, anniversaries and undelivered notices.

The newsletter reads :func:`memorials_since` and :func:`anniversaries_since`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.domain.shards import ShardRange
from db.shards import owned
from db.store import Executor, Row

PENDING, APPROVED = "pending", "approved"

_COLUMNS = (
    "id, guild_id, name, name_key, species, born, passed, story, author_id, status, anniversaries, "
    "channel_id, message_id, thread_id, created_at, approved_at, approved_by, updated_at"
)


def jump_url(guild_id: int, channel_id: int | None, message_id: int | None) -> str | None:
    if channel_id is None or message_id is None:
        return None
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


@dataclass(frozen=True)
class Memorial:
    id: int
    guild_id: int
    name: str
    name_key: str
    species: str | None
    born: date | None
    passed: date | None
    story: str
    author_id: int
    status: str
    anniversaries: bool
    channel_id: int | None
    message_id: int | None
    thread_id: int | None
    created_at: int
    approved_at: int | None
    approved_by: int | None
    updated_at: int

    @property
    def is_approved(self) -> bool:
        return self.status == APPROVED

    @property
    def card_url(self) -> str | None:
        return jump_url(self.guild_id, self.channel_id, self.message_id)


@dataclass(frozen=True)
class Photo:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Tribute:
    id: int
    memorial_id: int
    author_id: int
    author_name: str
    text: str
    message_id: int | None
    created_at: int


@dataclass(frozen=True)
class _CardNote:
    """What the newsletter says about a memorial and its card."""

    memorial_id: int
    guild_id: int
    name: str
    species: str | None
    passed: date | None
    author_id: int
    channel_id: int | None  # the card
    message_id: int | None
    card_url: str | None


@dataclass(frozen=True)
class MemorialNote(_CardNote):
    """A memorial published in the period (for the newsletter)."""

    published_at: int


@dataclass(frozen=True)
class AnniversaryNote(_CardNote):
    """An anniversary post that went out in the period (for the newsletter)."""

    years: int
    year: int
    anniversary_channel_id: int | None
    anniversary_message_id: int | None
    sent_at: int


@dataclass(frozen=True)
class Draft:
    """What `/basil memorial` (``memorial_id`` None) or `/basil edit` collected before the story form."""

    id: int
    guild_id: int
    member_id: int
    memorial_id: int | None
    name: str
    name_key: str
    species: str | None
    born: date | None
    passed: date | None
    anniversaries: bool
    photo_url: str | None
    photo_ext: str | None
    photo_type: str | None
    created_at: int


@dataclass(frozen=True)
class Notice:
    id: int
    text: str


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _from_row(row: Row) -> Memorial:
    return Memorial(
        id=row["id"], guild_id=row["guild_id"], name=row["name"], name_key=row["name_key"],
        species=row["species"], born=_date(row["born"]), passed=_date(row["passed"]), story=row["story"],
        author_id=row["author_id"], status=row["status"], anniversaries=bool(row["anniversaries"]),
        channel_id=row["channel_id"], message_id=row["message_id"], thread_id=row["thread_id"],
        created_at=row["created_at"], approved_at=row["approved_at"], approved_by=row["approved_by"],
        updated_at=row["updated_at"],
    )


# ----------------------------------------------------------------------------- memorials
async def create(
    db: Executor, *, guild_id: int, name: str, name_key: str, species: str | None, born: date | None,
    passed: date | None, story: str, author_id: int, status: str, anniversaries: bool, now: int,
    photo: Photo | None = None,
) -> Memorial | None:
    """Insert a memorial (and its photo); None when the server already has a pet of that name."""
    try:
        result = await db.execute(
            "INSERT INTO basil_memorials (guild_id, name, name_key, species, born, passed, story, author_id, "
            "status, anniversaries, created_at, approved_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (guild_id, name, name_key, species, _iso(born), _iso(passed), story, author_id, status,
             int(anniversaries), now, now if status == APPROVED else None, now),
        )
    except sqlite3.IntegrityError:
        return None
    assert result.lastrowid is not None
    if photo is not None:
        await set_photo(db, result.lastrowid, photo)
    return await get(db, result.lastrowid)


async def _select(
    db: Executor, where: str, params: tuple[object, ...], order: str = "id", limit: int | None = None
) -> list[Memorial]:
    sql = f"SELECT {_COLUMNS} FROM basil_memorials WHERE {where} ORDER BY {order}"
    rows = await db.fetchall(sql, params) if limit is None else await db.fetchall(sql + " LIMIT ?", (*params, limit))
    return [_from_row(r) for r in rows]


async def get(db: Executor, memorial_id: int) -> Memorial | None:
    found = await _select(db, "id = ?", (memorial_id,))
    return found[0] if found else None


async def get_by_key(db: Executor, guild_id: int, key: str) -> Memorial | None:
    found = await _select(db, "guild_id = ? AND name_key = ?", (guild_id, key))
    return found[0] if found else None


async def name_taken(db: Executor, guild_id: int, key: str, except_id: int | None = None) -> Memorial | None:
    """The other memorial of the server with that name key, if any."""
    found = await _select(db, "guild_id = ? AND name_key = ? AND id != ?", (guild_id, key, except_id or 0))
    return found[0] if found else None


async def search(
    db: Executor, guild_id: int, query: str, *, member_id: int | None = None, all_pending: bool = False,
    limit: int = 25,
) -> list[Memorial]:
    """Approved memorials whose name contains ``query``, with ``member_id``'s own pending ones (or
    every pending one, for a moderator)."""
    like = "%" + query.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return await _select(
        db, "guild_id = ? AND name_key LIKE ? ESCAPE '\\' AND (status = 'approved' OR author_id = ? OR ? = 1)",
        (guild_id, like, member_id or 0, int(all_pending)), "name_key", limit,
    )


async def list_approved(db: Executor, guild_id: int) -> list[Memorial]:
    """Every remembered pet of the server, most recently passed first (unknown dates last)."""
    return await _select(
        db, "guild_id = ? AND status = 'approved'", (guild_id,), "passed IS NULL, passed DESC, name_key"
    )


async def list_pending(db: Executor, guild_id: int) -> list[Memorial]:
    """The approval queue, oldest first."""
    return await _select(db, "guild_id = ? AND status = 'pending'", (guild_id,), "created_at, id")


async def list_with_anniversaries(db: Executor, *, shards: ShardRange | None = None) -> list[Memorial]:
    """Published memorials (all servers, or the servers of ``shards``) that want anniversary posts."""
    mine, params = owned(shards)
    return await _select(db, f"status = 'approved' AND anniversaries = 1 AND passed IS NOT NULL{mine}", params)


async def claim_approval(db: Executor, memorial_id: int, moderator_id: int, now: int) -> bool:
    """Pending -> approved, atomically; False if someone else already did it (or it is gone)."""
    result = await db.execute(
        "UPDATE basil_memorials SET status = 'approved', approved_at = ?, approved_by = ?, updated_at = ? "
        "WHERE id = ? AND status = 'pending'",
        (now, moderator_id, now, memorial_id),
    )
    return result.rowcount == 1


async def mark_pending(db: Executor, memorial_id: int) -> None:
    """Undo :func:`claim_approval` when the card could not be posted."""
    await db.execute(
        "UPDATE basil_memorials SET status = 'pending', approved_at = NULL, approved_by = NULL WHERE id = ?",
        (memorial_id,),
    )


async def set_card(
    db: Executor, memorial_id: int, *, channel_id: int | None, message_id: int | None, thread_id: int | None
) -> None:
    await db.execute(
        "UPDATE basil_memorials SET channel_id = ?, message_id = ?, thread_id = ? WHERE id = ?",
        (channel_id, message_id, thread_id, memorial_id),
    )


async def forget_card(db: Executor, message_ids: list[int]) -> int:
    """Cards deleted on Discord: the memorials stay, without a card (their thread may remain)."""
    if not message_ids:
        return 0
    marks = ", ".join("?" * len(message_ids))
    result = await db.execute(
        f"UPDATE basil_memorials SET channel_id = NULL, message_id = NULL WHERE message_id IN ({marks})",
        list(message_ids),
    )
    return result.rowcount


async def forget_channel(db: Executor, channel_id: int) -> int:
    """Basil's Corner (or another channel) was deleted: its cards and threads went with it."""
    result = await db.execute(
        "UPDATE basil_memorials SET channel_id = NULL, message_id = NULL, thread_id = NULL WHERE channel_id = ?",
        (channel_id,),
    )
    return result.rowcount


async def forget_thread(db: Executor, thread_id: int) -> int:
    result = await db.execute("UPDATE basil_memorials SET thread_id = NULL WHERE thread_id = ?", (thread_id,))
    return result.rowcount


async def update_details(
    db: Executor, memorial_id: int, *, species: str | None, born: date | None, passed: date | None,
    story: str, anniversaries: bool, now: int,
) -> Memorial | None:
    await db.execute(
        "UPDATE basil_memorials SET species = ?, born = ?, passed = ?, story = ?, anniversaries = ?, "
        "updated_at = ? WHERE id = ?",
        (species, _iso(born), _iso(passed), story, int(anniversaries), now, memorial_id),
    )
    return await get(db, memorial_id)


async def set_anniversaries(db: Executor, memorial_id: int, on: bool, now: int) -> None:
    await db.execute(
        "UPDATE basil_memorials SET anniversaries = ?, updated_at = ? WHERE id = ?", (int(on), now, memorial_id)
    )


async def delete(db: Executor, memorial_id: int) -> bool:
    """Delete a memorial with its photo, tributes and anniversary records."""
    result = await db.execute("DELETE FROM basil_memorials WHERE id = ?", (memorial_id,))
    return result.rowcount == 1


async def delete_pending(db: Executor, memorial_id: int) -> bool:
    """Decline: delete a memorial only while it still waits (False if it was approved or is gone)."""
    result = await db.execute("DELETE FROM basil_memorials WHERE id = ? AND status = 'pending'", (memorial_id,))
    return result.rowcount == 1


async def count(db: Executor, guild_id: int) -> int:
    row = await db.fetchone("SELECT COUNT(*) AS n FROM basil_memorials WHERE guild_id = ?", (guild_id,))
    return int(row["n"]) if row else 0


# ----------------------------------------------------------------------------- photos
async def get_photo(db: Executor, memorial_id: int) -> Photo | None:
    row = await db.fetchone(
        "SELECT filename, content_type, data FROM basil_photos WHERE memorial_id = ?", (memorial_id,)
    )
    return Photo(row["filename"], row["content_type"], bytes(row["data"])) if row else None


async def set_photo(db: Executor, memorial_id: int, photo: Photo) -> None:
    await db.execute(
        "INSERT INTO basil_photos (memorial_id, filename, content_type, data) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(memorial_id) DO UPDATE SET filename = excluded.filename, "
        "content_type = excluded.content_type, data = excluded.data",
        (memorial_id, photo.filename, photo.content_type, photo.data),
    )


# ----------------------------------------------------------------------------- tributes
async def add_tribute(
    db: Executor, *, memorial_id: int, author_id: int, author_name: str, text: str, message_id: int | None,
    now: int,
) -> Tribute:
    result = await db.execute(
        "INSERT INTO basil_tributes (memorial_id, author_id, author_name, text, message_id, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (memorial_id, author_id, author_name, text, message_id, now),
    )
    assert result.lastrowid is not None
    return Tribute(result.lastrowid, memorial_id, author_id, author_name, text, message_id, now)


async def list_tributes(db: Executor, memorial_id: int) -> list[Tribute]:
    rows = await db.fetchall(
        "SELECT id, memorial_id, author_id, author_name, text, message_id, created_at FROM basil_tributes "
        "WHERE memorial_id = ? ORDER BY created_at, id",
        (memorial_id,),
    )
    return [Tribute(r["id"], r["memorial_id"], r["author_id"], r["author_name"], r["text"], r["message_id"],
                    r["created_at"]) for r in rows]


# ----------------------------------------------------------------------------- anniversaries
async def record_anniversary(
    db: Executor, *, memorial_id: int, year: int, years: int, channel_id: int | None, message_id: int | None,
    now: int,
) -> bool:
    """Remember that this year's post went out; False if it was already recorded."""
    result = await db.execute(
        "INSERT INTO basil_anniversaries (memorial_id, year, years, channel_id, message_id, sent_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(memorial_id, year) DO NOTHING",
        (memorial_id, year, years, channel_id, message_id, now),
    )
    return result.rowcount == 1


async def anniversary_sent(db: Executor, memorial_id: int, year: int) -> bool:
    row = await db.fetchone(
        "SELECT 1 FROM basil_anniversaries WHERE memorial_id = ? AND year = ?", (memorial_id, year)
    )
    return row is not None


# ----------------------------------------------------------------------------- newsletter
_NOTE_COLUMNS = "m.id, m.guild_id, m.name, m.species, m.passed, m.author_id, m.channel_id, m.message_id"


def _note(r: Row) -> dict[str, Any]:
    """What both newsletter notes say about the memorial and its card."""
    return {
        "memorial_id": r["id"], "guild_id": r["guild_id"], "name": r["name"], "species": r["species"],
        "passed": _date(r["passed"]), "author_id": r["author_id"], "channel_id": r["channel_id"],
        "message_id": r["message_id"], "card_url": jump_url(r["guild_id"], r["channel_id"], r["message_id"]),
    }


async def memorials_since(db: Executor, guild_id: int, since_ts: int) -> list[MemorialNote]:
    """Memorials published (card posted) at or after ``since_ts``, oldest first."""
    rows = await db.fetchall(
        f"SELECT {_NOTE_COLUMNS}, m.approved_at FROM basil_memorials m WHERE m.guild_id = ? "
        "AND m.status = 'approved' AND m.message_id IS NOT NULL AND m.approved_at >= ? ORDER BY m.approved_at, m.id",
        (guild_id, since_ts),
    )
    return [MemorialNote(**_note(r), published_at=r["approved_at"]) for r in rows]


async def anniversaries_since(db: Executor, guild_id: int, since_ts: int) -> list[AnniversaryNote]:
    """Anniversary posts sent at or after ``since_ts``, oldest first."""
    rows = await db.fetchall(
        f"SELECT {_NOTE_COLUMNS}, a.year, a.years, a.channel_id AS a_channel, a.message_id AS a_message, a.sent_at "
        "FROM basil_anniversaries a JOIN basil_memorials m ON m.id = a.memorial_id "
        "WHERE m.guild_id = ? AND a.sent_at >= ? ORDER BY a.sent_at, m.id",
        (guild_id, since_ts),
    )
    return [
        AnniversaryNote(
            **_note(r), years=r["years"], year=r["year"], anniversary_channel_id=r["a_channel"],
            anniversary_message_id=r["a_message"], sent_at=r["sent_at"],
        )
        for r in rows
    ]


# ----------------------------------------------------------------------------- notices
async def add_notice(db: Executor, guild_id: int, member_id: int, text: str, now: int) -> None:
    await db.execute(
        "INSERT INTO basil_notices (guild_id, member_id, text, created_at) VALUES (?, ?, ?, ?)",
        (guild_id, member_id, text, now),
    )


async def take_notices(db: Executor, guild_id: int, member_id: int) -> list[Notice]:
    """The member's undelivered notices, removed as they are returned (use inside a transaction)."""
    rows = await db.fetchall(
        "SELECT id, text FROM basil_notices WHERE guild_id = ? AND member_id = ? ORDER BY id",
        (guild_id, member_id),
    )
    if rows:
        await db.execute(
            f"DELETE FROM basil_notices WHERE id IN ({', '.join('?' * len(rows))})", [r["id"] for r in rows]
        )
    return [Notice(r["id"], r["text"]) for r in rows]


# ----------------------------------------------------------------------------- drafts
async def add_draft(
    db: Executor, *, guild_id: int, member_id: int, memorial_id: int | None, name: str, name_key: str,
    species: str | None, born: date | None, passed: date | None, anniversaries: bool, photo_url: str | None,
    photo_ext: str | None, photo_type: str | None, now: int,
) -> int:
    result = await db.execute(
        "INSERT INTO basil_drafts (guild_id, member_id, memorial_id, name, name_key, species, born, passed, "
        "anniversaries, photo_url, photo_ext, photo_type, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (guild_id, member_id, memorial_id, name, name_key, species, _iso(born), _iso(passed), int(anniversaries),
         photo_url, photo_ext, photo_type, now),
    )
    assert result.lastrowid is not None
    return result.lastrowid


async def take_draft(db: Executor, draft_id: int, member_id: int) -> Draft | None:
    """The member's draft, removed as it is returned; None if it is gone or someone else's (or taken already)."""
    row = await db.fetchone(
        "SELECT id, guild_id, member_id, memorial_id, name, name_key, species, born, passed, anniversaries, "
        "photo_url, photo_ext, photo_type, created_at FROM basil_drafts WHERE id = ? AND member_id = ?",
        (draft_id, member_id),
    )
    if row is None:
        return None
    result = await db.execute("DELETE FROM basil_drafts WHERE id = ?", (draft_id,))
    if result.rowcount != 1:
        return None  # a double submit took it first
    return Draft(
        id=row["id"], guild_id=row["guild_id"], member_id=row["member_id"], memorial_id=row["memorial_id"],
        name=row["name"], name_key=row["name_key"], species=row["species"], born=_date(row["born"]),
        passed=_date(row["passed"]), anniversaries=bool(row["anniversaries"]), photo_url=row["photo_url"],
        photo_ext=row["photo_ext"], photo_type=row["photo_type"], created_at=row["created_at"],
    )


async def purge_drafts(db: Executor, before: int) -> int:
    """Forget forms opened before ``before`` and never sent."""
    result = await db.execute("DELETE FROM basil_drafts WHERE created_at < ?", (before,))
    return result.rowcount


# ----------------------------------------------------------------------------- edits waiting for approval
@dataclass(frozen=True)
class PendingEdit:
    """A member's edit of an approved memorial, waiting for a moderator (memorial approval is on)."""

    memorial_id: int
    guild_id: int
    member_id: int
    species: str | None
    born: date | None
    passed: date | None
    story: str
    anniversaries: bool
    photo: Photo | None
    created_at: int


def _pending_edit(row: Row) -> PendingEdit:
    photo = (
        Photo(row["photo_name"], row["photo_type"], bytes(row["photo_data"])) if row["photo_data"] is not None else None
    )
    return PendingEdit(
        memorial_id=row["memorial_id"], guild_id=row["guild_id"], member_id=row["member_id"], species=row["species"],
        born=_date(row["born"]), passed=_date(row["passed"]), story=row["story"],
        anniversaries=bool(row["anniversaries"]), photo=photo, created_at=row["created_at"],
    )


async def save_pending_edit(db: Executor, edit: PendingEdit) -> None:
    """Keep an edit for approval; it replaces an edit of the same memorial still waiting."""
    photo = edit.photo
    await db.execute(
        "INSERT INTO basil_pending_edits (memorial_id, guild_id, member_id, species, born, passed, story, "
        "anniversaries, photo_name, photo_type, photo_data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (memorial_id) DO UPDATE SET guild_id = excluded.guild_id, member_id = excluded.member_id, "
        "species = excluded.species, born = excluded.born, passed = excluded.passed, story = excluded.story, "
        "anniversaries = excluded.anniversaries, photo_name = excluded.photo_name, "
        "photo_type = excluded.photo_type, photo_data = excluded.photo_data, created_at = excluded.created_at",
        (
            edit.memorial_id, edit.guild_id, edit.member_id, edit.species, _iso(edit.born), _iso(edit.passed),
            edit.story, int(edit.anniversaries), photo.filename if photo else None,
            photo.content_type if photo else None, photo.data if photo else None, edit.created_at,
        ),
    )


async def list_pending_edits(db: Executor, guild_id: int) -> list[PendingEdit]:
    """Edits waiting for approval, oldest first."""
    rows = await db.fetchall(
        "SELECT * FROM basil_pending_edits WHERE guild_id = ? ORDER BY created_at, memorial_id", (guild_id,)
    )
    return [_pending_edit(r) for r in rows]


async def get_pending_edit(db: Executor, memorial_id: int) -> PendingEdit | None:
    row = await db.fetchone("SELECT * FROM basil_pending_edits WHERE memorial_id = ?", (memorial_id,))
    return _pending_edit(row) if row else None


async def take_pending_edit(db: Executor, memorial_id: int, guild_id: int) -> PendingEdit | None:
    """Remove and return the waiting edit (approve or decline); None if another moderator already did."""
    row = await db.fetchone(
        "DELETE FROM basil_pending_edits WHERE memorial_id = ? AND guild_id = ? RETURNING *", (memorial_id, guild_id)
    )
    return _pending_edit(row) if row else None


async def memorials_by_member_since(db: Executor, guild_id: int, member_id: int, since: int) -> int:
    """How many memorials the member shared in this server since ``since`` (waiting ones included)."""
    row = await db.fetchone(
        "SELECT COUNT(*) AS n FROM basil_memorials WHERE guild_id = ? AND author_id = ? AND created_at >= ?",
        (guild_id, member_id, since),
    )
    return int(row["n"]) if row else 0
