"""Previews, verdict texts and newsletters (SQL only; the rules live in ``bot.domain.newsletter``).

Status changes are single conditional UPDATEs (``WHERE status = 'draft'``), so two clicks on
Publish cannot both win: :func:`claim_publish` takes a lease (``publishing_until``) for exactly one of
them; the draft becomes published (:func:`finish_publish`) only once every message is out, and a failed
attempt gives the lease back (:func:`release_publish`) keeping the messages already posted for a resume.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.shards import ShardRange
from db.shards import owned
from db.store import Executor, Row

DRAFT, PUBLISHED, DISCARDED = "draft", "published", "discarded"


# --------------------------------------------------------------------------- previews


@dataclass(frozen=True)
class Preview:
    guild_id: int
    film_key: str
    user_id: int
    text: str
    screening_id: int | None
    channel_id: int | None
    message_id: int | None
    created_at: int
    updated_at: int


_PREVIEW_COLUMNS = "guild_id, film_key, user_id, text, screening_id, channel_id, message_id, created_at, updated_at"


def _preview(row: Row) -> Preview:
    return Preview(**{k: row[k] for k in row.keys()})


async def get_preview(db: Executor, guild_id: int, film_key: str, user_id: int) -> Preview | None:
    row = await db.fetchone(
        f"SELECT {_PREVIEW_COLUMNS} FROM newsletter_previews WHERE guild_id = ? AND film_key = ? AND user_id = ?",
        (guild_id, film_key, user_id),
    )
    return _preview(row) if row else None


async def save_preview(
    db: Executor, *, guild_id: int, film_key: str, user_id: int, text: str, screening_id: int | None, now: int
) -> tuple[Preview, bool]:
    """Create or replace the member's preview of a film; (preview, whether it is new)."""
    before = await get_preview(db, guild_id, film_key, user_id)
    await db.execute(
        f"INSERT INTO newsletter_previews ({_PREVIEW_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?) "
        "ON CONFLICT (guild_id, film_key, user_id) DO UPDATE SET text = excluded.text, "
        "screening_id = excluded.screening_id, updated_at = excluded.updated_at",
        (guild_id, film_key, user_id, text, screening_id, now, now),
    )
    preview = await get_preview(db, guild_id, film_key, user_id)
    assert preview is not None
    return preview, before is None


async def set_preview_message(
    db: Executor, guild_id: int, film_key: str, user_id: int, channel_id: int | None, message_id: int | None
) -> None:
    await db.execute(
        "UPDATE newsletter_previews SET channel_id = ?, message_id = ? WHERE guild_id = ? AND film_key = ? "
        "AND user_id = ?",
        (channel_id, message_id, guild_id, film_key, user_id),
    )


async def previews_for_film(db: Executor, guild_id: int, film_key: str) -> list[Preview]:
    rows = await db.fetchall(
        f"SELECT {_PREVIEW_COLUMNS} FROM newsletter_previews WHERE guild_id = ? AND film_key = ? "
        "ORDER BY created_at, user_id",
        (guild_id, film_key),
    )
    return [_preview(r) for r in rows]


# --------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Verdict:
    guild_id: int
    film_key: str
    user_id: int
    thumbs: int
    text: str | None
    title: str
    year: int | None
    screening_id: int | None
    channel_id: int | None
    message_id: int | None
    created_at: int
    updated_at: int


_VERDICT_COLUMNS = (
    "guild_id, film_key, user_id, thumbs, text, title, year, screening_id, channel_id, message_id, "
    "created_at, updated_at"
)


def _verdict(row: Row) -> Verdict:
    return Verdict(**{k: row[k] for k in row.keys()})


async def get_verdict(db: Executor, guild_id: int, film_key: str, user_id: int) -> Verdict | None:
    row = await db.fetchone(
        f"SELECT {_VERDICT_COLUMNS} FROM newsletter_verdicts WHERE guild_id = ? AND film_key = ? AND user_id = ?",
        (guild_id, film_key, user_id),
    )
    return _verdict(row) if row else None


async def save_verdict(
    db: Executor, *, guild_id: int, film_key: str, user_id: int, thumbs: int, text: str | None, title: str,
    year: int | None, screening_id: int | None, now: int,
) -> tuple[Verdict, bool]:
    """Create or replace the member's verdict of a film; (verdict, whether it is new)."""
    before = await get_verdict(db, guild_id, film_key, user_id)
    await db.execute(
        f"INSERT INTO newsletter_verdicts ({_VERDICT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?) "
        "ON CONFLICT (guild_id, film_key, user_id) DO UPDATE SET thumbs = excluded.thumbs, text = excluded.text, "
        "title = excluded.title, year = excluded.year, "
        "screening_id = COALESCE(excluded.screening_id, newsletter_verdicts.screening_id), "
        "updated_at = excluded.updated_at",
        (guild_id, film_key, user_id, thumbs, text, title, year, screening_id, now, now),
    )
    verdict = await get_verdict(db, guild_id, film_key, user_id)
    assert verdict is not None
    return verdict, before is None


