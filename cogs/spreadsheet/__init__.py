"""The Spreadsheet feature: the Best Picture sheet, Letterboxd import/export and the theme-of-the-week shelf."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.spreadsheet import cog, letterboxd, theme

if TYPE_CHECKING:
    from bot.app import FilmClubBot


async def setup(bot: FilmClubBot) -> None:
    await cog.setup(bot)
    await letterboxd.setup(bot)
    await theme.setup(bot)


__all__ = ["setup"]
