"""Installments (the club's queue of films) and teasers.

``/installment add|list|move|remove|current|done`` keep the queue; ``/teaser settings|now|schedule``
drive the teasers. Every teaser goes through the durable scheduler (kinds ``teaser.postcredits``,
``teaser.before``, ``teaser.custom``, ``teaser.now``) and is sent with the post's nonce, so it goes
out exactly once across restarts. The teaser is rendered when it fires, from what is true then:
with an empty queue it becomes "that's a wrap".

Screenings are followed through the screenings cog's events:
- ``screening_scheduled``: a screening of a queued film links to the earliest unlinked installment of
  that film, and its before-teasers are queued;
- ``screening_rescheduled``: its teasers move (prefix cancel + new keys, which carry the due time);
- ``screening_cancelled``: its teasers are cancelled and the installment is unlinked;
- ``screening_finished``: its installment is marked watched and a post-credits teaser is queued.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import moderator_only, require_guild
from bot.domain import installments as dom
from bot.domain.films import CHOICE_LIMIT, format_choice, load_catalogue, resolve_film
from bot.domain.timeparse import format_full, parse_when
from bot.errors import NotSetUp, UserError
from bot.render import CLUB_COLOUR, clip, escape, ts, ts_full
from bot.scheduler import PostObsolete
from cogs.screenings_views import rsvp_view
from db import installments as repo
from db import screenings as screenings_repo
from db.installments import Installment, TeaserSettings
from db.scheduled_posts import ScheduledPost
from db.screenings import Screening
from db.store import Executor

log = logging.getLogger(__name__)

GRACE = {
    dom.KIND_POSTCREDITS: timedelta(hours=2),
    dom.KIND_BEFORE: timedelta(hours=6),
    dom.KIND_CUSTOM: timedelta(hours=1),
    dom.KIND_NOW: timedelta(minutes=15),
}
UPCOMING = (screenings_repo.SCHEDULED, screenings_repo.LIVE)


def _label(inst: Installment) -> str:
    return f"*{escape(inst.title)}*" + (f" ({inst.year})" if inst.year else "")


class Installments(commands.Cog):
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        for kind in dom.KINDS:
            bot.scheduler.register(kind, self.send_teaser, grace=GRACE[kind])

    installment = app_commands.Group(
        name="installment", description="The club's queue of films, in order", guild_only=True
    )
    teaser = app_commands.Group(name="teaser", description="Teasers for the next installment", guild_only=True)

    # helpers ------------------------------------------------------------------------
    async def _get_own(self, db: Executor, guild_id: int, installment_id: int) -> Installment:
        inst = await repo.get(db, installment_id, guild_id)
        if inst is None:
            raise UserError(
                f"There is no installment #{installment_id} in this server. `/installment list` shows the ids."
            )
        return inst

    async def _announcements(self, guild_id: int) -> int:
        settings = await self.bot.settings.get(guild_id)
        if settings.announcements_channel_id is None:
            raise NotSetUp("announcements channel", "announcements")
        return settings.announcements_channel_id

    async def _upcoming_screening(self, db: Executor, inst: Installment) -> Screening | None:
        """The installment's linked screening if still upcoming, else an upcoming one of its film."""
        if inst.screening_id is not None:
            linked = await screenings_repo.get_screening(db, inst.screening_id, inst.guild_id)
            if linked is not None and linked.status in UPCOMING:
                return linked
        for screening in await screenings_repo.list_upcoming(db, inst.guild_id, limit=100):
            if screening.film_key == inst.film_key:
                return screening
        return None

    async def _schedule_before(
        self, db: Executor, inst: Installment, screening: Screening, settings: TeaserSettings
    ) -> int:
        """Queue the before-teasers of ``screening`` (those still ahead). Returns how many were new."""
        if not settings.before_enabled:
            return 0
        offsets = dom.parse_teaser_offsets(settings.offsets)
        queued = 0
        for offset, due in dom.teaser_times(screening.start, offsets, self.bot.clock.now()):
            post = await self.bot.scheduler.schedule(
                guild_id=inst.guild_id, kind=dom.KIND_BEFORE,
                key=dom.before_key(inst.id, screening.id, offset, due), due=due,
                payload={
                    "installment_id": inst.id, "screening_id": screening.id,
                    "starts_at": screening.starts_at, "offset": int(offset.total_seconds()),
                },
                db=db,
            )
            queued += post is not None
        return queued

    async def _link(self, db: Executor, inst: Installment, screening: Screening) -> None:
        await repo.link_screening(db, inst.id, screening.id, self.bot.now_ts())
        settings = await repo.get_settings(db, inst.guild_id)
        linked = await repo.get(db, inst.id)
        assert linked is not None
        await self._schedule_before(db, linked, screening, settings)

    async def _find_unlinked_screening(self, db: Executor, guild_id: int, film_key: str) -> Screening | None:
        for screening in await screenings_repo.list_upcoming(db, guild_id, limit=100):
            if screening.film_key == film_key and await repo.by_screening(db, screening.id) is None:
                return screening
        return None

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
            screening = await self._find_unlinked_screening(tx, guild_id, chosen.key)
            if screening is not None:
                await self._link(tx, inst, screening)
            size = len(order) + 1
        text = f"Added {_label(inst)} to the queue as #{inst.id}, at position {where} of {size}."
        if screening is not None:
            text += f" Linked to its screening on {ts(screening.start, 'F')}."
        await interaction.response.send_message(text)

    @installment.command(name="list", description="The queue, with linked screenings and their times")
    async def list_(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        embed = await self._queue_embed(guild_id)
        await interaction.response.send_message(embed=embed)

    async def _queue_embed(self, guild_id: int) -> discord.Embed:
        items = await repo.queue(self.bot.store, guild_id)
        watched = await repo.count_watched(self.bot.store, guild_id)
        embed = discord.Embed(title="The queue", colour=CLUB_COLOUR)
        if not items:
            embed.description = (
                "The queue is empty." + (" That's a wrap on everything so far!" if watched else "")
                + " Moderators can add films with `/installment add`."
            )
        else:
            lines = []
            for inst in items:
                line = f"**{inst.position}.** {_label(inst)} · `#{inst.id}`"
                screening = await self._upcoming_screening(self.bot.store, inst)
                if screening is not None:
                    line += f"\n  🎟️ screening {ts_full(screening.start)}"
                if inst.note:
                    line += f"\n  📝 {escape(inst.note)}"
                lines.append(line)
            embed.description = clip("\n".join(lines), 4000)
        embed.set_footer(text=f"{len(items)} to go · {watched} watched")
        return embed

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
                raise UserError(f"{_label(inst)} (#{inst.id}) was already watched; only queued films can move.")
            order = [i.id for i in await repo.queue(tx, guild_id)]
            dom.check_move_position(position, len(order))
            await repo.set_order(tx, guild_id, dom.positions(dom.move_to(order, inst.id, position)), now)
        await interaction.response.send_message(f"Moved {_label(inst)} (#{inst.id}) to position {position}.")

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
        text = f"Removed {_label(inst)} (#{inst.id}) from the queue."
        if cancelled:
            text += f" Cancelled {len(cancelled)} teaser{'s' if len(cancelled) != 1 else ''} for it."
        await interaction.response.send_message(text)

    @installment.command(name="current", description="What the club is on now, and what comes next")
    async def current(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        items = await repo.queue(self.bot.store, guild_id)
        first, second = dom.current_and_next([i.id for i in items])
        by_id = {i.id: i for i in items}
        if first is None:
            watched = await repo.count_watched(self.bot.store, guild_id)
            await interaction.response.send_message(
                dom.WRAP_TEXT if watched else "The queue is empty. Moderators can add films with `/installment add`."
            )
            return
        now_on = by_id[first]
        embed = await self.card(now_on, title_prefix="Now: ")
        embeds = [embed]
        if second is not None:
            nxt = by_id[second]
            after = discord.Embed(colour=CLUB_COLOUR, title=clip(f"Then: {nxt.label}", 256))
            screening = await self._upcoming_screening(self.bot.store, nxt)
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
            await self._watch(tx, inst)
            rest = items[1:]
        text = f"Marked {_label(inst)} watched."
        text += f" Now on: {_label(rest[0])}." if rest else " " + dom.WRAP_TEXT
        await interaction.response.send_message(text)

    async def _watch(self, tx: Executor, inst: Installment) -> bool:
        now = self.bot.now_ts()
        if not await repo.mark_watched(tx, inst.id, now):
            return False
        await self.bot.scheduler.cancel_prefix(inst.guild_id, dom.installment_prefix(inst.id), db=tx)
        order = [i.id for i in await repo.queue(tx, inst.guild_id)]
        await repo.set_order(tx, inst.guild_id, dom.positions(order), now)
        return True

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
        moved = 0
        async with self.bot.store.transaction() as tx:
            await repo.save_settings(tx, new, self.bot.now_ts())
            if new.offsets != current.offsets:
                for inst in await repo.queue(tx, guild_id):
                    if inst.screening_id is None:
                        continue
                    await self.bot.scheduler.cancel_prefix(
                        guild_id, dom.screening_prefix(inst.id, inst.screening_id), db=tx
                    )
                    screening = await screenings_repo.get_screening(tx, inst.screening_id, guild_id)
                    if screening is not None and screening.status == screenings_repo.SCHEDULED:
                        moved += await self._schedule_before(tx, inst, screening, new)
        text = "Saved. " + self._settings_text(new)
        if moved:
            text += f" Queued {moved} teaser{'s' if moved != 1 else ''} for upcoming screenings."
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
        channel_id = await self._announcements(guild_id)
        items = await repo.queue(self.bot.store, guild_id)
        subject = dom.teaser_subject([i.id for i in items])
        await self.bot.scheduler.schedule(
            guild_id=guild_id, kind=dom.KIND_NOW, key=dom.now_key(subject, interaction.id),
            due=self.bot.clock.now(), channel_id=channel_id, payload={"installment_id": subject},
        )
        what = f"a teaser for {_label(items[0])}" if items else "a \"that's a wrap\" post (the queue is empty)"
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
        body = dom.check_custom_text(text)
        settings = await self.bot.settings.get(guild_id)
        due = parse_when(when, self.bot.clock.now(), settings.timezone, max_ahead=dom.MAX_CUSTOM_AHEAD)
        channel_id = await self._announcements(guild_id)
        items = await repo.queue(self.bot.store, guild_id)
        subject = dom.teaser_subject([i.id for i in items])
        post = await self.bot.scheduler.schedule(
            guild_id=guild_id, kind=dom.KIND_CUSTOM, key=dom.custom_key(subject, interaction.id, due), due=due,
            channel_id=channel_id, payload={"installment_id": subject, "text": body},
        )
        assert post is not None
        await interaction.response.send_message(
            f"Scheduled a custom teaser (post #{post.id}) for {format_full(due)} in <#{channel_id}>.", ephemeral=True
        )

    # the card ---------------------------------------------------------------------------
    async def card(self, inst: Installment, *, title_prefix: str = "") -> discord.Embed:
        film = load_catalogue().get(inst.film_key)
        embed = discord.Embed(title=clip(title_prefix + inst.label, 256), colour=CLUB_COLOUR)
        if film is not None and film.premise:
            embed.description = clip(film.premise, 4000)
        embed.add_field(name="Year", value=str(inst.year) if inst.year else "unknown")
        runtime = inst.runtime or (film.runtime if film else None)
        embed.add_field(name="Runtime", value=str(dom.RuntimeText(runtime)))
        if film is not None and film.director:
            embed.add_field(name="Director", value=escape(film.director))
        screening = await self._upcoming_screening(self.bot.store, inst)
        embed.add_field(
            name="Next screening",
            value=ts_full(screening.start) if screening is not None else "not scheduled yet",
            inline=False,
        )
        if inst.note:
            embed.add_field(name="Note", value=clip(escape(inst.note), 1024), inline=False)
        return embed

    async def _teaser_message(self, inst: Installment | None) -> dict[str, Any]:
        if inst is None:
            return {"content": dom.WRAP_TEXT}
        kwargs: dict[str, Any] = {
            "content": dom.headline(escape(inst.title), inst.year), "embed": await self.card(inst),
        }
        screening = await self._upcoming_screening(self.bot.store, inst)
        if screening is not None:
            kwargs["view"] = rsvp_view(screening.id)
        return kwargs

    # the scheduled posts -----------------------------------------------------------------
    async def send_teaser(self, post: ScheduledPost) -> int | None:
        db = self.bot.store
        payload = post.payload
        if post.kind == dom.KIND_BEFORE:
            inst = await repo.get(db, int(payload["installment_id"]), post.guild_id)
            if inst is None or not inst.is_queued:
                raise PostObsolete("the installment was removed or watched")
            screening = await screenings_repo.get_screening(db, int(payload["screening_id"]), post.guild_id)
            if (
                screening is None or screening.status != screenings_repo.SCHEDULED
                or screening.starts_at != int(payload["starts_at"]) or inst.screening_id != screening.id
            ):
                raise PostObsolete("the screening was cancelled or moved")
            message = await self._teaser_message(inst)
        elif post.kind == dom.KIND_CUSTOM:
            inst = await self._subject(post.guild_id, payload.get("installment_id"))
            message = await self._teaser_message(inst)
            message["content"] = str(payload["text"])
            if inst is None:
                message["embed"] = discord.Embed(description=dom.WRAP_TEXT, colour=CLUB_COLOUR)
        else:  # post-credits and "now": whatever is first in the queue when it goes out
            inst = await self._subject(post.guild_id, None)
            message = await self._teaser_message(inst)
        channel_id = await self._channel_for(post)
        channel = await self.bot.resolve_messageable(channel_id)
        sent = await channel.send(nonce=post.nonce, **message)
        return sent.id

    async def _subject(self, guild_id: int, preferred: Any) -> Installment | None:
        if preferred is not None:
            inst = await repo.get(self.bot.store, int(preferred), guild_id)
            if inst is not None and inst.is_queued:
                return inst
        items = await repo.queue(self.bot.store, guild_id)
        return items[0] if items else None

    async def _channel_for(self, post: ScheduledPost) -> int:
        settings = await self.bot.settings.get(post.guild_id)
        channel_id = settings.announcements_channel_id or post.channel_id
        if channel_id is None:
            raise PostObsolete("this server has no announcements channel")
        return channel_id

    # screening events ----------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_screening_scheduled(self, screening: Screening) -> None:
        async with self.bot.store.transaction() as tx:
            if await repo.by_screening(tx, screening.id) is not None:
                return
            inst = await repo.first_unlinked_for_film(tx, screening.guild_id, screening.film_key)
            if inst is None:
                return
            await self._link(tx, inst, screening)
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
            await self._schedule_before(tx, inst, fresh, settings)

    @commands.Cog.listener()
    async def on_screening_cancelled(self, screening: Screening, *args: Any) -> None:
        async with self.bot.store.transaction() as tx:
            inst = await repo.by_screening(tx, screening.id)
            if inst is None:
                return
            await self.bot.scheduler.cancel_prefix(
                screening.guild_id, dom.screening_prefix(inst.id, screening.id), db=tx
            )
            if inst.is_queued:
                await repo.link_screening(tx, inst.id, None, self.bot.now_ts())

    @commands.Cog.listener()
    async def on_screening_finished(self, screening: Screening, *args: Any) -> None:
        async with self.bot.store.transaction() as tx:
            inst = await repo.by_screening(tx, screening.id)
            if inst is None:
                inst = await repo.first_queued_for_film(tx, screening.guild_id, screening.film_key)
            if inst is None:
                return  # not an installment's screening
            if inst.is_queued:
                await self._watch(tx, inst)
            settings = await repo.get_settings(tx, screening.guild_id)
            if not settings.post_credits:
                return
            await self.bot.scheduler.schedule(
                guild_id=screening.guild_id, kind=dom.KIND_POSTCREDITS, key=dom.postcredits_key(screening.id),
                due=self.bot.clock.now(), payload={"screening_id": screening.id, "watched_id": inst.id}, db=tx,
            )


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(Installments(bot))
