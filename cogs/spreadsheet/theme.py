"""The theme shelf: `/theme set title films`, `/theme repost`, `/theme show`, `/theme clear`.

A moderator shelves a few films under a title (films separated by ``;``). The shelf is posted in
the announcements channel (pinned when the bot may pin) and shown by `/theme show`. Each film
shows whether the club watched it and its next screening (with a link to the announcement); the
select menu under the shelf opens a film's catalogue card (a ``DynamicItem``, so it keeps
working after a restart). The shelf message is refreshed when a screening of a shelved film is
scheduled, moved, cancelled or finishes.

The cog reads the input and replies; :class:`cogs.spreadsheet.service.SpreadsheetService`
(``bot.spreadsheet``) posts, stores, refreshes and retires the shelf; :mod:`cogs.spreadsheet.views` draws it.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import moderator_only, require_guild
from bot.domain.films import format_choice, load_catalogue
from bot.domain.screenings import Screening
from bot.domain.theme import check_title, complete_shelf, parse_shelf
from bot.errors import UserError
from bot.render import clip, escape
from cogs.spreadsheet import views
from cogs.spreadsheet.service import SpreadsheetService

Interaction = discord.Interaction[FilmClubBot]


class ThemeShelf(commands.Cog):
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        self.service: SpreadsheetService = bot.spreadsheet

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(views.ShelfCardSelect)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(views.ShelfCardSelect)

    theme = app_commands.Group(name="theme", description="The club's theme shelf", guild_only=True)

    # -- screening events and the shelf message (the service does the work)

    @commands.Cog.listener()
    async def on_screening_finished(self, screening: Screening) -> None:
        await self.service.screening_changed(screening)

    @commands.Cog.listener()
    async def on_screening_scheduled(self, screening: Screening) -> None:
        await self.service.screening_changed(screening)

    @commands.Cog.listener()
    async def on_screening_rescheduled(self, screening: Screening) -> None:
        await self.service.screening_changed(screening)

    @commands.Cog.listener()
    async def on_screening_cancelled(self, screening: Screening) -> None:
        await self.service.screening_changed(screening)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        if payload.guild_id is not None:
            await self.service.message_deleted(payload.guild_id, payload.message_id)

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        if payload.guild_id is not None:
            for message_id in payload.message_ids:
                await self.service.message_deleted(payload.guild_id, message_id)

    # -- commands

    @theme.command(name="set", description="Moderators: shelve films under a theme (films separated by ;)")
    @app_commands.describe(title="The theme, e.g. Robots with feelings", films="e.g. Her (2013); Ex Machina; WALL·E")
    @moderator_only()
    async def set_(self, interaction: Interaction, title: str, films: str) -> None:
        require_guild(interaction)
        guild = interaction.guild
        assert guild is not None
        name = check_title(title)
        shelf = parse_shelf(films)
        channel = await self.service.shelf_channel(guild)
        await interaction.response.defer(ephemeral=True, thinking=True)
        pinned, pin_note = await self.service.set_shelf(
            channel, name, shelf, set_by=interaction.user.id, actor=str(interaction.user)
        )
        listed = ", ".join(escape(format_choice(f)) for f in shelf)
        where = f"{channel.mention}{' and pinned' if pinned else ''}"
        text = f"Shelf **{escape(name)}** posted in {where}: {listed}.{pin_note}"
        await interaction.followup.send(clip(text, 2000), ephemeral=True)

    @theme.command(name="repost", description="Moderators: post the current shelf again (e.g. after it was deleted)")
    @moderator_only()
    async def repost(self, interaction: Interaction) -> None:
        guild_id = require_guild(interaction)
        guild = interaction.guild
        assert guild is not None
        theme = await self.service.theme(guild_id)
        if theme is None:
            raise UserError("There's no theme shelf to post. Set one with `/theme set`.")
        channel = await self.service.shelf_channel(guild)
        await interaction.response.defer(ephemeral=True, thinking=True)
        pinned, pin_note = await self.service.repost(channel, theme, str(interaction.user))
        where = f"{channel.mention}{' and pinned' if pinned else ''}"
        await interaction.followup.send(
            clip(f"Shelf **{escape(theme.title)}** posted again in {where}.{pin_note}", 2000), ephemeral=True
        )

    @set_.autocomplete("films")
    async def _films_choices(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=c, value=c) for c in complete_shelf(current, load_catalogue())]

    @theme.command(name="show", description="The current theme shelf")
    async def show(self, interaction: Interaction) -> None:
        guild_id = require_guild(interaction)
        theme = await self.service.theme(guild_id)
        if theme is None:
            raise UserError("There's no theme shelf right now. A moderator can set one with `/theme set`.")
        embed = views.add_posted_field(await self.service.shelf_embed(theme), theme, guild_id)
        await interaction.response.send_message(embed=embed, view=views.shelf_view(theme), ephemeral=True)

    @theme.command(name="clear", description="Moderators: take the theme shelf down")
    @moderator_only()
    async def clear(self, interaction: Interaction) -> None:
        old = await self.service.clear(require_guild(interaction))
        if old is None:
            raise UserError("There's no theme shelf to clear.")
        await interaction.response.send_message(f"Cleared the shelf **{escape(old.title)}**.", ephemeral=True)


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(ThemeShelf(bot))