async def set_verdict_message(
    db: Executor, guild_id: int, film_key: str, user_id: int, channel_id: int | None, message_id: int | None
) -> None:
    await db.execute(
        "UPDATE newsletter_verdicts SET channel_id = ?, message_id = ? WHERE guild_id = ? AND film_key = ? "
        "AND user_id = ?",
        (channel_id, message_id, guild_id, film_key, user_id),
    )


async def verdicts_for_film(db: Executor, guild_id: int, film_key: str) -> list[Verdict]:
    rows = await db.fetchall(
        f"SELECT {_VERDICT_COLUMNS} FROM newsletter_verdicts WHERE guild_id = ? AND film_key = ? "
        "ORDER BY created_at, user_id",
        (guild_id, film_key),
    )
    return [_verdict(r) for r in rows]


# --------------------------------------------------------------------------- newsletters


@dataclass(frozen=True)
class NewsletterRow:
    id: int
    guild_id: int
    film_key: str
    film_title: str
    film_year: int | None
    screening_id: int | None
    title: str
    intro: str
    sections: str  # JSON, see bot.domain.newsletter.sections_from_json
    body_md: str | None
    status: str
    covers_since: int
    covers_until: int
    created_by: int
    created_at: int
    updated_at: int
    published_by: int | None
    published_at: int | None
    channel_id: int | None
    message_ids: tuple[int, ...]
    publishing_until: int | None = None
    publishing_by: int | None = None

    def is_publishing(self, now: int) -> bool:
        """Another Publish holds the lease right now."""
        return self.publishing_until is not None and self.publishing_until > now

    @property
    def is_draft(self) -> bool:
        return self.status == DRAFT

    @property
    def is_published(self) -> bool:
        return self.status == PUBLISHED

    @property
    def jump_url(self) -> str | None:
        if self.channel_id is None or not self.message_ids:
            return None
        return f"https://discord.com/channels/{self.guild_id}/{self.channel_id}/{self.message_ids[0]}"


_NL_COLUMNS = (
    "id, guild_id, film_key, film_title, film_year, screening_id, title, intro, sections, body_md, status, "
    "covers_since, covers_until, created_by, created_at, updated_at, published_by, published_at, channel_id, "
    "message_ids, publishing_until, publishing_by"
)


def _newsletter(row: Row) -> NewsletterRow:
    values = {k: row[k] for k in row.keys()}
    values["message_ids"] = tuple(int(i) for i in json.loads(values["message_ids"] or "[]"))
    return NewsletterRow(**values)


async def create_draft(
    db: Executor, *, guild_id: int, film_key: str, film_title: str, film_year: int | None,
    screening_id: int | None, title: str, intro: str, sections: str, covers_since: int, covers_until: int,
    created_by: int, now: int,
) -> NewsletterRow:
    result = await db.execute(
        "INSERT INTO newsletters (guild_id, film_key, film_title, film_year, screening_id, title, intro, sections, "
        "status, covers_since, covers_until, created_by, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?)",
        (guild_id, film_key, film_title, film_year, screening_id, title, intro, sections, covers_since,
         covers_until, created_by, now, now),
    )
    assert result.lastrowid is not None
    row = await get(db, result.lastrowid)
    assert row is not None
    return row


async def get(db: Executor, newsletter_id: int, guild_id: int | None = None) -> NewsletterRow | None:
    """The newsletter, or None (also when ``guild_id`` is given and it belongs to another server)."""
    row = await db.fetchone(f"SELECT {_NL_COLUMNS} FROM newsletters WHERE id = ?", (newsletter_id,))
    if row is None or (guild_id is not None and row["guild_id"] != guild_id):
        return None
    return _newsletter(row)


_FREE = "status = 'draft' AND (publishing_until IS NULL OR publishing_until <= ?)"


async def set_intro(db: Executor, newsletter_id: int, intro: str, now: int) -> bool:
    """Change a draft's intro; False when it is no longer a draft (or is being published)."""
    result = await db.execute(
        f"UPDATE newsletters SET intro = ?, updated_at = ? WHERE id = ? AND {_FREE}",
        (intro, now, newsletter_id, now),
    )
    return result.rowcount == 1


async def discard(db: Executor, newsletter_id: int, now: int) -> bool:
    """Draft -> discarded; False when it is not a draft (published or discarded already, or being published)."""
    result = await db.execute(
        f"UPDATE newsletters SET status = 'discarded', updated_at = ? WHERE id = ? AND {_FREE}",
        (now, newsletter_id, now),
    )
    return result.rowcount == 1


