"""`/letterboxd import` and `/letterboxd export`: a member's Letterboxd films in and out of the club.

The cog reads the attachment (one size rule: :mod:`bot.attachments`), asks
:class:`cogs.spreadsheet.service.SpreadsheetService` (``bot.spreadsheet``) to read and apply it, and replies
with the summary drawn in :mod:`cogs.spreadsheet.views`. The import rule is in the service's docstring.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.attachments import check_size, read_attachment
from bot.checks import require_guild
from bot.domain.letterboxd import HINT, MAX_BYTES
from bot.render import plural
from cogs.spreadsheet import views
from cogs.spreadsheet.service import SpreadsheetService

Interaction = discord.Interaction[FilmClubBot]

TOO_BIG = "A Letterboxd export is much smaller: " + HINT


class Letterboxd(commands.Cog):
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        self.service: SpreadsheetService = bot.spreadsheet

    letterboxd = app_commands.Group(
        name="letterboxd", description="Bring your Letterboxd films in, or take your club ratings out", guild_only=True
    )

    @letterboxd.command(name="import", description="Import ratings.csv, diary.csv or watched.csv from Letterboxd")
    @app_commands.describe(file="A CSV file from the ZIP Letterboxd sends you (Settings → Data → Export)")
    async def import_(self, interaction: Interaction, file: discord.Attachment) -> None:
        guild_id = require_guild(interaction)
        user_id = interaction.user.id
        check_size(file, MAX_BYTES, TOO_BIG)
        with self.service.import_slot(guild_id, user_id):
            await interaction.response.defer(ephemeral=True, thinking=True)
            data = await read_attachment(file, MAX_BYTES, TOO_BIG)
            rows, plan = await self.service.import_letterboxd(guild_id, user_id, data, file.filename)
            await interaction.followup.send(views.import_summary(file.filename, rows, plan), ephemeral=True)

    @letterboxd.command(name="export", description="Your club ratings as a CSV that Letterboxd's importer accepts")
    async def export(self, interaction: Interaction) -> None:
        guild_id = require_guild(interaction)
        rows = await self.service.letterboxd_rows(guild_id, interaction.user.id)
        await interaction.response.send_message(
            f"Your {plural(len(rows), 'club rating')}, one thumb as one star. Upload it at letterboxd.com/import.",
            file=views.letterboxd_file(rows),
            ephemeral=True,
        )


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(Letterboxd(bot))
