"""Screenings, series side: `/screening series create|list|info|skip|cancel|end`.

A mixin of the ``Screenings`` cog (``cogs/screenings/cog.py``): the ``series`` group is added under
``/screening`` there, and discord.py copies its commands with the cog. The commands read their options, call
:class:`cogs.screenings.series.SeriesService` and reply; the work (and every query) is the service's.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import configured_channel, moderator_only, require_guild
from bot.domain import screenings as rules
from bot.domain import series as series_rules
from bot.domain.dates import parse_date
from bot.domain.films import resolve_film
from bot.domain.recurrence import parse_recurrence
from bot.errors import UserError
from bot.render import clip, escape, plural, ts_full
from bot.transformers import catalogue_choices
from cogs.screenings.series import SeriesService
from cogs.screenings.views import series_info_embed, series_line, series_list_embed

Interaction = discord.Interaction[FilmClubBot]

CHANNEL_NEEDS = (
    "view_channel", "send_messages", "embed_links", "read_message_history",
    "create_public_threads", "send_messages_in_threads",
)


def screenings_channel(guild: discord.Guild, channel_id: int | None, what: str) -> discord.TextChannel:
    """The screenings channel, once it is sure the bot can announce there (else a UserError saying what to fix)."""
    return configured_channel(
        guild, channel_id, what="screenings channel", setting="screenings", doing="announce screenings",
        needs=CHANNEL_NEEDS,
    )


class SeriesCommands(commands.Cog):
    """Not loaded on its own: ``Screenings`` inherits these commands and adds the group under ``/screening``."""

    bot: FilmClubBot
    series: SeriesService

    series_group = app_commands.Group(name="series", description="Club nights on a repeating rule")

    @series_group.command(name="create", description="Moderators: club nights on a repeating rule")
    @app_commands.describe(
        when="How it repeats, e.g. `every thu 8pm`, `every other fri 20:00`, `monthly first sat 7pm`",
        film_source="`queue` (each night the next installment) or one film for every night",
        where="Where you watch (shown on each night and the Discord event)",
        voice_channel="A voice or stage channel: the Discord event happens there",
        discord_event="Also a Discord event (default: yes)",
        days_ahead="Announce nights this many days ahead (default: only the next night)",
    )
    @moderator_only()
    async def series_create(
        self,
        interaction: Interaction,
        when: app_commands.Range[str, 1, 100],
        film_source: app_commands.Range[str, 1, 200],
        where: app_commands.Range[str, 1, 100] | None = None,
        voice_channel: discord.VoiceChannel | discord.StageChannel | None = None,
        discord_event: bool = True,
        days_ahead: app_commands.Range[int, 1, series_rules.MAX_DAYS_AHEAD] | None = None,
    ) -> None:
        guild_id = require_guild(interaction)
        guild = interaction.guild
        assert guild is not None
        settings = await self.bot.settings.get(guild_id)
        channel = screenings_channel(guild, settings.screenings_channel_id, "created")
        rule = parse_recurrence(when, settings.timezone)
        source = film_source.strip()
        film = None if source.lower() == series_rules.FILM_QUEUE else resolve_film(rules.check_title(source))
        ahead = series_rules.check_days_ahead(days_ahead)
        await interaction.response.defer(ephemeral=True, thinking=True)
        made, notes = await self.series.create(
            guild, channel, rule=rule, film=film, location=rules.clean_text(where), voice_channel=voice_channel,
            discord_event=discord_event, days_ahead=ahead, created_by=interaction.user.id,
        )
        lines = [f"Started series #{made.id}: {escape(made.name)}, films from {escape(made.film_label)}."]
        for s in (await self.series.announced(made))[:5]:
            lines.append(f"• {ts_full(s.starts_at)}: **{escape(s.label)}** (screening #{s.id}) in {channel.mention}")
        if made.event_mode == "recurring" and made.event_id:
            lines.append("One repeating Discord event follows the nights.")
        lines.extend(f"⚠️ {note}" for note in notes)
        await interaction.followup.send("\n".join(lines), ephemeral=True)

    @series_create.autocomplete("film_source")
    async def _series_film_ac(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        queue = app_commands.Choice(name="queue: each night the next film of the installment queue", value="queue")
        return [queue, *catalogue_choices(current)][:25]

    @series_group.command(name="list", description="The server's series of club nights")
    async def series_list(self, interaction: Interaction) -> None:
        guild_id = require_guild(interaction)
        lines = [series_line(item, nxt) for item, nxt in await self.series.overview(guild_id)]
        await interaction.response.send_message(embed=series_list_embed(lines), ephemeral=True)

    @series_group.command(name="info", description="A series: its rule, films and next nights")
    @app_commands.describe(id="The series' number")
    async def series_info(self, interaction: Interaction, id: app_commands.Range[int, 1]) -> None:
        guild_id = require_guild(interaction)
        item = await self.series.get_or_error(guild_id, id)
        rows, skipped = await self.series.details(item)
        await interaction.response.send_message(embed=series_info_embed(item, rows, skipped), ephemeral=True)

    @series_group.command(name="skip", description="Moderators: skip one night of a series")
    @app_commands.describe(
        id="The series' number", night="The night's date, e.g. `2026-01-15` (start typing for a list)",
        reason="Told to everyone who said Going",
    )
    @moderator_only()
    async def series_skip(
        self, interaction: Interaction, id: app_commands.Range[int, 1], night: app_commands.Range[str, 1, 40],
        reason: app_commands.Range[str, 1, 300] | None = None,
    ) -> None:
        guild_id = require_guild(interaction)
        item = await self.series.get_or_error(guild_id, id, active=True)
        start = await self.series.find_night(item, night)
        await interaction.response.defer(ephemeral=True, thinking=True)
        announced, told = await self.series.skip(item, start, rules.clean_text(reason))
        text = f"Skipped the night of {ts_full(int(start.timestamp()))} in series #{item.id}."
        if announced:
            text += " Its screening is cancelled" + (
                f" and {plural(told, 'member')} who said Going were told." if told else "."
            )
        await interaction.followup.send(text, ephemeral=True)

    @series_group.command(name="cancel", description="Moderators: cancel a series and its nights to come")
    @app_commands.describe(id="The series' number", reason="Told to everyone who said Going")
    @moderator_only()
    async def series_cancel(
        self, interaction: Interaction, id: app_commands.Range[int, 1],
        reason: app_commands.Range[str, 1, 300] | None = None,
    ) -> None:
        guild_id = require_guild(interaction)
        item = await self.series.get_or_error(guild_id, id, active=True)
        await interaction.response.defer(ephemeral=True, thinking=True)
        nights, told = await self.series.cancel(item, rules.clean_text(reason))
        text = f"Cancelled series #{item.id} and {plural(nights, 'night')} to come"
        text += f"; told {plural(told, 'member')} who said Going." if told else "."
        await interaction.followup.send(text, ephemeral=True)

    @series_group.command(name="end", description="Moderators: end a series after a date")
    @app_commands.describe(id="The series' number", after="The last day with a night, e.g. `2026-03-31`")
    @moderator_only()
    async def series_end(
        self, interaction: Interaction, id: app_commands.Range[int, 1], after: app_commands.Range[str, 1, 40]
    ) -> None:
        guild_id = require_guild(interaction)
        item = await self.series.get_or_error(guild_id, id, active=True)
        zone = self.series.rule_of(item).zone
        today = self.bot.clock.now().astimezone(zone).date()
        last_day = parse_date(after, today)
        if last_day < today:
            raise UserError(f"{last_day.isoformat()} has passed; give today or a later day as the last one.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        cancelled, told, last = await self.series.end(item, self.series.day_end(item, last_day))
        text = f"Series #{item.id} ends after {last_day.isoformat()}."
        text += f" Its last night is {ts_full(int(last.timestamp()))}." if last else " It has no nights left."
        if cancelled:
            text += f" Cancelled {plural(cancelled, 'night')} after that"
            text += f" and told {plural(told, 'member')} who said Going." if told else "."
        await interaction.followup.send(text, ephemeral=True)

    @series_info.autocomplete("id")
    @series_skip.autocomplete("id")
    @series_cancel.autocomplete("id")
    @series_end.autocomplete("id")
    async def _series_ac(self, interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        return [
            app_commands.Choice(name=clip(name, 100), value=value)
            for value, name in await self.series.choose_series(interaction.guild_id, current)
        ]

    @series_skip.autocomplete("night")
    async def _night_ac(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        series_id = getattr(interaction.namespace, "id", None)
        if interaction.guild_id is None or not isinstance(series_id, int):
            return []
        return [
            app_commands.Choice(name=name, value=value)
            for value, name in await self.series.choose_night(interaction.guild_id, series_id, current)
        ]
