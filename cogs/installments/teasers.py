"""Teasers: what they show, how they are queued and sent, and what happens when a screening ends.

Not a cog: :class:`TeaserService` is the installments cog's helper (like the screenings service).

- Every teaser goes through the durable scheduler (kinds ``teaser.postcredits``, ``teaser.before``,
  ``teaser.custom``, ``teaser.now``) and is sent with the post's nonce, so it goes out exactly once
  across restarts. It is rendered when it fires, from what is true then: with an empty queue it
  becomes "that's a wrap".
- Keys are unique forever (cancelled posts included), so a before-teaser wanted again after it was
  cancelled (a screening moved away and back, offsets turned off and on) takes the key's next
  variant (:func:`bot.domain.installments.key_variant`).
- A screening's end (the ``screening_finished`` event) marks its installment watched and queues one
  post-credits teaser, recorded in ``installment_finishes`` in the same transaction. The event lives
  only in memory: if the bot stops between Screenings marking the screening finished and this work,
  :meth:`TeaserService.reconcile` does it at the next start (screenings finished within
  ``RECONCILE_WINDOW`` and not recorded), exactly once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.checks import announcements_channel
from bot.domain import installments as dom
from bot.domain.films import load_catalogue
from bot.render import CLUB_COLOUR, clip, escape, ts_full
from bot.scheduler import PostObsolete
from cogs.screenings.views import rsvp_view
from db import installments as repo
from db import scheduled_posts as posts_repo
from db import screenings as screenings_repo
from db.installments import Installment, TeaserSettings
from db.scheduled_posts import ScheduledPost
from db.screenings import Screening
from db.store import Executor

if TYPE_CHECKING:
    from bot.app import FilmClubBot

log = logging.getLogger(__name__)

UPCOMING = (screenings_repo.SCHEDULED, screenings_repo.LIVE)


def label(inst: Installment) -> str:
    """``*Rocky* (1976)`` with the title markdown- and mention-escaped."""
    return f"*{escape(inst.title)}*" + (f" ({inst.year})" if inst.year else "")


class TeaserService:
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        for kind in dom.KINDS:
            bot.scheduler.register(kind, self.send)

    # screenings -------------------------------------------------------------------------
    async def upcoming_screening(self, db: Executor, inst: Installment) -> Screening | None:
        """The installment's linked screening if still upcoming, else an upcoming one of its film."""
        if inst.screening_id is not None:
            linked = await screenings_repo.get_screening(db, inst.screening_id, inst.guild_id)
            if linked is not None and linked.status in UPCOMING:
                return linked
        for screening in await screenings_repo.list_upcoming(db, inst.guild_id, limit=100):
            if screening.film_key == inst.film_key:
                return screening
        return None

    async def find_unlinked_screening(self, db: Executor, guild_id: int, film_key: str) -> Screening | None:
        for screening in await screenings_repo.list_upcoming(db, guild_id, limit=100):
            if screening.film_key == film_key and await repo.by_screening(db, screening.id) is None:
                return screening
        return None

    # queueing ---------------------------------------------------------------------------
    async def schedule_once(
        self, db: Executor, *, guild_id: int, kind: str, key: str, due: datetime, payload: dict[str, Any]
    ) -> ScheduledPost | None:
        """Queue a post under ``key``, or its next variant when earlier ones were cancelled.

        None when the occurrence is already pending (or was sent): queueing it twice is harmless.
        """
        for n in range(1, dom.MAX_KEY_VARIANTS + 1):
            candidate = dom.key_variant(key, n)
            existing = await posts_repo.get_by_key(db, candidate)
            if existing is None:
                return await self.bot.scheduler.schedule(
                    guild_id=guild_id, kind=kind, key=candidate, due=due, payload=payload, db=db
                )
            if existing.status != posts_repo.CANCELLED:
                return None
        log.warning("teaser key %s was cancelled %d times; not queueing it again", key, dom.MAX_KEY_VARIANTS)
        return None

    async def schedule_before(
        self, db: Executor, inst: Installment, screening: Screening, settings: TeaserSettings
    ) -> int:
        """Queue the before-teasers of ``screening`` (those still ahead). Returns how many were new."""
        if not settings.before_enabled:
            return 0
        offsets = dom.parse_teaser_offsets(settings.offsets)
        queued = 0
        for offset, due in dom.teaser_times(screening.start, offsets, self.bot.clock.now()):
            post = await self.schedule_once(
                db, guild_id=inst.guild_id, kind=dom.KIND_BEFORE,
                key=dom.before_key(inst.id, screening.id, offset, due), due=due,
                payload={
                    "installment_id": inst.id, "screening_id": screening.id,
                    "starts_at": screening.starts_at, "offset": int(offset.total_seconds()),
                    "label": f"{dom.describe_offset(offset)} teaser for {inst.label}",
                },
            )
            queued += post is not None
        return queued

    async def link(self, db: Executor, inst: Installment, screening: Screening) -> None:
        await repo.link_screening(db, inst.id, screening.id, self.bot.now_ts())
        settings = await repo.get_settings(db, inst.guild_id)
        linked = await repo.get(db, inst.id)
        assert linked is not None
        await self.schedule_before(db, linked, screening, settings)

    async def requeue_before(self, db: Executor, guild_id: int, settings: TeaserSettings) -> int:
        """After the offsets changed: the before-teasers of every linked, still scheduled screening."""
        queued = 0
        for inst in await repo.queue(db, guild_id):
            if inst.screening_id is None:
                continue
            await self.bot.scheduler.cancel_prefix(guild_id, dom.screening_prefix(inst.id, inst.screening_id), db=db)
            screening = await screenings_repo.get_screening(db, inst.screening_id, guild_id)
            if screening is not None and screening.status == screenings_repo.SCHEDULED:
                queued += await self.schedule_before(db, inst, screening, settings)
        return queued

    async def watch(self, tx: Executor, inst: Installment) -> bool:
        """Mark ``inst`` watched, drop its screenings' teasers, close the gap in the queue."""
        now = self.bot.now_ts()
        if not await repo.mark_watched(tx, inst.id, now):
            return False
        await self.bot.scheduler.cancel_prefix(inst.guild_id, dom.screenings_prefix(inst.id), db=tx)
        order = [i.id for i in await repo.queue(tx, inst.guild_id)]
        await repo.set_order(tx, inst.guild_id, dom.positions(order), now)
        return True

    async def announcements_for(self, guild: discord.Guild) -> int:
        """The announcements channel id, once it is sure the bot can post teasers there."""
        return (await announcements_channel(self.bot, guild, doing="post teasers")).id

    # what a teaser shows ---------------------------------------------------------------------
    async def card(self, inst: Installment, *, title_prefix: str = "") -> discord.Embed:
        film = load_catalogue().get(inst.film_key)
        embed = discord.Embed(title=clip(title_prefix + inst.label, 256), colour=CLUB_COLOUR)
        if film is not None and film.premise:
            embed.description = clip(film.premise, 4000)
        embed.add_field(name="Year", value=str(inst.year) if inst.year else "unknown")
        runtime = inst.runtime or (film.runtime if film else None)
        embed.add_field(name="Runtime", value=str(dom.RuntimeText(runtime)))
        if film is not None and film.director:
            embed.add_field(name="Director", value=clip(escape(film.director), 1024))
        screening = await self.upcoming_screening(self.bot.store, inst)
        embed.add_field(
            name="Next screening",
            value=ts_full(screening.start) if screening is not None else "not scheduled yet",
            inline=False,
        )
        if inst.note:
            embed.add_field(name="Note", value=clip(escape(inst.note), 1024), inline=False)
        return embed

    async def message_for(self, inst: Installment | None) -> dict[str, Any]:
        if inst is None:
            return {"content": dom.WRAP_TEXT}
        kwargs: dict[str, Any] = {
            "content": dom.headline(escape(inst.title), inst.year), "embed": await self.card(inst),
        }
        screening = await self.upcoming_screening(self.bot.store, inst)
        if screening is not None:
            kwargs["view"] = rsvp_view(screening.id)
        return kwargs

    # the scheduled posts -----------------------------------------------------------------------
    async def send(self, post: ScheduledPost) -> int | None:
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
            message = await self.message_for(inst)
        elif post.kind == dom.KIND_CUSTOM:
            subject = await self._subject(post.guild_id, payload.get("installment_id"))
            message = await self.message_for(subject)
            message["content"] = str(payload["text"])
            if subject is None:
                message["embed"] = discord.Embed(description=dom.WRAP_TEXT, colour=CLUB_COLOUR)
        else:  # post-credits and "now": whatever is first in the queue when it goes out
            message = await self.message_for(await self._subject(post.guild_id, None))
        channel_id = await self._channel_for(post)
        channel = await self.bot.resolve_messageable(channel_id)
        sent = await channel.send(nonce=post.nonce, allowed_mentions=discord.AllowedMentions.none(), **message)
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

    # a screening's end ---------------------------------------------------------------------------
    async def screening_finished(self, screening: Screening) -> bool:
        """Mark its installment watched and queue the post-credits teaser, once per screening.

        True when this call did the work (False if it was done before or the screening is not an
        installment's).
        """
        now = self.bot.now_ts()
        async with self.bot.store.transaction() as tx:
            if not await repo.claim_finish(tx, screening.id, screening.guild_id, now):
                return False
            if await posts_repo.get_by_key(tx, dom.postcredits_key(screening.id)) is not None:
                return False  # handled before ``installment_finishes`` existed
            inst = await repo.by_screening(tx, screening.id)
            if inst is None:
                inst = await repo.first_queued_for_film(
                    tx, screening.guild_id, screening.film_key, added_by_time=screening.finished_at or now
                )
            if inst is None:
                return False  # not an installment's screening
            if inst.is_queued:
                await self.watch(tx, inst)
            settings = await repo.get_settings(tx, screening.guild_id)
            if settings.post_credits:
                await self.bot.scheduler.schedule(
                    guild_id=screening.guild_id, kind=dom.KIND_POSTCREDITS, key=dom.postcredits_key(screening.id),
                    due=self.bot.clock.now(), db=tx,
                    payload={
                        "screening_id": screening.id, "watched_id": inst.id,
                        "label": f"post-credits teaser after {screening.label}",
                    },
                )
        log.info("screening %s ended: installment %s watched", screening.id, inst.id)
        return True

    async def reconcile(self) -> int:
        """Handle screenings that finished recently while their end never reached us. Returns how many."""
        since = self.bot.now_ts() - int(dom.RECONCILE_WINDOW.total_seconds())
        handled = 0
        for screening_id in await repo.unhandled_finishes(self.bot.store, since):
            screening = await screenings_repo.get_screening(self.bot.store, screening_id)
            if screening is None:
                continue
            try:
                handled += await self.screening_finished(screening)
            except Exception:  # one bad row must not stop the bot from starting
                log.exception("could not handle the end of screening %s after a restart", screening_id)
        if handled:
            log.warning("handled the end of %d screening(s) missed before the last restart", handled)
        return handled
