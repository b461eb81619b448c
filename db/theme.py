"""The theme shelf (SQL only): one current theme per server and its films, in order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from db.store import Executor


@dataclass(frozen=True)
class ShelfFilm:
    film_key: str
    title: str
    year: int | None

    @property
    def label(self) -> str:
        return f"{self.title} ({self.year})" if self.year else self.title


@dataclass(frozen=True)
class Theme:
    guild_id: int
    title: str
    films: tuple[ShelfFilm, ...]
    set_by: int
    set_at: int
    channel_id: int | None = None
    message_id: int | None = None
    pinned: bool = False


async def set_theme(
    db: Executor, guild_id: int, title: str, films: Sequence[ShelfFilm], *, set_by: int, now: int
) -> Theme:
    """Replace the server's theme (its films too); the shelf message is set later with :func:`set_message`."""
    await db.execute("DELETE FROM themes WHERE guild_id = ?", (guild_id,))
    await db.execute(
        "INSERT INTO themes (guild_id, title, set_by, set_at) VALUES (?, ?, ?, ?)", (guild_id, title, set_by, now)
    )
    await db.executemany(
        "INSERT INTO theme_films (guild_id, position, film_key, title, year) VALUES (?, ?, ?, ?, ?)",
        [(guild_id, i, f.film_key, f.title, f.year) for i, f in enumerate(films)],
    )
    theme = await get_theme(db, guild_id)
    assert theme is not None
    return theme


async def get_theme(db: Executor, guild_id: int) -> Theme | None:
    row = await db.fetchone(
        "SELECT guild_id, title, channel_id, message_id, pinned, set_by, set_at FROM themes WHERE guild_id = ?",
        (guild_id,),
    )
    if row is None:
        return None
    films = await db.fetchall(
        "SELECT film_key, title, year FROM theme_films WHERE guild_id = ? ORDER BY position", (guild_id,)
    )
    return Theme(
        guild_id=row["guild_id"],
        title=row["title"],
        films=tuple(ShelfFilm(str(f["film_key"]), str(f["title"]), f["year"]) for f in films),
        set_by=row["set_by"],
        set_at=row["set_at"],
        channel_id=row["channel_id"],
        message_id=row["message_id"],
        pinned=bool(row["pinned"]),
    )


async def set_message(db: Executor, guild_id: int, channel_id: int, message_id: int, pinned: bool) -> None:
    await db.execute(
        "UPDATE themes SET channel_id = ?, message_id = ?, pinned = ? WHERE guild_id = ?",
        (channel_id, message_id, 1 if pinned else 0, guild_id),
    )


async def forget_message(db: Executor, guild_id: int, message_id: int) -> bool:
    """The shelf message was deleted: forget it (only if it is still the shelf's). True when it was."""
    result = await db.execute(
        "UPDATE themes SET channel_id = NULL, message_id = NULL, pinned = 0 WHERE guild_id = ? AND message_id = ?",
        (guild_id, message_id),
    )
    return result.rowcount == 1


async def clear_theme(db: Executor, guild_id: int) -> Theme | None:
    """Remove the server's theme; returns what was removed (None if there was none)."""
    theme = await get_theme(db, guild_id)
    if theme is not None:
        await db.execute("DELETE FROM themes WHERE guild_id = ?", (guild_id,))
    return theme


async def themes_with_film(db: Executor, film_key: str) -> list[int]:
    """Servers whose shelf holds this film (to refresh the shelf when a screening of it finishes)."""
    rows = await db.fetchall("SELECT DISTINCT guild_id FROM theme_films WHERE film_key = ?", (film_key,))
    return [int(r["guild_id"]) for r in rows]