async def claim_publish(
    db: Executor, newsletter_id: int, *, channel_id: int, published_by: int, now: int, lease: int
) -> bool:
    """Take the publishing lease of a draft in one statement; True only for the one caller that got it.

    Messages recorded by an earlier attempt are kept when it posted in the same channel (a resume) and
    forgotten when the channel changed (the newsletter starts over in the new channel).
    """
    result = await db.execute(
        "UPDATE newsletters SET publishing_until = ?, publishing_by = ?, "
        "message_ids = CASE WHEN channel_id = ? THEN message_ids ELSE '[]' END, channel_id = ?, updated_at = ? "
        f"WHERE id = ? AND {_FREE}",
        (now + lease, published_by, channel_id, channel_id, now, newsletter_id, now),
    )
    return result.rowcount == 1


async def finish_publish(db: Executor, newsletter_id: int, *, body_md: str, published_by: int, now: int) -> bool:
    """Draft -> published once every message is out (the lease ends)."""
    result = await db.execute(
        "UPDATE newsletters SET status = 'published', body_md = ?, published_by = ?, published_at = ?, "
        "updated_at = ?, publishing_until = NULL, publishing_by = NULL WHERE id = ? AND status = 'draft'",
        (body_md, published_by, now, now, newsletter_id),
    )
    return result.rowcount == 1


async def release_publish(db: Executor, newsletter_id: int, now: int) -> bool:
    """Give the lease back after posting failed (the message ids already sent are kept, so a retry resumes)."""
    result = await db.execute(
        "UPDATE newsletters SET publishing_until = NULL, publishing_by = NULL, updated_at = ? "
        "WHERE id = ? AND status = 'draft'",
        (now, newsletter_id),
    )
    return result.rowcount == 1


async def clear_leases(db: Executor, *, shards: ShardRange | None = None) -> int:
    """At start-up: a lease still held belongs to a process that is gone (nothing is publishing yet). With
    ``shards``, only the leases of those shards' servers (another cluster may be publishing for its own)."""
    mine, params = owned(shards)
    result = await db.execute(
        "UPDATE newsletters SET publishing_until = NULL, publishing_by = NULL "
        f"WHERE publishing_until IS NOT NULL{mine}",
        params,
    )
    return result.rowcount


async def set_message_ids(db: Executor, newsletter_id: int, message_ids: Sequence[int]) -> None:
    await db.execute(
        "UPDATE newsletters SET message_ids = ? WHERE id = ?", (json.dumps(list(message_ids)), newsletter_id)
    )


async def list_published(
    db: Executor, guild_id: int, limit: int = 25, offset: int = 0
) -> list[NewsletterRow]:
    """Published newsletters, latest first; ``limit`` below 0: all of them (PostgreSQL refuses SQLite's
    LIMIT -1, and SQLite has no OFFSET without LIMIT, so "all" is a limit no server reaches)."""
    rows = await db.fetchall(
        f"SELECT {_NL_COLUMNS} FROM newsletters WHERE guild_id = ? AND status = 'published' "
        "ORDER BY published_at DESC, id DESC LIMIT ? OFFSET ?",
        (guild_id, limit if limit >= 0 else 2**62, offset),
    )
    return [_newsletter(r) for r in rows]


async def count_published(db: Executor, guild_id: int) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) AS n FROM newsletters WHERE guild_id = ? AND status = 'published'", (guild_id,)
    )
    return int(row["n"]) if row else 0


async def published_for_screening(db: Executor, guild_id: int, screening_id: int) -> NewsletterRow | None:
    """The newsletter already published for this installment (its screening), if any."""
    row = await db.fetchone(
        f"SELECT {_NL_COLUMNS} FROM newsletters WHERE guild_id = ? AND screening_id = ? AND status = 'published' "
        "ORDER BY published_at, id LIMIT 1",
        (guild_id, screening_id),
    )
    return _newsletter(row) if row else None


async def list_drafts(db: Executor, guild_id: int, limit: int = 25) -> list[NewsletterRow]:
    rows = await db.fetchall(
        f"SELECT {_NL_COLUMNS} FROM newsletters WHERE guild_id = ? AND status = 'draft' "
        "ORDER BY created_at DESC, id DESC LIMIT ?",
        (guild_id, limit),
    )
    return [_newsletter(r) for r in rows]


async def since_marker(db: Executor, guild_id: int) -> int:
    """Where the next newsletter's Basil's Corner starts: just after what the last published one covered."""
    row = await db.fetchone(
        "SELECT MAX(covers_until) AS until FROM newsletters WHERE guild_id = ? AND status = 'published'",
        (guild_id,),
    )
    if row is None or row["until"] is None:
        return 0
    return int(row["until"]) + 1
