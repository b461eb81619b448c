"""The installments feature's work: the queue, the teasers, and what happens when a screening ends.

:class:`InstallmentService` (``bot.installments``) keeps the queue in order (add, move, remove, watched), links
installments to screenings of their film, and queues, renders and sends the teasers. The commands in
``cog.py`` only read options and reply.

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
  :meth:`InstallmentService.reconcile` does it at the next start (screenings finished within
  ``RECONCILE_WINDOW`` and not recorded), exactly once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.checks import announcements_channel
from bot.domain import installments as dom
from bot.domain.films import Film, load_catalogue
from bot.errors import UserError
from bot.render import clip
from bot.scheduler import PostObsolete
from cogs.installments import views
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


class InstallmentService:
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        for kind in dom.KINDS:
            bot.scheduler.register(kind, self.send)

    async def load(self) -> None:
        # Before the scheduler starts: screenings that ended while their end never reached us.
        await self.reconcile()

    async def close(self) -> None:
        return None

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
        screening = await self.upcoming_screening(self.bot.store, inst)
        return views.card(inst, load_catalogue().get(inst.film_key), screening, title_prefix=title_prefix)

    async def message_for(self, inst: Installment | None) -> dict[str, Any]:
        if inst is None:
            return views.teaser_message(None, None, None, None)
        screening = await self.upcoming_screening(self.bot.store, inst)
        rsvp = self.bot.screenings.rsvp_view(screening.id) if screening is not None else None
        return views.teaser_message(inst, load_catalogue().get(inst.film_key), screening, rsvp)

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
                message["embed"] = views.wrap_embed()
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
        for screening_id in await repo.unhandled_finishes(self.bot.store, since, shards=self.bot.shard_range):
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

    # the queue -------------------------------------------------------------------------------------
    async def own(self, db: Executor, guild_id: int, installment_id: int) -> Installment:
        """The server's installment ``installment_id``; never another server's (a UserError says so)."""
        inst = await repo.get(db, installment_id, guild_id)
        if inst is None:
            raise UserError(
                f"There is no installment #{installment_id} in this server. `/installment list` shows the ids."
            )
        return inst

    async def queue(self, guild_id: int) -> list[Installment]:
        return await repo.queue(self.bot.store, guild_id)

    async def watched_count(self, guild_id: int) -> int:
        return await repo.count_watched(self.bot.store, guild_id)

    async def queue_with_screenings(self, guild_id: int) -> tuple[list[Installment], int, dict[int, Screening | None]]:
        """The queue in order, how many were watched, and each queued film's upcoming screening."""
        items = await self.queue(guild_id)
        screenings = {inst.id: await self.upcoming_screening(self.bot.store, inst) for inst in items}
        return items, await self.watched_count(guild_id), screenings

    async def next_screening(self, inst: Installment) -> Screening | None:
        return await self.upcoming_screening(self.bot.store, inst)

    async def add(
        self, guild_id: int, film: Film, *, note: str | None, position: int | None, added_by: int
    ) -> tuple[Installment, int, int, Screening | None]:
        """Queue ``film``; (the installment, its position, the queue's size, the screening it was linked to)."""
        now = self.bot.now_ts()
        async with self.bot.store.transaction() as tx:
            order = [i.id for i in await repo.queue(tx, guild_id)]
            where = dom.check_add_position(position, len(order))
            inst = await repo.add(
                tx, guild_id=guild_id, film_key=film.key, title=film.title, year=film.year,
                runtime=film.runtime, note=note, position=where, added_by=added_by, now=now,
            )
            await repo.set_order(tx, guild_id, dom.positions(dom.insert_at(order, inst.id, where)), now)
            screening = await self.find_unlinked_screening(tx, guild_id, film.key)
            if screening is not None:
                await self.link(tx, inst, screening)
        # A series night announced "to be announced" may take it (bot.series hears this after the reply).
        self.bot.dispatch("installment_added", guild_id)
        return inst, where, len(order) + 1, screening

    async def move(self, guild_id: int, installment_id: int, position: int) -> Installment:
        """Move a queued installment; the installment as it was before the move."""
        now = self.bot.now_ts()
        async with self.bot.store.transaction() as tx:
            inst = await self.own(tx, guild_id, installment_id)
            if not inst.is_queued:
                raise UserError(f"{views.label(inst)} (#{inst.id}) was already watched; only queued films can move.")
            order = [i.id for i in await repo.queue(tx, guild_id)]
            dom.check_move_position(position, len(order))
            if inst.position != position:
                await repo.set_order(tx, guild_id, dom.positions(dom.move_to(order, inst.id, position)), now)
        return inst

    async def remove(self, guild_id: int, installment_id: int) -> tuple[Installment, int]:
        """Take an installment out (queue or watched list) with its teasers; (it, how many teasers went)."""
        now = self.bot.now_ts()
        async with self.bot.store.transaction() as tx:
            inst = await self.own(tx, guild_id, installment_id)
            cancelled = await self.bot.scheduler.cancel_prefix(guild_id, dom.installment_prefix(inst.id), db=tx)
            await repo.delete(tx, inst.id, guild_id)
            order = [i.id for i in await repo.queue(tx, guild_id)]
            await repo.set_order(tx, guild_id, dom.positions(order), now)
        return inst, len(cancelled)

    async def mark_current_watched(self, guild_id: int) -> tuple[Installment, Installment | None]:
        """The current installment watched; (it, the one now current or None)."""
        async with self.bot.store.transaction() as tx:
            items = await repo.queue(tx, guild_id)
            if not items:
                raise UserError("The queue is empty: there is no current installment to mark watched.")
            await self.watch(tx, items[0])
        return items[0], items[1] if len(items) > 1 else None

    # teaser settings and teasers asked for by moderators --------------------------------------------
    async def teaser_settings(self, guild_id: int) -> TeaserSettings:
        return await repo.get_settings(self.bot.store, guild_id)

    async def save_teaser_settings(self, new: TeaserSettings, before: TeaserSettings) -> int:
        """Store new settings; when the offsets changed, queue upcoming screenings' teasers again (how many)."""
        queued = 0
        async with self.bot.store.transaction() as tx:
            await repo.save_settings(tx, new, self.bot.now_ts())
            if not dom.same_offsets(new.offsets, before.offsets):
                queued = await self.requeue_before(tx, new.guild_id, new)
        return queued

    async def teaser_now(self, guild_id: int, channel_id: int, token: int) -> Installment | None:
        """Queue a teaser to go out now; the installment it is about (None: "that's a wrap")."""
        items = await repo.queue(self.bot.store, guild_id)
        subject = dom.teaser_subject([i.id for i in items])
        await self.bot.scheduler.schedule(
            guild_id=guild_id, kind=dom.KIND_NOW, key=dom.now_key(subject, token),
            due=self.bot.clock.now(), channel_id=channel_id,
            payload={"installment_id": subject, "label": "teaser posted with /teaser now"},
        )
        return items[0] if items else None

    async def custom_teaser(
        self, guild_id: int, channel_id: int, token: int, due: datetime, text: str
    ) -> ScheduledPost:
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
                guild_id=guild_id, kind=dom.KIND_CUSTOM, key=dom.custom_key(subject, token, due), due=due,
                channel_id=channel_id,
                payload={"installment_id": subject, "text": text, "label": f"custom teaser: {clip(text, 40)}"},
                db=tx,
            )
        assert post is not None
        return post

    # the screenings feature's events ----------------------------------------------------------------
    async def screening_scheduled(self, screening: Screening) -> None:
        async with self.bot.store.transaction() as tx:
            if await repo.by_screening(tx, screening.id) is not None:
                return
            inst = await repo.first_unlinked_for_film(tx, screening.guild_id, screening.film_key)
            if inst is None:
                return
            await self.link(tx, inst, screening)
        log.info("screening %s linked to installment %s", screening.id, inst.id)

    async def screening_rescheduled(self, screening: Screening) -> None:
        async with self.bot.store.transaction() as tx:
            inst = await repo.by_screening(tx, screening.id)
            if inst is None or not inst.is_queued:
                return
            await self.bot.scheduler.cancel_prefix(
                screening.guild_id, dom.screening_prefix(inst.id, screening.id), db=tx
            )
            fresh = await screenings_repo.get_screening(tx, screening.id) or screening
            settings = await repo.get_settings(tx, screening.guild_id)
            await self.schedule_before(tx, inst, fresh, settings)

    async def screening_cancelled(self, screening: Screening) -> None:
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
            other = await self.find_unlinked_screening(tx, screening.guild_id, screening.film_key)
            if other is not None:
                unlinked = await repo.get(tx, inst.id)
                assert unlinked is not None
                await self.link(tx, unlinked, other)
