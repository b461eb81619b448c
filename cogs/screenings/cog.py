"""Screenings (watch parties): `/screening`, `/remind me`, `/rate`, `/ratings`, `/film info`.

Hooks for other features: the bot dispatches custom events with the :class:`db.screenings.Screening`
as it is after the change. Listen in another cog with ``@commands.Cog.listener()``:

- ``on_screening_scheduled(screening)``: created and announced
- ``on_screening_rescheduled(screening)``: moved (``screening.starts_at`` is the new start)
- ``on_screening_cancelled(screening)``
- ``on_screening_finished(screening)``: start + runtime has passed (fired once, by a scheduled post)

Everything else goes through ``bot.screenings`` (:class:`cogs.screenings.service.ScreeningService`):
the commands here read input and reply. The scheduled posts of a screening all have keys starting with
``screening:<id>:`` (see ``cogs/screenings/service.py``).
"""

from __future__ import annotations

import io
import logging
from datetime import datetime

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import is_moderator, moderator_only, require_guild
from bot.domain import screenings as rules
from bot.domain.films import Film
from bot.domain.offsets import parse_offsets
from bot.errors import UserError
from bot.render import clip, escape, plural, ts_full
from bot.transformers import FilmOption, When
from cogs.screenings.members import MemberCommands
from cogs.screenings.series_commands import SeriesCommands, screenings_channel
from cogs.screenings.views import RateButton, RsvpButton, info_embed
from db.screenings import CANCELLED, FINISHED, SCHEDULED, Screening

log = logging.getLogger(__name__)

Interaction = discord.Interaction[FilmClubBot]
FilmChoice = app_commands.Transform[Film, FilmOption]
StartsAt = app_commands.Transform[datetime, When(max_ahead=rules.MAX_AHEAD)]


MAX_CLASH_LINES = 3


def clash_lines(clashes: list[Screening], where: str) -> list[str]:
    """The "two screenings at once" warnings (a few, then a count), for the moderator's reply."""
    lines = [
        f"⚠️ Heads-up: **{escape(other.label)}** (#{other.id}) is also on in {where} at {ts_full(other.starts_at)}. "
        "Both are scheduled; cancel one if that was a mistake."
        for other in clashes[:MAX_CLASH_LINES]
    ]
    if len(clashes) > MAX_CLASH_LINES:
        lines.append(f"⚠️ …and {plural(len(clashes) - MAX_CLASH_LINES, 'more screening')} at the same time.")
    return lines


