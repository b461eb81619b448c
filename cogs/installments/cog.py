"""Installments (the club's queue of films) and teasers: the commands and the screening events.

``/installment add|list|move|remove|current|done`` keep the queue; ``/teaser settings|now|schedule``
drive the teasers. The work (the queue, linking screenings, queueing and sending teasers) is
:class:`cogs.installments.service.InstallmentService` (``bot.installments``); this module reads and replies.

Screenings are followed through the screenings cog's events:
- ``screening_scheduled``: a screening of a queued film links to the earliest unlinked installment of
  that film, and its before-teasers are queued;
- ``screening_rescheduled``: its teasers move (prefix cancel + new keys, which carry the due time);
- ``screening_cancelled``: its teasers are cancelled and the installment is unlinked;
- ``screening_finished``: its installment is marked watched and a post-credits teaser is queued
  (and, should the bot stop before that happens, at the next start: ``InstallmentService.reconcile``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import moderator_only, require_guild, require_member_can_post
from bot.domain import installments as dom
from bot.domain.films import Film
from bot.domain.timeparse import format_full
from bot.render import clip, plural, ts
from bot.transformers import FilmOption, When
from bot.ui import send_pages
from cogs.installments import views
from cogs.installments.service import InstallmentService
from db.installments import TeaserSettings
from db.screenings import Screening

CustomWhen = app_commands.Transform[datetime, When(max_ahead=dom.MAX_CUSTOM_AHEAD)]


class Installments(commands.Cog):
    installment = app_commands.Group(
        name="installment", description="The club's queue of films, in order", guild_only=True
    )
    teaser = app_commands.Group(name="teaser", description="Teasers for the next installment", guild_only=True)

    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        self.service: InstallmentService = bot.installments

    # autocomplete ---------------------------------------------------------------------
    async def queued_autocomplete(
        self, interaction: discord.Interaction[FilmClubBot], current: str
    ) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        needle = current.strip().lower().lstrip("#")
        out: list[app_commands.Choice[int]] = []
        for inst in await self.service.queue(interaction.guild_id):
            name = clip(f"#{inst.id} · {inst.position}. {inst.label}", 100)
            if not needle or needle in name.lower():
                out.append(app_commands.Choice(name=name, value=inst.id))
        return out[:25]

    # /installment ------------------------------------------------------------------------
    @installment.command(name="add", description="Moderators: add a film to the queue")
    @app_commands.describe(
        film="A film from the catalogue (or any title, with its year)",
        position="Where in the queue (1 = next up); the end if left out",
        note="A short note shown in the queue",
        year="The film's year, for films not in the catalogue",
    )
    @moderator_only()
    async def add(
        self,
        interaction: discord.Interaction[FilmClubBot],
        film: app_commands.Transform[Film, FilmOption],
        position: int | None = None,
        note: str | None = None,
        year: int | None = None,
    ) -> None:
        guild_id = require_guild(interaction)
        inst, where, size, screening = await self.service.add(
            guild_id, film, note=dom.check_note(note), position=position, added_by=interaction.user.id
        )
        text = f"Added {views.label(inst)} to the queue as #{inst.id}, at position {where} of {size}."
        if screening is not None:
            text += f" Linked to its screening on {ts(screening.start, 'F')}."
        await interaction.response.send_message(text)

    @installment.command(name="list", description="The queue, with linked screenings and their times")
    async def list_(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        require_member_can_post(interaction)
        items, watched, screenings = await self.service.queue_with_screenings(guild_id)
        await send_pages(interaction, views.queue_pages(items, watched, screenings), ephemeral=False)

    @installment.command(name="move", description="Moderators: move an installment to another position")
    @app_commands.describe(id="The installment's id (see /installment list)", position="Its new position (1 = next up)")
    @app_commands.autocomplete(id=queued_autocomplete)
    @moderator_only()
    async def move(self, interaction: discord.Interaction[FilmClubBot], id: int, position: int) -> None:
        inst = await self.service.move(require_guild(interaction), id, position)
        if inst.position == position:
            text = f"{views.label(inst)} (#{inst.id}) is already at position {position}; nothing changed."
        else:
            text = f"Moved {views.label(inst)} (#{inst.id}) from position {inst.position} to position {position}."
        await interaction.response.send_message(text)

    @installment.command(name="remove", description="Moderators: take an installment out of the queue")
    @app_commands.describe(id="The installment's id (see /installment list)")
    @app_commands.autocomplete(id=queued_autocomplete)
    @moderator_only()
    async def remove(self, interaction: discord.Interaction[FilmClubBot], id: int) -> None:
        inst, cancelled = await self.service.remove(require_guild(interaction), id)
        where = "the queue" if inst.is_queued else "the watched list"
        text = f"Removed {views.label(inst)} (#{inst.id}) from {where}."
        if cancelled:
            text += f" Cancelled {plural(cancelled, 'teaser')} for it."
        await interaction.response.send_message(text)

    @installment.command(name="current", description="What the club is on now, and what comes next")
    async def current(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        require_member_can_post(interaction)
        items = await self.service.queue(guild_id)
        first, second = dom.current_and_next([i.id for i in items])
        by_id = {i.id: i for i in items}
        if first is None:
            watched = await self.service.watched_count(guild_id)
            await interaction.response.send_message(
                dom.WRAP_TEXT if watched else "The queue is empty. Moderators can add films with `/installment add`."
            )
            return
        embeds = [await self.service.card(by_id[first], title_prefix="Now: ")]
        if second is not None:
            nxt = by_id[second]
            embeds.append(views.then_embed(nxt, await self.service.next_screening(nxt)))
        await interaction.response.send_message(embeds=embeds)

    @installment.command(name="done", description="Moderators: mark the current installment watched and move on")
    @moderator_only()
    async def done(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        inst, now_on = await self.service.mark_current_watched(require_guild(interaction))
        text = f"Marked {views.label(inst)} watched."
        text += f" Now on: {views.label(now_on)}." if now_on is not None else " " + dom.WRAP_TEXT
        await interaction.response.send_message(text)

    # /teaser ----------------------------------------------------------------------------
    @teaser.command(name="settings", description="Moderators: when teasers go out before a screening")
    @app_commands.describe(
        offsets="How long before a screening, e.g. 7d,1d (or off)",
        post_credits="Post a teaser for the next installment when a screening ends",
    )
    @moderator_only()
    async def settings(
        self,
        interaction: discord.Interaction[FilmClubBot],
        offsets: app_commands.Range[str, 1, 60] | None = None,
        post_credits: bool | None = None,
    ) -> None:
        guild_id = require_guild(interaction)
        current = await self.service.teaser_settings(guild_id)
        if offsets is None and post_credits is None:
            await interaction.response.send_message(views.settings_text(current), ephemeral=True)
            return
        new = TeaserSettings(
            guild_id,
            dom.normalize_offsets(offsets) if offsets is not None else current.offsets,
            post_credits if post_credits is not None else current.post_credits,
        )
        queued = await self.service.save_teaser_settings(new, current)
        text = "Saved. " + views.settings_text(new)
        if queued:
            text += f" Queued {plural(queued, 'teaser')} for upcoming screenings."
        await interaction.response.send_message(text, ephemeral=True)

    @teaser.command(name="now", description="Moderators: post a teaser for the next installment right away")
    @moderator_only()
    async def now(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        assert interaction.guild is not None
        channel_id = await self.service.announcements_for(interaction.guild)
        subject = await self.service.teaser_now(guild_id, channel_id, interaction.id)
        what = f"a teaser for {views.label(subject)}" if subject else "a \"that's a wrap\" post (the queue is empty)"
        await interaction.response.send_message(f"Posting {what} in <#{channel_id}> now.", ephemeral=True)

    @teaser.command(name="schedule", description="Moderators: a custom teaser at a given time")
    @app_commands.describe(when="When, e.g. fri 8pm, tomorrow 18:00, in 3 days", text="What the teaser says")
    @moderator_only()
    async def schedule(self, interaction: discord.Interaction[FilmClubBot], when: CustomWhen, text: str) -> None:
        guild_id = require_guild(interaction)
        assert interaction.guild is not None
        body = dom.check_custom_text(text)
        channel_id = await self.service.announcements_for(interaction.guild)
        post = await self.service.custom_teaser(guild_id, channel_id, interaction.id, when, body)
        await interaction.response.send_message(
            f"Scheduled a custom teaser (post #{post.id}) for {format_full(when)} in <#{channel_id}>. "
            "`/schedule cancel` takes it back.",
            ephemeral=True,
        )

    # screening events ----------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_screening_scheduled(self, screening: Screening) -> None:
        await self.service.screening_scheduled(screening)

    @commands.Cog.listener()
    async def on_screening_rescheduled(self, screening: Screening, *args: Any) -> None:
        await self.service.screening_rescheduled(screening)

    @commands.Cog.listener()
    async def on_screening_cancelled(self, screening: Screening, *args: Any) -> None:
        await self.service.screening_cancelled(screening)

    @commands.Cog.listener()
    async def on_screening_finished(self, screening: Screening, *args: Any) -> None:
        await self.service.screening_finished(screening)


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(Installments(bot))
