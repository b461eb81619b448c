"""Per-server settings."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from db.store import Executor, Row

CHANNEL_FIELDS = (
    "announcements_channel_id",
    "screenings_channel_id",
    "polls_channel_id",
    "trivia_channel_id",
    "basil_channel_id",
)


@dataclass(frozen=True)
class GuildSettings:
    guild_id: int
    announcements_channel_id: int | None = None
    screenings_channel_id: int | None = None
    polls_channel_id: int | None = None
    trivia_channel_id: int | None = None
    basil_channel_id: int | None = None
    moderator_role_id: int | None = None
    timezone: str = "UTC"
    reminder_offsets: str = "1d,1h"
    basil_approval: bool = False


_COLUMNS = [f.name for f in fields(GuildSettings)]


def _from_row(row: Row) -> GuildSettings:
    values = {name: row[name] for name in _COLUMNS}
    values["basil_approval"] = bool(values["basil_approval"])
    return GuildSettings(**values)


class SettingsRepo:
    """Reads are cached in memory; every write goes to the store first."""

    def __init__(self, db: Executor) -> None:
        self._db = db
        self._cache: dict[int, GuildSettings] = {}

    async def get(self, guild_id: int) -> GuildSettings:
        """The server's settings, or the defaults when it was never set up."""
        cached = self._cache.get(guild_id)
        if cached is not None:
            return cached
        row = await self._db.fetchone(
            f"SELECT {', '.join(_COLUMNS)} FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        settings = _from_row(row) if row else GuildSettings(guild_id=guild_id)
        self._cache[guild_id] = settings
        return settings

    async def update(self, guild_id: int, now: int, **changes: object) -> GuildSettings:
        """Apply ``changes`` (column=value) and return the new settings."""
        unknown = set(changes) - set(_COLUMNS[1:])
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        current = await self.get(guild_id)
        new = replace(current, **changes)  # type: ignore[arg-type]
        values = [getattr(new, name) for name in _COLUMNS]
        values[_COLUMNS.index("basil_approval")] = int(new.basil_approval)
        placeholders = ", ".join("?" for _ in _COLUMNS)
        updates = ", ".join(f"{name} = excluded.{name}" for name in _COLUMNS[1:])
        await self._db.execute(
            f"INSERT INTO guild_settings ({', '.join(_COLUMNS)}, updated_at) VALUES ({placeholders}, ?) "
            f"ON CONFLICT(guild_id) DO UPDATE SET {updates}, updated_at = excluded.updated_at",
            (*values, now),
        )
        self._cache[guild_id] = new
        return new

    async def count(self) -> int:
        row = await self._db.fetchone("SELECT COUNT(*) AS n FROM guild_settings")
        return int(row["n"]) if row else 0
