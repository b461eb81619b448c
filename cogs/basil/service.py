"""Basil's Corner's work: memorials, their cards and threads, the approval queue, tributes and anniversaries.

:class:`BasilService` (``bot.basil``) owns everything besides reading commands and drawing: the units of
work, the repository calls, the Discord calls (cards, reactions, threads, DMs, the queue notice) and the
anniversary posts. The cog (``cogs.basil.cog``) and the buttons and forms (``cogs.basil.views``) read the
member's input, check who may do what, and reply.

Gentle and never noisy: every message is sent with ``AllowedMentions.none()`` and user text is escaped.
Cards carry a persistent "Leave a tribute" button and a "Memories of NAME" thread. Forms keep their input
in the database (``basil_drafts``), so a story survives a restart. Anniversaries go through the scheduler
(kind ``basil.anniversary``, key ``basil:<id>:anniv:<year>``), exactly once per year: each sent year is
recorded in ``basil_anniversaries``, only one post per memorial and year is ever pending, and the post is
sent with its nonce.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

import discord

from bot.checks import configured_channel
from bot.domain import posts
from bot.domain.basil import (
    BasilError,
    PetDetails,
    anniversary_key,
    anniversary_prefix,
    anniversary_text,
    check_photo,
    duplicate_name_message,
    next_anniversary,
    photo_filename,
    thread_name,
)
from bot.errors import UserError
from bot.render import escape, plural
from bot.scheduler import PostObsolete, from_ts
from cogs.basil.views import card_embed, card_view, photo_files
from db import basil as repo
from db import meta
from db import scheduled_posts as posts_repo
from db.basil import Draft, Memorial, Notice, PendingEdit, Photo
from db.scheduled_posts import ScheduledPost
from db.store import Executor

if TYPE_CHECKING:
    from bot.app import FilmClubBot

log = logging.getLogger(__name__)

KIND = posts.BASIL_ANNIVERSARY
MEMORIALS_PER_DAY = 3  # per member per server: each is a public card, reactions and a thread
NONE = discord.AllowedMentions.none()
DRAFT_LIFETIME = timedelta(days=2)
THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080  # a week
THREAD_ALREADY_CREATED = 160004  # Discord: "a thread has already been created for this message" (then deleted)
# What the bot needs in Basil's Corner (and Attach Files for a photo).
CORNER_NEEDS = (
    "view_channel", "send_messages", "embed_links", "read_message_history", "add_reactions",
    "create_public_threads", "send_messages_in_threads",
)


def gone() -> BasilError:
    return BasilError("That memorial is no longer in Basil's Corner (it was removed or declined).")


def handled() -> BasilError:
    return BasilError(
        "That memorial is no longer waiting: another moderator already approved or declined it (or it was "
        "removed). `/basil queue` shows what is still waiting."
    )


def no_card(memorial: Memorial) -> str:
    return (
        f"{escape(memorial.name)}'s card is no longer in Basil's Corner (it was deleted). The member who shared "
        "it, or a moderator, can post it again with `/basil edit`."
    )


def check_may_change(memorial: Memorial, member_id: int, moderator: bool, verb: str) -> None:
    """Only the member who shared a memorial, or a moderator, may change it."""
    if memorial.author_id == member_id or moderator:
        return
    raise BasilError(
        f"Only the member who shared {escape(memorial.name)}'s memorial, or a moderator, can {verb} it. "
        "Nothing was changed."
    )


@dataclass(frozen=True)
class QueueHead:
    """The oldest waiting memorial of a server (or, when none waits, the oldest waiting edit)."""

    memorial: Memorial  # for an edit: the memorial as it is now (its card shows this version)
    photo: Photo | None  # for an edit: the photo it would show
    waiting: int  # how many memorials (or edits) wait
    edit: PendingEdit | None = None
    approval_on: bool = True


@dataclass(frozen=True)
class EditOutcome:
    memorial: Memorial  # as saved (or, when the edit waits, as it still is)
    waits: bool  # the changes wait for a moderator
    note: str = ""  # what happened to the card, for the member


@dataclass(frozen=True)
class EditAnswer:
    shown: Memorial  # the memorial after the moderator's answer
    member_id: int  # who made the changes
    note: str = ""


class BasilService:
    """Everything Basil's Corner does besides reading commands and drawing cards."""

    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        bot.scheduler.register(KIND, self.send_anniversary)
        # One update of a server's approval notice at a time: two submissions at once must not read the counts
        # in one order and edit the notice in the other (an older count left showing).
        self._notice_locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def load(self) -> None:
        await repo.purge_drafts(self.bot.store, self.bot.now_ts() - int(DRAFT_LIFETIME.total_seconds()))
        await self.ensure_anniversaries()

    async def close(self) -> None:
        """Nothing to stop: every memorial, draft and anniversary lives in the database."""

    # reading ------------------------------------------------------------------------
    async def today(self, guild_id: int) -> date:
        settings = await self.bot.settings.get(guild_id)
        return self.bot.clock.now().astimezone(ZoneInfo(settings.timezone)).date()

    async def approval_on(self, guild_id: int) -> bool:
        return (await self.bot.settings.get(guild_id)).basil_approval

    async def get(self, memorial_id: int) -> Memorial | None:
        return await repo.get(self.bot.store, memorial_id)

    async def by_name(self, guild_id: int, key: str) -> Memorial | None:
        return await repo.get_by_key(self.bot.store, guild_id, key)

    async def photo(self, memorial_id: int) -> Photo | None:
        return await repo.get_photo(self.bot.store, memorial_id)

    async def wall(self, guild_id: int) -> list[Memorial]:
        return await repo.list_approved(self.bot.store, guild_id)

    async def search(self, guild_id: int, key: str, *, member_id: int, all_pending: bool) -> list[Memorial]:
        return await repo.search(self.bot.store, guild_id, key, member_id=member_id, all_pending=all_pending)

    async def take_notices(self, guild_id: int, member_id: int) -> list[Notice]:
        """Outcomes that could not reach the member by DM, taken (once) to be shown now."""
        async with self.bot.store.transaction() as tx:
            return await repo.take_notices(tx, guild_id, member_id)

    async def corner(self, guild_id: int, *, photo: bool = False) -> discord.TextChannel:
        """Basil's Corner, checked: it exists and the bot may post cards, reactions and threads there."""
        settings = await self.bot.settings.get(guild_id)
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            raise BasilError("I can't see this server right now; please try again in a minute. Nothing was posted.")
        needs = CORNER_NEEDS + (("attach_files",) if photo else ())
        return configured_channel(
            guild, settings.basil_channel_id, what="Basil's Corner channel", setting="basil",
            doing="post in Basil's Corner", needs=needs,
        )

    # drafts -------------------------------------------------------------------------
    async def check_daily_limit(self, guild_id: int, member_id: int) -> None:
        """At most MEMORIALS_PER_DAY memorials per member per day (moderators too: a card is a public post)."""
        since = self.bot.now_ts() - 86400
        shared = await repo.memorials_by_member_since(self.bot.store, guild_id, member_id, since)
        if shared >= MEMORIALS_PER_DAY:
            raise BasilError(
                f"You have shared {shared} memorials in the last day, the most at once. Basil's Corner will still be "
                "here tomorrow; please add the next one then."
            )

    async def check_name_free(self, guild_id: int, name: str, key: str) -> None:
        other = await repo.name_taken(self.bot.store, guild_id, key)
        if other is not None:
            raise BasilError(duplicate_name_message(escape(name), waiting=not other.is_approved))

    async def save_draft(
        self, guild_id: int, member_id: int, memorial_id: int | None, name: str, key: str,
        details: PetDetails, anniversaries: bool, photo: discord.Attachment | None,
    ) -> int:
        """Keep what a command collected until its story form comes back (forms are kept two days)."""
        ext = check_photo(photo.filename, photo.content_type, photo.size) if photo is not None else None
        return await repo.add_draft(
            self.bot.store, guild_id=guild_id, member_id=member_id, memorial_id=memorial_id, name=name,
            name_key=key, species=details.species, born=details.born, passed=details.passed,
            anniversaries=anniversaries, photo_url=photo.url if photo else None, photo_ext=ext,
            photo_type=photo.content_type if photo else None, now=self.bot.now_ts(),
        )

    async def take_draft(self, draft_id: int, member_id: int, guild_id: int | None) -> Draft:
        async with self.bot.store.transaction() as tx:
            draft = await repo.take_draft(tx, draft_id, member_id)
        if draft is None or draft.guild_id != guild_id:
            raise BasilError(
                "This form was already sent, or it is too old (forms are kept for two days). Nothing was "
                "changed; please run the command again."
            )
        return draft

    async def _fetch_photo(self, url: str | None, ext: str | None, content_type: str | None) -> Photo | None:
        if url is None or ext is None:
            return None
        try:
            data = await self.bot.http.get_from_cdn(url)
        except discord.HTTPException as exc:
            raise BasilError(
                "I couldn't fetch the photo from Discord (the upload may have expired). Please attach it again."
            ) from exc
        return Photo(photo_filename(ext), content_type or f"image/{ext}", data)

    # sharing and editing ------------------------------------------------------------
    async def create_memorial(self, draft: Draft, story: str, *, member_id: int, moderator: bool) -> Memorial:
        """A new memorial from its draft: posted now, or (approval on, not a moderator) left waiting."""
        await self.check_daily_limit(draft.guild_id, member_id)
        photo = await self._fetch_photo(draft.photo_url, draft.photo_ext, draft.photo_type)
        waits = await self.approval_on(draft.guild_id) and not moderator
        if not waits:
            await self.corner(draft.guild_id, photo=photo is not None)
        memorial = await repo.create(
            self.bot.store, guild_id=draft.guild_id, name=draft.name, name_key=draft.name_key,
            species=draft.species, born=draft.born, passed=draft.passed, story=story, author_id=draft.member_id,
            status=repo.PENDING if waits else repo.APPROVED, anniversaries=draft.anniversaries,
            now=self.bot.now_ts(), photo=photo,
        )
        if memorial is None:
            other = await repo.name_taken(self.bot.store, draft.guild_id, draft.name_key)
            raise BasilError(duplicate_name_message(escape(draft.name), waiting=bool(other and not other.is_approved)))
        if waits:
            return memorial
        try:
            return await self.publish(memorial)
        except BaseException:
            await repo.delete(self.bot.store, memorial.id)
            raise

    async def apply_edit(
        self, draft: Draft, story: str, *, guild_id: int | None, member_id: int, moderator: bool
    ) -> EditOutcome:
        """A submitted edit: saved and shown on the card, or (approval on, not a moderator) left waiting."""
        memorial = await repo.get(self.bot.store, draft.memorial_id or 0)
        if memorial is None or memorial.guild_id != guild_id:
            raise BasilError("That memorial was removed in the meantime; nothing was changed.")
        check_may_change(memorial, member_id, moderator, "edit")
        photo = await self._fetch_photo(draft.photo_url, draft.photo_ext, draft.photo_type)
        if await self.approval_on(memorial.guild_id) and memorial.is_approved and not moderator:
            # The card keeps its approved words and photo until a moderator approves the changes.
            async with self.bot.store.transaction() as tx:
                await repo.save_pending_edit(tx, repo.PendingEdit(
                    memorial_id=memorial.id, guild_id=memorial.guild_id, member_id=member_id,
                    species=draft.species, born=draft.born, passed=draft.passed, story=story,
                    anniversaries=draft.anniversaries, photo=photo, created_at=self.bot.now_ts(),
                ))
            return EditOutcome(memorial, waits=True)
        async with self.bot.store.transaction() as tx:
            if photo is not None:
                await repo.set_photo(tx, memorial.id, photo)
            updated = await repo.update_details(
                tx, memorial.id, species=draft.species, born=draft.born, passed=draft.passed,
                story=story, anniversaries=draft.anniversaries, now=self.bot.now_ts(),
            )
        assert updated is not None
        return EditOutcome(updated, waits=False, note=await self._after_update(memorial, updated))

    async def _after_update(self, before: Memorial, updated: Memorial) -> str:
        """Show changed details on the card and move the anniversary if its date or wish changed; a note."""
        note = await self._refresh_card(updated)
        if (updated.passed, updated.anniversaries) != (before.passed, before.anniversaries):
            await self._cancel_anniversaries(updated)
            await self.schedule_anniversary(updated)
        return note

    async def set_anniversaries(self, memorial: Memorial, on: bool) -> Memorial:
        """Turn the yearly posts on (queueing the next one) or off (cancelling what is queued)."""
        await repo.set_anniversaries(self.bot.store, memorial.id, on, self.bot.now_ts())
        updated = await repo.get(self.bot.store, memorial.id)
        assert updated is not None
        if on:
            await self.schedule_anniversary(updated)
        else:
            await self._cancel_anniversaries(updated)
        return updated

    async def remove(self, guild_id: int | None, memorial_id: int, *, member_id: int, moderator: bool) -> Memorial:
        """Remove a memorial with its queued anniversaries, then its card and thread on Discord."""
        memorial = await repo.get(self.bot.store, memorial_id)
        if memorial is None or memorial.guild_id != guild_id:
            raise BasilError("That memorial was already removed.")
        check_may_change(memorial, member_id, moderator, "remove")
        async with self.bot.store.transaction() as tx:
            await self.bot.scheduler.cancel_prefix(memorial.guild_id, anniversary_prefix(memorial.id), db=tx)
            if not await repo.delete(tx, memorial.id):
                raise BasilError("That memorial was already removed.")
        for channel_id, message_id in ((memorial.channel_id, memorial.message_id), (memorial.thread_id, None)):
            if channel_id is not None:
                await self._delete_quietly(channel_id, message_id)
        return memorial

    async def _delete_quietly(self, channel_id: int, message_id: int | None) -> None:
        """Delete a card (or, without ``message_id``, a thread); gone already is fine."""
        try:
            channel = await self.bot.resolve_messageable(channel_id)
            if message_id is not None:
                await self.bot.get_partial_messageable(channel_id).get_partial_message(message_id).delete()
            elif isinstance(channel, discord.Thread):
                await channel.delete()
            else:  # never a whole channel, whatever a damaged row says
                log.warning("memories thread %s of a removed memorial is not a thread; left alone", channel_id)
        except discord.NotFound:
            pass
        except discord.HTTPException as exc:
            log.warning("could not delete %s/%s of a removed memorial: %s", channel_id, message_id, exc)

    # publishing ---------------------------------------------------------------------
    async def _live_thread(self, memorial: Memorial) -> discord.Thread | None:
        """The memorial's memories thread if it is still there (and is a thread); else forgotten."""
        if memorial.thread_id is None:
            return None
        try:
            thread = await self.bot.resolve_messageable(memorial.thread_id)
        except (discord.NotFound, discord.Forbidden):
            log.info("memories thread %s of memorial %s is gone", memorial.thread_id, memorial.id)
            await repo.forget_thread(self.bot.store, memorial.thread_id)
            return None
        if not isinstance(thread, discord.Thread):
            # Tributes must never land in the channel itself: open a real thread instead.
            log.warning("memories thread %s of memorial %s is not a thread", memorial.thread_id, memorial.id)
            await repo.forget_thread(self.bot.store, memorial.thread_id)
            return None
        return thread

    @staticmethod
    async def _open_thread(memorial: Memorial, card: discord.Message | discord.PartialMessage) -> discord.Thread:
        return await card.create_thread(name=thread_name(memorial.name), auto_archive_duration=THREAD_ARCHIVE_MINUTES)

    async def publish(self, memorial: Memorial) -> Memorial:
        """Post the card (photo re-uploaded), add the reactions, open (or keep) the thread, queue the anniversary."""
        photo = await repo.get_photo(self.bot.store, memorial.id)
        channel = await self.corner(memorial.guild_id, photo=photo is not None)
        try:
            message = await channel.send(
                embed=card_embed(memorial, photo), view=card_view(memorial.id), files=photo_files(photo),
                allowed_mentions=NONE,
            )
        except discord.NotFound as exc:
            raise BasilError(
                "The Basil's Corner channel was deleted. A moderator can choose one with `/filmclub setup basil:`."
            ) from exc
        for emoji in ("🌈", "🐾"):
            try:
                await message.add_reaction(emoji)
            except discord.HTTPException as exc:
                log.warning("could not add %s to memorial card %s: %s", emoji, message.id, exc)
        thread = await self._live_thread(memorial)
        if thread is None:
            try:
                thread = await self._open_thread(memorial, message)
            except discord.HTTPException as exc:
                log.warning("could not open the memories thread for memorial %s: %s", memorial.id, exc)
        await repo.set_card(self.bot.store, memorial.id, channel_id=channel.id, message_id=message.id,
                            thread_id=thread.id if thread is not None else None)
        published = await repo.get(self.bot.store, memorial.id)
        if published is None:  # removed while the card went up
            await message.delete()
            raise gone()
        await self.schedule_anniversary(published)
        return published

    async def _refresh_card(self, memorial: Memorial) -> str:
        """Show an edit on the card (posting it again if it was deleted); a note for the member."""
        if not memorial.is_approved:
            return ""
        if memorial.channel_id is not None and memorial.message_id is not None:
            photo = await repo.get_photo(self.bot.store, memorial.id)
            try:
                await self.bot.resolve_messageable(memorial.channel_id)  # a deleted channel: NotFound
                card = self.bot.get_partial_messageable(memorial.channel_id).get_partial_message(memorial.message_id)
                await card.edit(embed=card_embed(memorial, photo), attachments=photo_files(photo),
                                view=card_view(memorial.id))
                return ""
            except discord.NotFound:
                await repo.forget_card(self.bot.store, [memorial.message_id])
        try:
            published = await self.publish(memorial)
        except UserError as exc:
            return f" The card could not be posted again: {exc.message}"
        return f" Its card was missing, so I posted it again: {published.card_url}"

    # telling members and moderators ---------------------------------------------------
    async def tell_author(self, memorial: Memorial, text: str) -> None:
        """DM the author; if DMs are closed, keep the words for their next /basil command."""
        try:
            user = self.bot.get_user(memorial.author_id) or await self.bot.fetch_user(memorial.author_id)
            await user.send(text, allowed_mentions=NONE)
            return
        except discord.HTTPException as exc:
            log.info("could not DM member %s (%s); keeping the basil notice", memorial.author_id, exc)
        await repo.add_notice(self.bot.store, memorial.guild_id, memorial.author_id, text, self.bot.now_ts())

    async def notify_queue(self, guild_id: int) -> None:
        """One notice in announcements saying how much waits for approval, edited as the queue grows."""
        async with self._notice_locks[guild_id]:
            await self._notify_queue(guild_id)

    async def _notify_queue(self, guild_id: int) -> None:
        memorials = len(await repo.list_pending(self.bot.store, guild_id))
        edits = len(await repo.list_pending_edits(self.bot.store, guild_id))
        parts = [plural(memorials, "memorial")] if memorials else []
        if edits:
            parts.append(plural(edits, "edit"))
        if not parts:
            return
        text = (
            f"🐾 Waiting for approval in Basil's Corner: {' and '.join(parts)}. Moderators can review them with "
            "`/basil queue`."
        )
        key = f"basil_queue_notice:{guild_id}"
        known = await meta.get_meta(self.bot.store, key)
        if known:
            channel_id, message_id = (int(x) for x in known.split(":"))
            try:
                notice = self.bot.get_partial_messageable(channel_id, guild_id=guild_id)
                await notice.get_partial_message(message_id).edit(content=text, allowed_mentions=NONE)
                return
            except discord.HTTPException as exc:
                log.info("basil queue notice %s gone (%s); posting a new one", message_id, exc)
        settings = await self.bot.settings.get(guild_id)
        if settings.announcements_channel_id is None:
            return
        try:
            channel = await self.bot.resolve_messageable(settings.announcements_channel_id)
            message = await channel.send(text, allowed_mentions=NONE)
        except discord.HTTPException as exc:
            log.warning("could not post the basil queue notice in guild %s: %s", guild_id, exc)
            return
        await meta.set_meta(self.bot.store, key, f"{message.channel.id}:{message.id}")

    # approval -----------------------------------------------------------------------
    async def queue_head(self, guild_id: int) -> QueueHead | None:
        """The oldest waiting memorial, else the oldest waiting edit; None when nothing waits."""
        pending = await repo.list_pending(self.bot.store, guild_id)
        edits = await repo.list_pending_edits(self.bot.store, guild_id)
        if not pending and edits:
            edit = edits[0]
            memorial = await repo.get(self.bot.store, edit.memorial_id)
            assert memorial is not None
            photo = edit.photo or await repo.get_photo(self.bot.store, memorial.id)
            return QueueHead(memorial, photo, len(edits), edit=edit)
        if not pending:
            return None
        first = pending[0]
        photo = await repo.get_photo(self.bot.store, first.id)
        return QueueHead(first, photo, len(pending), approval_on=await self.approval_on(guild_id))

    async def approve(self, guild_id: int, memorial_id: int, moderator_id: int) -> Memorial:
        """Approve a waiting memorial (once, whoever clicks first) and post its card."""
        memorial = await repo.get(self.bot.store, memorial_id)
        if (memorial is None or memorial.guild_id != guild_id
                or not await repo.claim_approval(self.bot.store, memorial_id, moderator_id, self.bot.now_ts())):
            raise handled()
        approved = await repo.get(self.bot.store, memorial_id)
        assert approved is not None
        try:
            return await self.publish(approved)
        except BaseException:
            await repo.mark_pending(self.bot.store, memorial_id)
            raise

    async def decline(self, guild_id: int, memorial_id: int) -> Memorial:
        """Drop a waiting memorial (once); nothing of it was posted."""
        memorial = await repo.get(self.bot.store, memorial_id)
        if (memorial is None or memorial.guild_id != guild_id
                or not await repo.delete_pending(self.bot.store, memorial_id)):
            raise handled()
        return memorial

    async def answer_edit(self, guild_id: int, memorial_id: int, approve: bool) -> EditAnswer:
        """Take the waiting edit (once) and apply it or drop it."""
        async with self.bot.store.transaction() as tx:
            edit = await repo.take_pending_edit(tx, memorial_id, guild_id)
            memorial = await repo.get(tx, memorial_id)
            if edit is None or memorial is None:
                raise handled()
            shown = memorial
            if approve:
                if edit.photo is not None:
                    await repo.set_photo(tx, memorial_id, edit.photo)
                updated = await repo.update_details(
                    tx, memorial_id, species=edit.species, born=edit.born, passed=edit.passed, story=edit.story,
                    anniversaries=edit.anniversaries, now=self.bot.now_ts(),
                )
                assert updated is not None
                shown = updated
        note = await self._after_update(memorial, shown) if approve else ""
        return EditAnswer(shown, edit.member_id, note)

    # tributes -----------------------------------------------------------------------
    async def tributable(self, memorial_id: int, guild_id: int | None) -> Memorial:
        memorial = await repo.get(self.bot.store, memorial_id)
        if memorial is None or memorial.guild_id != guild_id or not memorial.is_approved:
            raise BasilError("This memorial is no longer in Basil's Corner, so it can't take tributes.")
        return memorial

    async def _thread_for(self, memorial: Memorial) -> discord.Thread:
        """The memories thread, opened again under the card if it was deleted."""
        thread = await self._live_thread(memorial)
        if thread is not None:
            return thread
        if memorial.channel_id is None or memorial.message_id is None:
            raise BasilError(no_card(memorial))
        try:
            channel = await self.bot.resolve_messageable(memorial.channel_id)
            card = await channel.fetch_message(memorial.message_id)
        except discord.NotFound as exc:
            await repo.forget_card(self.bot.store, [memorial.message_id])
            raise BasilError(no_card(memorial)) from exc
        try:
            new = await self._open_thread(memorial, card)
        except discord.HTTPException as exc:
            if exc.code != THREAD_ALREADY_CREATED or not isinstance(card.channel, discord.TextChannel):
                raise
            new = await card.channel.create_thread(
                name=thread_name(memorial.name), type=discord.ChannelType.public_thread,
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
        await repo.set_card(self.bot.store, memorial.id, channel_id=memorial.channel_id,
                            message_id=memorial.message_id, thread_id=new.id)
        return new

    async def post_tribute(
        self, memorial: Memorial, embed: discord.Embed, *, member_id: int, member_name: str, text: str
    ) -> discord.Message:
        """Post a tribute in the memories thread (opened again if it went away) and keep it."""
        try:
            message = await (await self._thread_for(memorial)).send(embed=embed, allowed_mentions=NONE)
        except discord.NotFound:  # the thread went away just now: open a new one once
            if memorial.thread_id is not None:
                await repo.forget_thread(self.bot.store, memorial.thread_id)
            fresh = await self.tributable(memorial.id, memorial.guild_id)
            message = await (await self._thread_for(fresh)).send(embed=embed, allowed_mentions=NONE)
        await repo.add_tribute(
            self.bot.store, memorial_id=memorial.id, author_id=member_id, author_name=member_name,
            text=text, message_id=message.id, now=self.bot.now_ts(),
        )
        return message

    # anniversaries ------------------------------------------------------------------
    async def schedule_anniversary(
        self, memorial: Memorial, *, after_ts: int | None = None, db: Executor | None = None
    ) -> ScheduledPost | None:
        """Queue the next anniversary post; never a second one for the same memorial and year."""
        if not memorial.is_approved or not memorial.anniversaries or memorial.passed is None:
            return None
        store = db or self.bot.store
        settings = await self.bot.settings.get(memorial.guild_id)
        after = from_ts(after_ts) if after_ts is not None else self.bot.clock.now()
        due, year = next_anniversary(memorial.passed, after, settings.timezone)
        while await repo.anniversary_sent(store, memorial.id, year):  # e.g. the passing date was edited
            due, year = next_anniversary(memorial.passed, due, settings.timezone)
        key = anniversary_key(memorial.id, year)
        if await posts_repo.list_pending_by_key_prefix(store, memorial.guild_id, key):
            return None
        # This year's key may be taken by a post cancelled earlier (opt-out, edit): use a fresh one.
        for attempt in range(50):
            candidate = key if attempt == 0 else f"{key}@{int(due.timestamp())}.{attempt}"
            post = await self.bot.scheduler.schedule(
                guild_id=memorial.guild_id, kind=KIND, key=candidate, due=due,
                channel_id=settings.basil_channel_id or memorial.channel_id,
                payload={"memorial_id": memorial.id, "year": year}, db=db,
            )
            if post is not None:
                return post
            existing = await posts_repo.get_by_key(store, candidate)
            if existing is not None and existing.status == posts_repo.SENDING:
                return None  # this year's is going out right now
        log.error("no free anniversary key for memorial %s in %s", memorial.id, year)
        return None

    async def _cancel_anniversaries(self, memorial: Memorial) -> None:
        await self.bot.scheduler.cancel_prefix(memorial.guild_id, anniversary_prefix(memorial.id))

    async def ensure_anniversaries(self) -> None:
        """At startup: every memorial that wants anniversaries has its next one queued."""
        # One query for what is queued already, so a restart with thousands of memorials does not check
        # each one (docs/benchmarks.md, scale): only memorials without a queued anniversary are looked at.
        # A post already due (about to go out late, or to be marked missed) gets the full check as before.
        now = self.bot.now_ts()
        ahead = {key.split(":anniv:", 1)[0] for key, at in (await posts_repo.active_keys(self.bot.store, KIND)).items()
                 if at > now}
        for memorial in await repo.list_with_anniversaries(self.bot.store, shards=self.bot.shard_range):
            if anniversary_prefix(memorial.id).split(":anniv:", 1)[0] in ahead:
                continue
            try:
                await self.schedule_anniversary(memorial)
            except Exception:
                log.exception("could not queue the anniversary of memorial %s", memorial.id)

    async def _card_url(self, memorial: Memorial) -> str | None:
        """The card's link if the card is still there (a deleted card is forgotten)."""
        if memorial.channel_id is None or memorial.message_id is None:
            return None
        try:
            channel = await self.bot.resolve_messageable(memorial.channel_id)
            await channel.fetch_message(memorial.message_id)
        except discord.NotFound:
            await repo.forget_card(self.bot.store, [memorial.message_id])
            return None
        except discord.HTTPException as exc:
            log.info("could not check the card of memorial %s: %s", memorial.id, exc)
        return memorial.card_url

    async def send_anniversary(self, post: ScheduledPost) -> int | None:
        memorial_id = int(post.payload["memorial_id"])
        year = int(post.payload["year"])
        memorial = await repo.get(self.bot.store, memorial_id)
        if memorial is None or not memorial.is_approved or memorial.passed is None:
            raise PostObsolete("the memorial was removed")
        if not memorial.anniversaries:
            raise PostObsolete("anniversaries are off for this memorial")
        if await repo.anniversary_sent(self.bot.store, memorial_id, year):
            raise PostObsolete("this year's anniversary was already posted")
        # Queue next year's first, so a failure here never loses the years after.
        await self.schedule_anniversary(memorial, after_ts=post.due_at)
        settings = await self.bot.settings.get(memorial.guild_id)
        channel_id = settings.basil_channel_id or post.channel_id
        if channel_id is None:
            raise PostObsolete("Basil's Corner has no channel")
        channel = await self.bot.resolve_messageable(channel_id)
        years = year - memorial.passed.year
        message = await channel.send(
            anniversary_text(escape(memorial.name), years, await self._card_url(memorial)), nonce=post.nonce,
            allowed_mentions=NONE,
        )
        await repo.record_anniversary(
            self.bot.store, memorial_id=memorial.id, year=year, years=years, channel_id=channel_id,
            message_id=message.id, now=self.bot.now_ts(),
        )
        return message.id

    # cards, threads and channels deleted on Discord -----------------------------------
    async def cards_deleted(self, message_ids: list[int]) -> None:
        await repo.forget_card(self.bot.store, message_ids)

    async def thread_deleted(self, thread_id: int) -> None:
        await repo.forget_thread(self.bot.store, thread_id)

    async def channel_deleted(self, channel_id: int) -> None:
        await repo.forget_channel(self.bot.store, channel_id)