class Screenings(SeriesCommands, MemberCommands):
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        self.service = bot.screenings
        self.series = bot.series

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(RsvpButton, RateButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(RsvpButton, RateButton)

    # ------------------------------------------------------------------ listeners
    @commands.Cog.listener()
    async def on_socket_raw_receive(self, msg: str | bytes) -> None:
        """Every gateway frame (the bot enables discord.py's debug events): "Interested" on a native event."""
        await self.service.on_gateway_frame(msg)

    @commands.Cog.listener()
    async def on_screening_finished(self, s: Screening) -> None:
        await self.series.after_night(s)

    @commands.Cog.listener()
    async def on_screening_cancelled(self, s: Screening) -> None:
        await self.series.after_night(s)  # a night cancelled on its own: the series announces the next one

    @commands.Cog.listener()
    async def on_screening_rescheduled(self, s: Screening) -> None:
        await self.series.after_night(s)

    @commands.Cog.listener()
    async def on_installment_added(self, guild_id: int) -> None:
        filled = await self.series.fill_to_be_announced(guild_id)
        if filled:
            log.info("series in guild %s: %d night(s) to be announced got a film", guild_id, filled)

    # ------------------------------------------------------------------ /screening
    screening = app_commands.Group(name="screening", description="Watch parties", guild_only=True)
    screening.add_command(SeriesCommands.series_group)  # /screening series ... (cogs/screenings/series_commands.py)

    @screening.command(name="schedule", description="Moderators: schedule a watch party and announce it")
    @app_commands.describe(
        film="The film (pick from the list, or type a title and give its year)",
        when="When it starts, e.g. `fri 8pm`, `tomorrow 20:00`, `2026-03-06 19:30`",
        year="The film's year, for films not in the catalogue",
        runtime="Runtime in minutes (taken from the catalogue when left out)",
        where="Where you watch (shown on the announcement and the Discord event)",
        voice_channel="A voice or stage channel: the Discord event happens there",
        notes="Anything else people should know",
        discussion_after="How long after the end the discussion thread opens (default 12h)",
        discord_event="Also create a Discord event for it (default: yes)",
    )
    @moderator_only()
    async def schedule(
        self,
        interaction: Interaction,
        film: FilmChoice,
        when: StartsAt,
        year: app_commands.Range[int, 1870, 2100] | None = None,
        runtime: app_commands.Range[int, 1, 1440] | None = None,
        where: app_commands.Range[str, 1, 100] | None = None,
        voice_channel: discord.VoiceChannel | discord.StageChannel | None = None,
        notes: app_commands.Range[str, 1, 1000] | None = None,
        discussion_after: str | None = None,
        discord_event: bool = True,
    ) -> None:
        guild_id = require_guild(interaction)
        guild = interaction.guild
        assert guild is not None
        settings = await self.bot.settings.get(guild_id)
        channel = screenings_channel(guild, settings.screenings_channel_id, "scheduled")
        chosen = film
        minutes = rules.check_runtime(runtime or chosen.runtime or rules.DEFAULT_RUNTIME)
        start = when
        delay = rules.check_discussion_delay(parse_offsets(discussion_after) if discussion_after is not None else None)
        where, notes = rules.clean_text(where), rules.clean_text(notes)
        starts_at = int(start.timestamp())
        clashes = await self.service.clashes(guild_id, channel.id, starts_at, minutes)
        await interaction.response.defer(ephemeral=True, thinking=True)
        if discord_event and self.service.can_make_events(guild, voice_channel):
            await self.service.check_event_room(guild)  # refuses at Discord's limit before anything is posted
        s, event_id, problem = await self.service.announce(
            guild, channel, film_key=chosen.key, title=chosen.title, year=chosen.year, runtime=minutes,
            starts_at=starts_at, created_by=interaction.user.id, reminder_offsets=settings.reminder_offsets,
            location=where, voice_channel=voice_channel, notes=notes, discussion_delay=int(delay.total_seconds()),
            discord_event=discord_event,
        )
        lines = [
            f"Scheduled **{escape(s.label)}** (screening #{s.id}) for {ts_full(s.starts_at)} in {channel.mention}."
        ]
        if event_id is not None:
            lines.append("The Discord event is up too.")
        elif not discord_event:
            lines.append("No Discord event, as you asked.")
        if problem:
            lines.append(f"⚠️ {problem}")
        lines.extend(clash_lines(clashes, channel.mention))
        await interaction.followup.send("\n".join(lines), ephemeral=True)

    @screening.command(name="list", description="Upcoming screenings")
    async def list_(self, interaction: Interaction) -> None:
        guild_id = require_guild(interaction)
        embed = await self.service.list_page(guild_id)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @screening.command(name="info", description="Details of a screening (moderators also see who's coming)")
    @app_commands.describe(id="The screening's number (start typing for a list)")
    async def info(self, interaction: Interaction, id: app_commands.Range[int, 1]) -> None:
        guild_id = require_guild(interaction)
        s = await self.service.own(guild_id, id)
        lists = raters = None
        if await is_moderator(interaction):
            lists = await self.service.lists(s.id)
            if s.status == FINISHED:
                raters = await self.service.raters(s)
        embed = info_embed(s, await self.service.counts(s.id), lists=lists, raters=raters)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @screening.command(name="cancel", description="Moderators: cancel a screening and its reminders")
    @app_commands.describe(id="The screening's number", reason="Told to everyone who said Going")
    @moderator_only()
    async def cancel(
        self, interaction: Interaction, id: app_commands.Range[int, 1],
        reason: app_commands.Range[str, 1, 300] | None = None,
    ) -> None:
        guild_id = require_guild(interaction)
        s = await self.service.own(guild_id, id)
        if s.status == CANCELLED:
            raise UserError(f"Screening #{id} is already cancelled.")
        if s.status == FINISHED:
            raise UserError(f"Screening #{id} has already finished; there's nothing to cancel.")
        reason = rules.clean_text(reason)
        await interaction.response.defer(ephemeral=True, thinking=True)
        why = f" Reason: {escape(reason)}" if reason else ""
        text = f"❌ **{escape(s.label)}** on {ts_full(s.starts_at)} is cancelled.{why}"
        done = await self.service.cancel(s, reason, text)
        if done is None:
            raise UserError(f"Screening #{id} was just cancelled or finished by someone else; nothing changed.")
        dropped, told = done
        await interaction.followup.send(
            f"Cancelled **{escape(s.label)}** (#{s.id}); dropped {plural(len(dropped), 'pending post')}"
            + (f" and told {plural(len(told), 'member')} who said Going." if told else "."),
            ephemeral=True,
        )

    @screening.command(name="reschedule", description="Moderators: move a screening to another time")
    @app_commands.describe(id="The screening's number", when="The new start, e.g. `sat 8pm`")
    @moderator_only()
    async def reschedule(self, interaction: Interaction, id: app_commands.Range[int, 1], when: StartsAt) -> None:
        guild_id = require_guild(interaction)
        s = await self.service.own(guild_id, id)
        if s.status == CANCELLED:
            raise UserError(f"Screening #{id} was cancelled; schedule a new one with `/screening schedule`.")
        if s.status != SCHEDULED:
            raise UserError(f"Screening #{id} has already started, so it can't be moved.")
        settings = await self.bot.settings.get(guild_id)
        starts_at = int(when.timestamp())
        if starts_at == s.starts_at:
            raise UserError(f"Screening #{id} already starts at {ts_full(starts_at)}.")
        clashes = await self.service.clashes(guild_id, s.channel_id, starts_at, s.runtime, exclude_id=s.id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        s, problem = await self.service.reschedule(s, starts_at, settings.reminder_offsets)
        lines = [f"Moved **{escape(s.label)}** (#{s.id}) to {ts_full(s.starts_at)}; reminders follow it."]
        if problem:
            lines.append(f"⚠️ {problem}")
        lines.extend(clash_lines(clashes, f"<#{s.channel_id}>"))
        await interaction.followup.send("\n".join(lines), ephemeral=True)

    @screening.command(name="ics", description="Get a calendar file (.ics) for a screening or a series")
    @app_commands.describe(id="The screening's number", series="Or a series' number: all its nights")
    async def ics(
        self, interaction: Interaction, id: app_commands.Range[int, 1] | None = None,
        series: app_commands.Range[int, 1] | None = None,
    ) -> None:
        guild_id = require_guild(interaction)
        if (id is None) == (series is None):
            raise UserError("Give either `id` (one screening) or `series` (every night of a series), not both.")
        if series is not None:
            item = await self.series.get_or_error(guild_id, series)
            data = await self.series.ics(item)
            await interaction.response.send_message(
                f"📅 Series #{item.id}, {escape(item.name)}: open the file to add every night to your calendar "
                "(skipped nights are left out).",
                file=discord.File(io.BytesIO(data), filename=f"series-{item.id}.ics"), ephemeral=True,
            )
            return
        assert id is not None
        s = await self.service.own(guild_id, id)
        if s.status == CANCELLED:
            raise UserError(f"Screening #{id} was cancelled, so there's nothing to put in your calendar.")
        data = self.service.ics(s)
        file = discord.File(io.BytesIO(data), filename=f"screening-{s.id}.ics")
        await interaction.response.send_message(
            f"📅 **{escape(s.label)}**, {ts_full(s.starts_at)}: open the file to add it to your calendar.",
            file=file, ephemeral=True,
        )

    @ics.autocomplete("series")
    async def _ics_series_ac(self, interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        return [
            app_commands.Choice(name=clip(name, 100), value=value)
            for value, name in await self.series.choose_series(interaction.guild_id, current)
        ]

    @info.autocomplete("id")
    @cancel.autocomplete("id")
    @reschedule.autocomplete("id")
    @ics.autocomplete("id")
    async def _id_ac(self, interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        items = await self.service.upcoming(interaction.guild_id, limit=25)
        needle = current.strip().lower().lstrip("#")
        return [
            app_commands.Choice(name=clip(f"#{s.id} {s.label}, {s.start:%Y-%m-%d %H:%M} UTC", 100), value=s.id)
            for s in items if not needle or needle in str(s.id) or needle in s.title.lower()
        ][:25]


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(Screenings(bot))
