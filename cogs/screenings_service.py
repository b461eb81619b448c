"""Screenings: what happens around a screening besides the commands.

- the announcement (render, debounced refresh of the RSVP counts)
- the queue of scheduled posts per screening (reminders, Now showing, finish, discussion)
- the thread on the announcement, the native Discord scheduled event
- the scheduler handlers

Keys of the scheduled posts (all start with ``screening:<id>:`` so one ``cancel_prefix`` clears them):
``screening:<id>:reminder:<offset s>@<start>``, ``screening:<id>:personal:<member>:<offset s>@<start>``,
``screening:<id>:start@<start>``, ``screening:<id>:finish@<end>``, ``screening:<id>:discussion@<due>``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

import discord

from bot.domain import screenings as rules
from bot.domain.films import Film, load_catalogue
from bot.domain.offsets import format_offset, parse_offsets
from bot.render import clip, ts, ts_full
from bot.scheduler import PostObsolete, from_ts
from cogs.screenings_views import announcement_embed, rating_view, rsvp_view
from db import screenings as repo
from db.scheduled_posts import ScheduledPost
from db.screenings import ReminderPref, Screening
from db.store import Executor

if TYPE_CHECKING:
    from bot.app import FilmClubBot

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 2.0
MENTIONS_PER_MESSAGE = 50  # Discord accepts at most 100 users in allowed_mentions
THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080
THREAD_EXISTS = 160004  # "A thread has already been created for this message"
CANNOT_DM = 50007

KIND_REMINDER = "screening.reminder"
KIND_PERSONAL = "screening.personal_reminder"
KIND_START = "screening.start"
KIND_FINISH = "screening.finish"
KIND_DISCUSSION = "screening.discussion"


def prefix(screening_id: int) -> str:
    return f"screening:{screening_id}:"


def personal_prefix(screening_id: int, user_id: int) -> str:
    return f"screening:{screening_id}:personal:{user_id}:"


def ping(user_ids: Sequence[int]) -> discord.AllowedMentions:
    """Exactly these members, never a role or everyone."""
    return discord.AllowedMentions(
        users=[discord.Object(uid) for uid in user_ids], everyone=False, roles=False, replied_user=False
    )


def chunks(items: Sequence[int], size: int) -> list[Sequence[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def personal_offsets(pref: ReminderPref | None) -> list[timedelta]:
    if pref is None:
        return []
    try:
        return parse_offsets(pref.offsets)
    except Exception:  # a stored value that no longer parses: no personal reminders
        return []


class ScreeningService:
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        self._dirty: set[int] = set()
        self._tasks: dict[int, asyncio.Task[None]] = {}

    # ------------------------------------------------------------------ films & counts
    @staticmethod
    def film_for(s: Screening) -> Film | None:
        return load_catalogue().get(s.film_key)

    async def counts(self, screening_id: int) -> rules.RsvpCounts:
        answers = await repo.rsvp_answers(self.bot.store, screening_id)
        interested = await repo.interested_members(self.bot.store, screening_id)
        return rules.count_rsvps(answers, interested)

    async def lists(self, screening_id: int) -> rules.RsvpLists:
        answers = await repo.rsvp_answers(self.bot.store, screening_id)
        interested = await repo.interested_members(self.bot.store, screening_id)
        return rules.rsvp_lists(answers, interested)

    async def render(self, s: Screening) -> tuple[discord.Embed, discord.ui.View | None]:
        embed = announcement_embed(s, await self.counts(s.id), self.film_for(s))
        return embed, (rsvp_view(s.id) if s.status == repo.SCHEDULED else None)

    # ------------------------------------------------------------------ announcement refresh
    def announcement(self, s: Screening) -> discord.PartialMessage | None:
        if s.message_id is None:
            return None
        channel = self.bot.get_partial_messageable(s.channel_id, guild_id=s.guild_id)
        return channel.get_partial_message(s.message_id)

    async def refresh_now(self, screening_id: int) -> None:
        s = await repo.get_screening(self.bot.store, screening_id)
        message = self.announcement(s) if s else None
        if s is None or message is None:
            return
        embed, view = await self.render(s)
        try:
            await message.edit(embed=embed, view=view)
        except discord.HTTPException as exc:
            log.warning("could not update the announcement of screening %s: %s", screening_id, exc)

    def request_refresh(self, screening_id: int) -> None:
        """Coalesce announcement edits: at most one per DEBOUNCE_SECONDS of bot clock per screening."""
        self._dirty.add(screening_id)
        if screening_id not in self._tasks:
            self._tasks[screening_id] = asyncio.create_task(self._refresher(screening_id))

    async def _refresher(self, screening_id: int) -> None:
        try:
            while screening_id in self._dirty:
                await self.bot.clock.sleep(DEBOUNCE_SECONDS)
                self._dirty.discard(screening_id)
                await self.refresh_now(screening_id)
        except Exception:  # a background task: nobody else would see the error
            log.exception("refreshing the announcement of screening %s failed", screening_id)
        finally:
            self._tasks.pop(screening_id, None)

    def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()

    # ------------------------------------------------------------------ queueing posts
    async def queue_all(self, db: Executor, s: Screening, server_offsets: str) -> None:
        """Queue every post of an upcoming screening (also used after a reschedule)."""
        now = self.bot.clock.now()
        start = s.start
        for offset, due in rules.reminder_times(start, parse_offsets(server_offsets), now):
            secs = int(offset.total_seconds())
            await self.bot.scheduler.schedule(
                guild_id=s.guild_id, kind=KIND_REMINDER, key=f"{prefix(s.id)}reminder:{secs}@{s.starts_at}",
                due=due, channel_id=s.channel_id,
                payload={"screening_id": s.id, "offset": secs, "label": f"Reminder {format_offset(offset)}: {s.label}"},
                db=db,
            )
        going = await repo.going_members(db, s.id)
        prefs = await repo.reminder_prefs_for(db, s.guild_id, going)
        for uid, pref in prefs.items():
            await self.queue_personal(db, s, uid, pref)
        await self.bot.scheduler.schedule(
            guild_id=s.guild_id, kind=KIND_START, key=f"{prefix(s.id)}start@{s.starts_at}", due=start,
            channel_id=s.channel_id, payload={"screening_id": s.id, "label": f"Now showing: {s.label}"}, db=db,
        )
        await self.bot.scheduler.schedule(
            guild_id=s.guild_id, kind=KIND_FINISH, key=f"{prefix(s.id)}finish@{s.ends_at}", due=s.end,
            channel_id=s.channel_id, payload={"screening_id": s.id, "label": f"Finished: {s.label}"}, db=db,
        )
        await self.bot.scheduler.schedule(
            guild_id=s.guild_id, kind=KIND_DISCUSSION, key=f"{prefix(s.id)}discussion@{s.discussion_at}",
            due=from_ts(s.discussion_at), channel_id=s.channel_id,
            payload={"screening_id": s.id, "label": f"Discussion: {s.label}"}, db=db,
        )

    async def queue_personal(self, db: Executor, s: Screening, user_id: int, pref: ReminderPref | None) -> int:
        queued = 0
        for offset, due in rules.reminder_times(s.start, personal_offsets(pref), self.bot.clock.now()):
            secs = int(offset.total_seconds())
            post = await self.bot.scheduler.schedule(
                guild_id=s.guild_id, kind=KIND_PERSONAL, key=f"{personal_prefix(s.id, user_id)}{secs}@{s.starts_at}",
                due=due, channel_id=s.channel_id, member_id=user_id,
                payload={"screening_id": s.id, "offset": secs, "via": pref.via if pref else "dm",
                         "label": f"Personal reminder {format_offset(offset)}: {s.label}"},
                db=db,
            )
            queued += post is not None
        return queued

    # ------------------------------------------------------------------ the thread
    async def ensure_thread(self, s: Screening, name: str) -> int:
        """The id of the thread on the announcement, creating it when there is none yet."""
        if s.thread_id is not None:
            return s.thread_id
        message = self.announcement(s)
        if message is None:
            raise PostObsolete("the announcement is gone")
        guild = self.bot.get_guild(s.guild_id)
        channel = guild.get_channel(s.channel_id) if guild else None
        if isinstance(channel, discord.TextChannel):
            message = channel.get_partial_message(s.message_id or 0)
        try:
            thread = await message.create_thread(name=clip(name, 100), auto_archive_duration=THREAD_ARCHIVE_MINUTES)
            thread_id = thread.id
        except discord.HTTPException as exc:
            if exc.code != THREAD_EXISTS:
                raise
            thread_id = message.id  # a thread started from a message has the message's id
        await repo.set_thread(self.bot.store, s.id, thread_id, self.bot.now_ts())
        return thread_id

    async def rename_thread(self, thread_id: int, name: str) -> None:
        try:
            thread = self.bot.get_channel(thread_id) or await self.bot.fetch_channel(thread_id)
            if isinstance(thread, discord.Thread) and thread.name != name:
                await thread.edit(name=clip(name, 100), archived=False)
        except discord.HTTPException as exc:
            log.info("could not rename thread %s: %s", thread_id, exc)

    async def send_pings(
        self, channel_id: int, text: str, members: Sequence[int], *, nonce: str | None = None,
        guild_id: int | None = None,
    ) -> int:
        """Send ``text`` mentioning exactly ``members`` (in chunks); returns the first message's id."""
        channel = self.bot.get_partial_messageable(channel_id, guild_id=guild_id)
        first: int | None = None
        for i, part in enumerate(chunks(list(members), MENTIONS_PER_MESSAGE)):
            mentions = " ".join(f"<@{uid}>" for uid in part)
            content = f"{text}\n{mentions}".strip() if i == 0 else mentions
            message = await channel.send(
                content, allowed_mentions=ping(part),
                nonce=(nonce if i == 0 else f"{nonce}-{i}") if nonce else None,  # type: ignore[arg-type]
            )
            first = first or message.id
        assert first is not None
        return first

    # ------------------------------------------------------------------ the native event
    async def fetch_event(self, guild_id: int, event_id: int | None) -> discord.ScheduledEvent | None:
        guild = self.bot.get_guild(guild_id)
        if guild is None or event_id is None:
            return None
        event = guild.get_scheduled_event(event_id)
        if event is not None:
            return event
        try:
            return await guild.fetch_scheduled_event(event_id)
        except discord.HTTPException:
            return None

    async def count_active_events(self, guild: discord.Guild) -> int:
        try:
            events = await guild.fetch_scheduled_events(with_counts=False)
        except discord.HTTPException:
            events = list(guild.scheduled_events)
        active = (discord.EventStatus.scheduled, discord.EventStatus.active)
        return sum(1 for e in events if e.status in active)

    async def create_event(
        self, guild: discord.Guild, s: Screening, voice: discord.VoiceChannel | discord.StageChannel | None
    ) -> tuple[int | None, str | None]:
        """Create the native event; (event id, what went wrong for the moderator)."""
        perms = voice.permissions_for(guild.me) if voice is not None else guild.me.guild_permissions
        if not (perms.manage_events or perms.create_events):
            return None, (
                "I couldn't create the Discord event: I need the **Manage Events** (or **Create Events**) "
                "permission. The screening itself works without it."
            )
        if await self.count_active_events(guild) >= rules.MAX_ACTIVE_EVENTS:
            return None, (
                f"I couldn't create the Discord event: this server already has {rules.MAX_ACTIVE_EVENTS} "
                "scheduled events, Discord's limit. The screening itself works; end or delete an old event "
                "if you want one."
            )
        film = self.film_for(s)
        parts = [film.premise] if film and film.premise else []
        if s.notes:
            parts.append(s.notes)
        if s.jump_url:
            parts.append(f"RSVP here: {s.jump_url}")
        description = clip("\n\n".join(parts), 1000)
        common = {
            "name": clip(s.label, 100), "start_time": s.start, "end_time": s.end, "description": description,
            "privacy_level": discord.PrivacyLevel.guild_only,
        }
        try:
            if voice is not None:
                kind = (
                    discord.EntityType.stage_instance if isinstance(voice, discord.StageChannel)
                    else discord.EntityType.voice
                )
                event = await guild.create_scheduled_event(entity_type=kind, channel=voice, **common)  # type: ignore[call-overload]
            else:
                channel = guild.get_channel(s.channel_id)
                location = s.location or (f"#{channel.name}" if channel else "Online")
                event = await guild.create_scheduled_event(
                    entity_type=discord.EntityType.external, location=clip(location, rules.MAX_WHERE), **common
                )  # type: ignore[call-overload]
        except discord.Forbidden:
            return None, "Discord refused to create the event (missing **Manage Events**). The screening still works."
        except discord.HTTPException as exc:
            log.warning("could not create the event of screening %s: %s", s.id, exc)
            return None, f"Discord didn't create the event ({exc.text or exc.status}). The screening still works."
        await repo.set_event(self.bot.store, s.id, event.id, self.bot.now_ts())
        return event.id, None

    async def set_event_status(self, s: Screening, status: discord.EventStatus) -> None:
        event = await self.fetch_event(s.guild_id, s.event_id)
        if event is None:
            return
        allowed = {
            discord.EventStatus.active: (discord.EventStatus.scheduled,),
            discord.EventStatus.completed: (discord.EventStatus.active,),
            discord.EventStatus.cancelled: (discord.EventStatus.scheduled,),
        }[status]
        if status is discord.EventStatus.cancelled and event.status is discord.EventStatus.active:
            status, allowed = discord.EventStatus.completed, (discord.EventStatus.active,)
        if event.status not in allowed:
            return
        try:
            await event.edit(status=status)
        except (discord.HTTPException, ValueError, TypeError) as exc:
            log.info("could not set event %s of screening %s to %s: %s", s.event_id, s.id, status, exc)

    async def move_event(self, s: Screening) -> str | None:
        event = await self.fetch_event(s.guild_id, s.event_id)
        if event is None:
            return None
        try:
            await event.edit(start_time=s.start, end_time=s.end)
        except (discord.HTTPException, ValueError, TypeError) as exc:
            log.info("could not move event %s: %s", s.event_id, exc)
            return "I couldn't move the Discord event; please edit it by hand."
        return None

    # ------------------------------------------------------------------ scheduler handlers
    async def _live(self, post: ScheduledPost, *, allow: tuple[str, ...] = (repo.SCHEDULED,)) -> Screening:
        s = await repo.get_screening(self.bot.store, int(post.payload.get("screening_id", 0)), post.guild_id)
        if s is None or s.status not in allow:
            raise PostObsolete("the screening was cancelled or has moved on")
        return s

    async def on_reminder(self, post: ScheduledPost) -> int | None:
        s = await self._live(post)
        going = await repo.going_members(self.bot.store, s.id)
        own = await repo.reminder_prefs_for(self.bot.store, s.guild_id, going)
        members = [uid for uid in going if uid not in own]  # members with their own settings get their own
        thread_id = await self.ensure_thread(s, f"{s.title}: watch party")
        where = f" in <#{s.voice_channel_id}>" if s.voice_channel_id else ""
        text = f"⏰ **{s.label}** starts {ts(s.starts_at, 'R')} ({ts(s.starts_at, 't')}){where}."
        text += " See you there!" if members else " Nobody has said Going yet: there's still time!"
        return await self.send_pings(thread_id, text, members, nonce=post.nonce, guild_id=s.guild_id)

    async def on_personal_reminder(self, post: ScheduledPost) -> int | None:
        s = await self._live(post)
        uid = post.member_id or 0
        if await repo.get_rsvp(self.bot.store, s.id, uid) != "going":
            raise PostObsolete("the member is no longer going")
        pref = await repo.get_reminder_pref(self.bot.store, s.guild_id, uid)
        offset = timedelta(seconds=int(post.payload.get("offset", 0)))
        if offset not in personal_offsets(pref):
            raise PostObsolete("the member changed their reminder settings")
        assert pref is not None
        text = f"⏰ Reminder: **{s.label}** starts {ts_full(s.starts_at)}."
        if pref.via == "dm":
            guild = self.bot.get_guild(s.guild_id)
            try:
                user = self.bot.get_user(uid) or await self.bot.fetch_user(uid)
                dm = await user.create_dm()
                link = f" {s.jump_url}" if s.jump_url else ""
                where = f" on {guild.name}" if guild else ""
                message = await dm.send(f"{text}{where}{link}", nonce=post.nonce)
                return message.id
            except discord.Forbidden as exc:
                if exc.code != CANNOT_DM:
                    raise
                log.info("member %s can't be DMed; reminding in the thread instead", uid)
        thread_id = await self.ensure_thread(s, f"{s.title}: watch party")
        return await self.send_pings(thread_id, text, [uid], nonce=post.nonce, guild_id=s.guild_id)

    async def on_start(self, post: ScheduledPost) -> int | None:
        s = await self._live(post)
        channel = self.bot.get_partial_messageable(s.channel_id, guild_id=s.guild_id)
        where = f" in <#{s.voice_channel_id}>" if s.voice_channel_id else (f" at {s.location}" if s.location else "")
        link = f"\n{s.jump_url}" if s.jump_url else ""
        message = await channel.send(
            f"🍿 **Now showing: {s.label}**{where}! Runtime {s.runtime} min, ends about {ts(s.ends_at, 't')}.{link}",
            nonce=post.nonce, allowed_mentions=discord.AllowedMentions.none(),
        )
        await repo.mark_live(self.bot.store, s.id, self.bot.now_ts())
        await self.set_event_status(s, discord.EventStatus.active)
        await self.refresh_now(s.id)
        return message.id

    async def on_finish(self, post: ScheduledPost) -> int | None:
        s = await self._live(post, allow=(repo.SCHEDULED, repo.LIVE))
        await self.finish(s)
        return None

    async def finish(self, s: Screening) -> Screening:
        if await repo.mark_finished(self.bot.store, s.id, self.bot.now_ts()):
            await self.set_event_status(s, discord.EventStatus.completed)
            await self.refresh_now(s.id)
            done = await repo.get_screening(self.bot.store, s.id)
            assert done is not None
            self.bot.dispatch("screening_finished", done)
            return done
        return s

    async def on_discussion(self, post: ScheduledPost) -> int | None:
        s = await self._live(post, allow=(repo.SCHEDULED, repo.LIVE, repo.FINISHED))
        if s.status != repo.FINISHED:
            s = await self.finish(s)
        name = f"{s.title}: what did we think?"
        if s.thread_id is not None:
            await self.rename_thread(s.thread_id, name)
        thread_id = await self.ensure_thread(s, name)
        channel = self.bot.get_partial_messageable(thread_id, guild_id=s.guild_id)
        message = await channel.send(
            f"🎞️ **{s.label}**: what did we think? Rate it from 1 to 5 thumbs with the buttons below "
            "(you can change your mind), or use `/rate` to add a few words. `/ratings board` shows the club's "
            "verdicts.",
            view=rating_view(s.id), nonce=post.nonce, allowed_mentions=discord.AllowedMentions.none(),
        )
        return message.id
