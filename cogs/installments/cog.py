"""Installments (the club's queue of films) and teasers: the commands and the screening events.

``/installment add|list|move|remove|current|done`` keep the queue; ``/teaser settings|now|schedule``
drive the teasers. How teasers are rendered, queued and sent lives in :mod:`cogs.installments.teasers`.

Screenings are followed through the screenings cog's events:
- ``screening_scheduled``: a screening of a queued film links to the earliest unlinked installment of
  that film, and its before-teasers are queued;
- ``screening_rescheduled``: its teasers move (prefix cancel + new keys, which carry the due time);
- ``screening_cancelled``: its teasers are cancelled and the installment is unlinked;
- ``screening_finished``: its installment is marked watched and a post-credits teaser is queued
  (and, should the bot stop before that happens, at the next start: ``TeaserService.reconcile``).
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import moderator_only, require_guild, require_member_can_post
from bot.domain import installments as dom
from bot.domain.films import CHOICE_LIMIT, format_choice, load_catalogue, resolve_film
from bot.domain.timeparse import format_full, parse_when
from bot.errors import UserError
from bot.render import CLUB_COLOUR, clip, escape, plural, ts, ts_full
from bot.ui import Paginator
from cogs.installments.teasers import TeaserService, label
from db import installments as repo
from db import scheduled_posts as posts_repo
from db import screenings as screenings_repo
from db.installments import Installment, TeaserSettings
from db.screenings import Screening
from db.store import Executor

log = logging.getLogger(__name__)


class Installments(commands.Cog):
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        self.teasers = TeaserService(bot)

    async def cog_load(self) -> None:
        # Before the scheduler starts: screenings that ended while their end never reached us.
        await self.teasers.reconcile()

    installment = app_commands.Group(
        name="installment", description="The club's queue of films, in order", guild_only=True
    )
    teaser = app_commands.Group(name="teaser", description="Teasers for the next installment", guild_only=True)

    async def _get_own(self, db: Executor, guild_id: int, installment_id: int) -> Installment:
        inst = await repo.get(db, installment_id, guild_id)
        if inst is None:
            raise UserError(
                f"There is no installment #{installment_id} in this server. `/installment list` shows the ids."
            )
        return inst

    # autocomplete ---------------------------------------------------------------------
    async def film_autocomplete(
        self, interaction: discord.Interaction[FilmClubBot], current: str
    ) -> list[app_commands.Choice[str]]:
        films = load_catalogue().search(current, limit=CHOICE_LIMIT)
        return [app_commands.Choice(name=format_choice(f), value=format_choice(f)) for f in films]

    async def queued_autocomplete(
        self, interaction: discord.Interaction[FilmClubBot], current: str
    ) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        needle = current.strip().lower().lstrip("#")
        out: list[app_commands.Choice[int]] = []
        for inst in await repo.queue(self.bot.store, interaction.guild_id):
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
    @app_commands.autocomplete(film=film_autocomplete)
    @moderator_only()
    async def add(
        self,
        interaction: discord.Interaction[FilmClubBot],
        film: app_commands.Range[str, 1, 200],
        position: int | None = None,
        note: str | None = None,
        year: int | None = None,
    ) -> None:
        guild_id = require_guild(interaction)
        chosen = resolve_film(film, year)
        note_text = dom.check_note(note)
        now = self.bot.now_ts()
        async with self.bot.store.transaction() as tx:
            order = [i.id for i in await repo.queue(tx, guild_id)]
            where = dom.check_add_position(position, len(order))
            inst = await repo.add(
                tx, guild_id=guild_id, film_key=chosen.key, title=chosen.title, year=chosen.year,
                runtime=chosen.runtime, note=note_text, position=where, added_by=interaction.user.id, now=now,
            )
            await repo.set_order(tx, guild_id, dom.positions(dom.insert_at(order, inst.id, where)), now)
            screening = await self.teasers.find_unlinked_screening(tx, guild_id, chosen.key)
            if screening is not None:
                await self.teasers.link(tx, inst, screening)
            size = len(order) + 1
        text = f"Added {label(inst)} to the queue as #{inst.id}, at position {where} of {size}."
        if screening is not None:
            text += f" Linked to its screening on {ts(screening.start, 'F')}."
        await interaction.response.send_message(text)

    @installment.command(name="list", description="The queue, with linked screenings and their times")
    async def list_(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        require_member_can_post(interaction)
        pages = await self._queue_pages(guild_id)
        if len(pages) == 1:
            await interaction.response.send_message(embed=pages[0])
        else:
            await interaction.response.send_message(embed=pages[0], view=Paginator(pages, interaction.user.id))

    async def _queue_pages(self, guild_id: int) -> list[discord.Embed]:
        items = await repo.queue(self.bot.store, guild_id)
        watched = await repo.count_watched(self.bot.store, guild_id)
        footer = f"{len(items)} to go · {watched} watched"
        if not items:
            embed = discord.Embed(title="The queue", colour=CLUB_COLOUR, description=(
                "The queue is empty." + (" That's a wrap on everything so far!" if watched else "")
                + " Moderators can add films with `/installment add`."
            ))
            embed.set_footer(text=footer)
            return [embed]
        lines = []
        for inst in items:
            line = f"**{inst.position}.** {label(inst)} · `#{inst.id}`"
            screening = await self.teasers.upcoming_screening(self.bot.store, inst)
            if screening is not None:
                line += f"\n  🎟️ screening {ts_full(screening.start)}"
            if inst.note:
                line += f"\n  📝 {escape(inst.note)}"
            lines.append(line)
        texts = dom.paginate(lines)
        pages = []
        for number, text in enumerate(texts, start=1):
            title = "The queue" + (f" ({number}/{len(texts)})" if len(texts) > 1 else "")
            embed = discord.Embed(title=title, colour=CLUB_COLOUR, description=text)
            embed.set_footer(text=footer)
            pages.append(embed)
        return pages

    @installment.command(name="move", description="Moderators: move an installment to another position")
    @app_commands.describe(id="The installment's id (see /installment list)", position="Its new position (1 = next up)")
    @app_commands.autocomplete(id=queued_autocomplete)
    @moderator_only()
    async def move(self, interaction: discord.Interaction[FilmClubBot], id: int, position: int) -> None:
        guild_id = require_guild(interaction)
        now = self.bot.now_ts()
        async with self.bot.store.transaction() as tx:
            inst = await self._get_own(tx, guild_id, id)
            if not inst.is_queued:
                raise UserError(f"{label(inst)} (#{inst.id}) was already watched; only queued films can move.")
            order = [i.id for i in await repo.queue(tx, guild_id)]
            dom.check_move_position(position, len(order))
            if inst.position != position:
                await repo.set_order(tx, guild_id, dom.positions(dom.move_to(order, inst.id, position)), now)
        if inst.position == position:
            text = f"{label(inst)} (#{inst.id}) is already at position {position}; nothing changed."
        else:
            text = f"Moved {label(inst)} (#{inst.id}) from position {inst.position} to position {position}."
        await interaction.response.send_message(text)

    @installment.command(name="remove", description="Moderators: take an installment out of the queue")
    @app_commands.describe(id="The installment's id (see /installment list)")
    @app_commands.autocomplete(id=queued_autocomplete)
    @moderator_only()
    async def remove(self, interaction: discord.Interaction[FilmClubBot], id: int) -> None:
        guild_id = require_guild(interaction)
        now = self.bot.now_ts()
        async with self.bot.store.transaction() as tx:
            inst = await self._get_own(tx, guild_id, id)
            cancelled = await self.bot.scheduler.cancel_prefix(guild_id, dom.installment_prefix(inst.id), db=tx)
            await repo.delete(tx, inst.id, guild_id)
            order = [i.id for i in await repo.queue(tx, guild_id)]
            await repo.set_order(tx, guild_id, dom.positions(order), now)
        where = "the queue" if inst.is_queued else "the watched list"
        text = f"Removed {label(inst)} (#{inst.id}) from {where}."
        if cancelled:
            text += f" Cancelled {plural(len(cancelled), 'teaser')} for it."
        await interaction.response.send_message(text)

    @installment.command(name="current", description="What the club is on now, and what comes next")
    async def current(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        require_member_can_post(interaction)
        items = await repo.queue(self.bot.store, guild_id)
        first, second = dom.current_and_next([i.id for i in items])
        by_id = {i.id: i for i in items}
        if first is None:
            watched = await repo.count_watched(self.bot.store, guild_id)
            await interaction.response.send_message(
                dom.WRAP_TEXT if watched else "The queue is empty. Moderators can add films with `/installment add`."
            )
            return
        embeds = [await self.teasers.card(by_id[first], title_prefix="Now: ")]
        if second is not None:
            nxt = by_id[second]
            after = discord.Embed(colour=CLUB_COLOUR, title=clip(f"Then: {nxt.label}", 256))
            screening = await self.teasers.upcoming_screening(self.bot.store, nxt)
            if screening is not None:
                after.description = f"Screening {ts_full(screening.start)}"
            embeds.append(after)
        await interaction.response.send_message(embeds=embeds)

    @installment.command(name="done", description="Moderators: mark the current installment watched and move on")
    @moderator_only()
    async def done(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        async with self.bot.store.transaction() as tx:
            items = await repo.queue(tx, guild_id)
            if not items:
                raise UserError("The queue is empty: there is no current installment to mark watched.")
            inst = items[0]
            await self.teasers.watch(tx, inst)
            rest = items[1:]
        text = f"Marked {label(inst)} watched."
        text += f" Now on: {label(rest[0])}." if rest else " " + dom.WRAP_TEXT
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
        current = await repo.get_settings(self.bot.store, guild_id)
        if offsets is None and post_credits is None:
            await interaction.response.send_message(self._settings_text(current), ephemeral=True)
            return
        new = TeaserSettings(
            guild_id,
            dom.normalize_offsets(offsets) if offsets is not None else current.offsets,
            post_credits if post_credits is not None else current.post_credits,
        )
        queued = 0
        async with self.bot.store.transaction() as tx:
            await repo.save_settings(tx, new, self.bot.now_ts())
            if not dom.same_offsets(new.offsets, current.offsets):
                queued = await self.teasers.requeue_before(tx, guild_id, new)
        text = "Saved. " + self._settings_text(new)
        if queued:
            text += f" Queued {plural(queued, 'teaser')} for upcoming screenings."
        await interaction.response.send_message(text, ephemeral=True)

    @staticmethod
    def _settings_text(settings: TeaserSettings) -> str:
        if settings.before_enabled:
            offsets = dom.parse_teaser_offsets(settings.offsets)
            before = "Teasers go out " + ", ".join(dom.describe_offset(o) for o in offsets) + " before a screening"
        else:
            before = "Teasers before a screening are off"
        after = "a post-credits teaser when one ends" if settings.post_credits else "no post-credits teaser"
        return f"{before}; {after}."

    @teaser.command(name="now", description="Moderators: post a teaser for the next installment right away")
    @moderator_only()
    async def now(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        assert interaction.guild is not None
        channel_id = await self.teasers.announcements_for(interaction.guild)
        items = await repo.queue(self.bot.store, guild_id)
        subject = dom.teaser_subject([i.id for i in items])
        await self.bot.scheduler.schedule(
            guild_id=guild_id, kind=dom.KIND_NOW, key=dom.now_key(subject, interaction.id),
            due=self.bot.clock.now(), channel_id=channel_id,
            payload={"installment_id": subject, "label": "teaser posted with /teaser now"},
        )
        what = f"a teaser for {label(items[0])}" if items else "a \"that's a wrap\" post (the queue is empty)"
        await interaction.response.send_message(f"Posting {what} in <#{channel_id}> now.", ephemeral=True)

    @teaser.command(name="schedule", description="Moderators: a custom teaser at a given time")
    @app_commands.describe(when="When, e.g. fri 8pm, tomorrow 18:00, in 3 days", text="What the teaser says")
    @moderator_only()
    async def schedule(
        self,
        interaction: discord.Interaction[FilmClubBot],
        when: app_commands.Range[str, 1, 100],
        text: str,
    ) -> None:
        guild_id = require_guild(interaction)
        assert interaction.guild is not None
        body = dom.check_custom_text(text)
        settings = await self.bot.settings.get(guild_id)
        due = parse_when(when, self.bot.clock.now(), settings.timezone, max_ahead=dom.MAX_CUSTOM_AHEAD)
        channel_id = await self.teasers.announcements_for(interaction.guild)
        items = await repo.queue(self.bot.store, guild_id)
        subject = dom.teaser_subject([i.id for i in items])
        async with self.bot.store.transaction() as tx:
            waiting = await posts_repo.count_waiting(tx, guild_id, dom.KIND_CUSTOM)
            if waiting >= dom.MAX_PENDING_CUSTOM:
                raise UserError(
                    f"This server already has {waiting} custom teasers waiting (at most {dom.MAX_PENDING_CUSTOM}). "
                    "See them with `/schedule list` and take one back with `/schedule cancel` first."
                )
            post = await self.bot.scheduler.schedule(
                guild_id=guild_id, kind=dom.KIND_CUSTOM, key=dom.custom_key(subject, interaction.id, due), due=due,
                channel_id=channel_id,
                payload={"installment_id": subject, "text": body, "label": f"custom teaser: {clip(body, 40)}"},
                db=tx,
            )
        assert post is not None
        await interaction.response.send_message(
            f"Scheduled a custom teaser (post #{post.id}) for {format_full(due)} in <#{channel_id}>. "
            "`/schedule cancel` takes it back.",
            ephemeral=True,
        )

    # screening events ----------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_screening_scheduled(self, screening: Screening) -> None:
        async with self.bot.store.transaction() as tx:
            if await repo.by_screening(tx, screening.id) is not None:
                return
            inst = await repo.first_unlinked_for_film(tx, screening.guild_id, screening.film_key)
            if inst is None:
                return
            await self.teasers.link(tx, inst, screening)
        log.info("screening %s linked to installment %s", screening.id, inst.id)

    @commands.Cog.listener()
    async def on_screening_rescheduled(self, screening: Screening, *args: Any) -> None:
        async with self.bot.store.transaction() as tx:
            inst = await repo.by_screening(tx, screening.id)
            if inst is None or not inst.is_queued:
                return
            await self.bot.scheduler.cancel_prefix(
                screening.guild_id, dom.screening_prefix(inst.id, screening.id), db=tx
            )
            fresh = await screenings_repo.get_screening(tx, screening.id) or screening
            settings = await repo.get_settings(tx, screening.guild_id)
            await self.teasers.schedule_before(tx, inst, fresh, settings)

    @commands.Cog.listener()
    async def on_screening_cancelled(self, screening: Screening, *args: Any) -> None:
        async with self.bot.store.transaction() as tx:
            inst = await repo.by_screening(tx, screening.id)
            if inst is None:
                return
            await self.bot.scheduler.cancel_prefix(
                screening.guild_id, dom.screening_prefix(inst.id, screening.id), db=tx
            )
            if not inst.is_queued:
                return
            await repo.link_screening(tx, inst.id, None, self.bot.now_ts())
            # Another upcoming screening of the same film takes over (with its teasers).
            other = await self.teasers.find_unlinked_screening(tx, screening.guild_id, screening.film_key)
            if other is not None:
                unlinked = await repo.get(tx, inst.id)
                assert unlinked is not None
                await self.teasers.link(tx, unlinked, other)

    @commands.Cog.listener()
    async def on_screening_finished(self, screening: Screening, *args: Any) -> None:
        await self.teasers.screening_finished(screening)


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(Installments(bot))
