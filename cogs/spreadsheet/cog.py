"""The Spreadsheet: `/spreadsheet view|comment|check|uncheck|export`.

Discord does not let a command group and a bare command share a name, so the sheet itself is
``/spreadsheet view [year] [member]`` beside the subcommands.

The commands read the member's input, ask :class:`cogs.spreadsheet.service.SpreadsheetService`
(``bot.spreadsheet``) and reply; the pages, their ◀ / ▶ buttons (``DynamicItem``s: they only answer the
member who opened the sheet, keep working after a restart, and rebuild the page from current data) and the
progress picture are drawn in :mod:`cogs.spreadsheet.views`.
"""

from __future__ import annotations

from datetime import datetime, time

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import moderator_only, require_guild, require_member_can_post
from bot.domain import spreadsheet as sheet_rules
from bot.domain.dates import parse_date
from bot.domain.films import Film, FilmError, format_choice, load_catalogue, resolve_film
from bot.domain.timeparse import TimeParseError
from bot.errors import UserError
from bot.render import clip, escape, plural, ts
from cogs.spreadsheet import views
from cogs.spreadsheet.service import SpreadsheetService

Interaction = discord.Interaction[FilmClubBot]

FILM_OPTION_MAX = 200  # longer than any catalogue title with its year


def sheet_film(text: str) -> Film:
    """The Best Picture nominee a film option names, or a UserError saying why not."""
    if len(text.strip()) > FILM_OPTION_MAX:
        raise UserError(
            f"That film name is {len(text.strip())} characters long; no nominee's title is. Pick a film from the list."
        )
    try:
        film = resolve_film(text)
    except FilmError as exc:
        raise UserError(clip(exc.message, 1000)) from None
    if film.is_custom or not film.is_nominee:
        raise UserError(
            f"{escape(format_choice(film))} isn't a Best Picture nominee, so it isn't on the sheet. "
            "Pick a film from the list."
        )
    return film


async def nominee_choices(current: str) -> list[app_commands.Choice[str]]:
    films = [f for f in load_catalogue().search(current, limit=25) if f.is_nominee]
    return [app_commands.Choice(name=format_choice(f), value=format_choice(f)) for f in films]


class Spreadsheet(commands.Cog):
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        self.service: SpreadsheetService = bot.spreadsheet

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(views.SheetPageButton, views.SheetCounter)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(views.SheetPageButton, views.SheetCounter)

    spreadsheet = app_commands.Group(
        name="spreadsheet", description="The club's journey through the Best Picture nominees", guild_only=True
    )

    @spreadsheet.command(name="view", description="The sheet: every Best Picture nominee, watched marks, thumbs")
    @app_commands.describe(
        year="Open at this ceremony (the year it was held, e.g. 2014 for the films of 2013)",
        member="Show this member's own journey instead of the club's",
    )
    async def view(
        self,
        interaction: Interaction,
        year: int | None = None,
        member: discord.Member | discord.User | None = None,
    ) -> None:
        guild_id = require_guild(interaction)
        require_member_can_post(interaction)
        sheet = await self.service.load_sheet(guild_id, member.id if member else None)
        if not sheet.groups:
            raise UserError(views.NO_SHEET)
        start = sheet.index_of(year) if year is not None else views.first_unfinished(sheet)
        who = views.SheetMember(member.id, member.display_name) if member else None
        content, embed, view = views.sheet_message(sheet, start, interaction.user.id, who)
        picture = await self.service.picture(sheet, who.name if who else None)
        await interaction.response.send_message(content, embed=embed, view=view, file=picture)

    @view.autocomplete("year")
    async def _year_choices(self, interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
        years = sorted(load_catalogue().best_picture_by_ceremony(), reverse=True)
        wanted = [y for y in years if str(y).startswith(current.strip())] if current.strip() else years
        return [app_commands.Choice(name=f"{y} ceremony (films of {y - 1})", value=y) for y in wanted[:25]]

    @spreadsheet.command(name="comment", description="Comment on a film of the sheet (one per film; replaces yours)")
    @app_commands.describe(film="A Best Picture nominee", text="Up to 280 characters")
    async def comment(self, interaction: Interaction, film: str, text: str) -> None:
        guild_id = require_guild(interaction)
        found = sheet_film(film)
        body = sheet_rules.check_comment(text)
        replaced = await self.service.set_comment(guild_id, found, interaction.user.id, body)
        verb = "Comment updated" if replaced else "Comment saved"
        await interaction.response.send_message(
            f"{verb} on **{escape(format_choice(found))}**: “{escape(body)}”", ephemeral=True
        )

    @spreadsheet.command(name="check", description="Moderators: mark a film as watched by the club")
    @app_commands.describe(
        film="A Best Picture nominee",
        date="When the club watched it: 2024-05-01, 1 May 2024, yesterday, fri (default: today)",
    )
    @moderator_only()
    async def check(self, interaction: Interaction, film: str, date: str | None = None) -> None:
        guild_id = require_guild(interaction)
        found = sheet_film(film)
        tz = await self.service.server_tz(guild_id)
        now = self.bot.now_ts()
        watched_at = now
        if date is not None:
            today = datetime.fromtimestamp(now, tz).date()
            try:
                day = parse_date(date, today)
            except TimeParseError as exc:
                raise UserError(exc.message) from None
            if day > today:
                raise UserError(
                    f"{day.isoformat()} is in the future: check a film once the club has watched it "
                    "(leave `date` out for today)."
                )
            watched_at = min(now, int(datetime.combine(day, time(12), tzinfo=tz).timestamp()))
            if day.year < found.year:
                raise UserError(
                    f"{escape(format_choice(found))} came out in {found.year}, so the club can't have watched it "
                    f"on {day.isoformat()}. Give the date of the club's viewing (e.g. `2024-05-01`), or leave it out "
                    "for today."
                )
        sheet = await self.service.check(guild_id, found, watched_at, interaction.user.id)
        await interaction.response.send_message(
            f"✅ Checked **{escape(format_choice(found))}** (watched {ts(watched_at, 'D')}). {sheet.progress_line}.",
            ephemeral=True,
        )

    @spreadsheet.command(name="uncheck", description="Moderators: take the watched mark off a film")
    @app_commands.describe(film="A Best Picture nominee")
    @moderator_only()
    async def uncheck(self, interaction: Interaction, film: str) -> None:
        guild_id = require_guild(interaction)
        found = sheet_film(film)
        sheet = await self.service.uncheck(guild_id, found, interaction.user.id)
        await interaction.response.send_message(
            f"⬜ Unchecked **{escape(format_choice(found))}**. {sheet.progress_line}. "
            "(A screening of it that finishes later checks it again.)",
            ephemeral=True,
        )

    @comment.autocomplete("film")
    @check.autocomplete("film")
    @uncheck.autocomplete("film")
    async def _film_choices(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await nominee_choices(current)

    @spreadsheet.command(name="export", description="The whole sheet as a CSV file (ratings and comments too)")
    async def export(self, interaction: Interaction) -> None:
        guild_id = require_guild(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        sheet, text = await self.service.export(guild_id, interaction.guild)
        await interaction.followup.send(
            f"The sheet: {sheet.progress_line}, {plural(len(sheet.members), 'member')} with ratings or comments.",
            file=views.sheet_csv_file(text),
            ephemeral=True,
        )


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(Spreadsheet(bot))


__all__ = ["Spreadsheet", "nominee_choices", "setup", "sheet_film"]
