"""Placeholder: the spreadsheet feature is being built. Replaced by the feature's cog."""

from __future__ import annotations

from bot.app import FilmClubBot


async def setup(bot: FilmClubBot) -> None:
    return None
