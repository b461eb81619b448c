"""Screenings: what happens around a screening besides the commands.

- the announcement (render, debounced refresh of the RSVP counts; a hash of what it shows is kept, so
  a pending edit is sent at shutdown, and at startup anything missed while away is drawn once)
- the queue of scheduled posts per screening (reminders, Now showing, finish, discussion)
- the thread on the announcement (reminders and discussion go to the channel when there can't be one),
  the native Discord scheduled event
- the scheduler handlers

Keys of the scheduled posts (all start with ``screening:<id>:`` so one ``cancel_prefix`` clears them):
``screening:<id>:reminder:<offset s>@<start>``, ``screening:<id>:personal:<member>:<offset s>@<start>``,
``screening:<id>:start@<start>``, ``screening:<id>:finish@<end>``, ``screening:<id>:discussion@<due>``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

import discord

from bot.charts import bar_chart_png
from bot.domain import markers, posts
from bot.domain import screenings as rules
from bot.domain.films import Film, is_choice_for, load_catalogue, normalize_title, parse_title_year
from bot.domain.ics import build_ics
from bot.domain.offsets import format_offset, parse_offsets
from bot.domain.series import TBA_KEY
from bot.errors import UserError
from bot.render import clip, escape, ts, ts_full
from bot.scheduler import PostObsolete, from_ts
from cogs.screenings.views import (
    CHART_FILMS,
    announcement_embed,
    board_pages,
    film_board_embed,
    list_embed,
    rating_view,
    rsvp_view,
)
from db import dm_channels as dm_repo
from db import screenings as repo
from db.cache import ReadCache
from db.scheduled_posts import ScheduledPost
from db.screenings import Rating, ReminderPref, Screening
from db.store import Executor, StoreError

if TYPE_CHECKING:
    from bot.app import FilmClubBot

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 2.0
MENTIONS_PER_MESSAGE = 50  # Discord accepts at most 100 users in allowed_mentions
THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080
THREAD_EXISTS = 160004  # "A thread has already been created for this message"
DM_CLOSED_MEMORY = 7 * 86400  # seconds a refused DM is remembered before trying the member's DMs again
EVENT_LIMIT = 30038  # "Maximum number of uncompleted guild scheduled events reached"
CATCH_UP_DAYS = 3  # at startup, also redraw announcements whose screening changed this recently
LIST_SIZE = 20  # screenings shown by `/screening list`
INTEREST_EVENTS = {"GUILD_SCHEDULED_EVENT_USER_ADD": True, "GUILD_SCHEDULED_EVENT_USER_REMOVE": False}

KIND_REMINDER = posts.SCREENING_REMINDER
KIND_PERSONAL = posts.SCREENING_PERSONAL_REMINDER
KIND_START = posts.SCREENING_START
KIND_FINISH = posts.SCREENING_FINISH
KIND_DISCUSSION = posts.SCREENING_DISCUSSION


prefix = markers.screening_key_prefix
personal_prefix = markers.screening_personal_prefix


def ping(user_ids: Sequence[int]) -> discord.AllowedMentions:
    """Exactly these members, never a role or everyone."""
    return discord.AllowedMentions(
        users=[discord.Object(uid) for uid in user_ids], everyone=False, roles=False, replied_user=False
    )


def chunks(items: Sequence[int], size: int) -> list[Sequence[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def personal_offsets(pref: ReminderPref | None) -> list[timedelta] | None:
    """A member's own reminder offsets; None when they have none of their own, or when the stored value no
    longer reads (logged): either way the server's reminders are theirs."""
    if pref is None:
        return None
    try:
        return parse_offsets(pref.offsets)
    except UserError as exc:
        log.warning(
            "member %s of guild %s has unreadable reminder settings %r (%s); they get the server's reminders",
            pref.user_id, pref.guild_id, pref.offsets, exc.message,
        )
        return None


@dataclass(frozen=True)
class Board:
    """A drawn ratings board: its pages (each showing the chart) and the chart's PNG."""

    pages: tuple[discord.Embed, ...]
    png: bytes


BoardKey = tuple[int, str | None, str | None, int | None]
FilmRef = tuple[str, str, int | None]  # (film key, title, year)


class NoThread(Exception):
    """A screening without an announcement to hang a thread on."""


class EventLimitReached(UserError):
    """The server has Discord's maximum of active scheduled events."""

    def __init__(self) -> None:
        super().__init__(
            f"This server already has {rules.MAX_ACTIVE_EVENTS} upcoming or active Discord events, Discord's limit, "
            "so I can't add one for this screening. End or delete an old event in the server's Events list and try "
            "again, or schedule it without a Discord event (`discord_event: False`). Nothing was scheduled."
        )


class ScreeningService:
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        self._dirty: set[int] = set()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._catch_up: asyncio.Task[None] | None = None
        # Read models served again until the database changes (db/cache.py; docs/benchmarks.md).
        self.list_cache: ReadCache[int, discord.Embed] = ReadCache(bot.store, size=256)
        self.board_cache: ReadCache[BoardKey, Board] = ReadCache(bot.store, size=64)
        sched = bot.scheduler
        sched.register(KIND_REMINDER, self.on_reminder)
        sched.register(KIND_PERSONAL, self.on_personal_reminder)
        sched.register(KIND_START, self.on_start)
        sched.register(KIND_FINISH, self.on_finish)
        sched.register(KIND_DISCUSSION, self.on_discussion)

    # ------------------------------------------------------------------ start and stop
    async def load(self) -> None:
        """Once the servers are in: catch up on what happened while away, then let the series plan."""
        self._catch_up = asyncio.create_task(self._catch_up_when_ready(), name="filmclub-screenings-catch-up")

    async def _catch_up_when_ready(self) -> None:
        await self.bot.wait_until_ready()
        try:
            edited = await self.catch_up()
            await self.bot.series.start()
        except Exception:  # a background task: log it, the bot carries on
            log.exception("catching up on screenings at startup failed")
            return
        if edited:
            log.info("brought %d screening announcements up to date", edited)

    async def close(self) -> None:
        if self._catch_up is not None:
            self._catch_up.cancel()
        await self.flush()  # an RSVP count edit still waiting out its debounce goes out now

    # ------------------------------------------------------------------ reading screenings
    async def own(self, guild_id: int, screening_id: int) -> Screening:
        """This server's screening #id, or a clear error (another server's number reads as unknown)."""
        s = await repo.get_screening(self.bot.store, screening_id, guild_id)
        if s is None:
            raise UserError(f"There is no screening #{screening_id} on this server. `/screening list` shows them.")
        return s

    async def upcoming(self, guild_id: int, limit: int = 25) -> list[Screening]:
        return await repo.list_upcoming(self.bot.store, guild_id, limit=limit)

    async def clashes(
        self, guild_id: int, channel_id: int, starts_at: int, runtime: int, *, exclude_id: int | None = None
    ) -> list[Screening]:
        """Other screenings in the channel overlapping ``starts_at`` for ``runtime`` minutes."""
        return await repo.overlapping(
            self.bot.store, guild_id, channel_id, starts_at, starts_at + runtime * 60, exclude_id=exclude_id
        )

    async def list_page(self, guild_id: int) -> discord.Embed:
        """The `/screening list` embed, kept until the database changes."""
        return await self.list_cache.get(guild_id, lambda: self._list_embed(guild_id))

    async def _list_embed(self, guild_id: int) -> discord.Embed:
        # Three queries whatever the number of screenings (docs/benchmarks.md: interaction latency).
        upcoming = await repo.list_upcoming(self.bot.store, guild_id, limit=LIST_SIZE)
        total = len(upcoming) if len(upcoming) < LIST_SIZE else await repo.count_upcoming(self.bot.store, guild_id)
        answers, interested = await repo.rsvps_for(self.bot.store, [s.id for s in upcoming])
        items = [(s, rules.count_rsvps(answers[s.id], interested[s.id])) for s in upcoming]
        return list_embed(items, total=total)

    async def raters(self, s: Screening) -> list[Rating]:
        return await repo.ratings_for_film(self.bot.store, s.guild_id, s.film_key)

    def ics(self, s: Screening) -> bytes:
        """A calendar file for one screening."""
        film = self.film_for(s)
        description = "\n\n".join(
            x for x in ((film.premise if film else None), s.notes, s.jump_url and f"RSVP: {s.jump_url}") if x
        )
        voice = self.bot.get_channel(s.voice_channel_id or 0)
        where = s.location or (f"#{voice.name}" if isinstance(voice, discord.abc.GuildChannel) else None)
        return build_ics(
            uid=f"screening-{s.id}-{s.guild_id}@filmclub", title=f"Watch party: {s.label}", start=s.start,
            end=s.end, stamp=self.bot.clock.now(), description=description or None, location=where,
            url=s.jump_url, sequence=max(0, s.updated_at - s.created_at),
        )

    # ------------------------------------------------------------------ members' answers
    async def set_rsvp(self, s: Screening, user_id: int, answer: str) -> str | None:
        """Record a member's answer (their personal reminders follow Going); returns the answer before."""
        async with self.bot.store.transaction() as tx:
            before = await repo.set_rsvp(tx, s.id, user_id, answer, self.bot.now_ts())
            if before == "going" and answer != "going":
                await self.bot.scheduler.cancel_prefix(s.guild_id, personal_prefix(s.id, user_id), db=tx)
            if answer == "going" and before != "going":
                pref = await repo.get_reminder_pref(tx, s.guild_id, user_id)
                await self.queue_personal(tx, s, user_id, pref)
        if before != answer:
            self.request_refresh(s.id)
        return before

    async def on_gateway_frame(self, msg: str | bytes) -> None:
        """A raw gateway frame (discord.py's debug events): hear "Interested" on native events even when the
        member is not cached (discord.py only dispatches ``scheduled_event_user_add`` for cached users, and this
        bot has no members intent)."""
        text = msg.decode() if isinstance(msg, bytes) else msg
        if "GUILD_SCHEDULED_EVENT_USER_" not in text:
            return
        try:
            frame: dict[str, Any] = json.loads(text)
        except ValueError:
            return
        added = INTEREST_EVENTS.get(frame.get("t") or "")
        data = frame.get("d")
        if added is None or not isinstance(data, dict):
            return
        await self.event_interest(int(data["guild_scheduled_event_id"]), int(data["user_id"]), added)

    async def event_interest(self, event_id: int, user_id: int, added: bool) -> None:
        """A member marked (or unmarked) "Interested" on a screening's native event: counted as Maybe until
        they answer with a button."""
        s = await repo.get_by_event(self.bot.store, event_id)
        if s is None or s.status != repo.SCHEDULED:
            return
        if added:
            changed = await repo.add_interest(self.bot.store, s.id, user_id, self.bot.now_ts())
        else:
            changed = await repo.remove_interest(self.bot.store, s.id, user_id)
        if changed:
            self.request_refresh(s.id)

    # ------------------------------------------------------------------ personal reminder settings
    async def reminder_pref(self, guild_id: int, user_id: int) -> ReminderPref | None:
        return await repo.get_reminder_pref(self.bot.store, guild_id, user_id)

    async def set_reminder_pref(
        self, guild_id: int, user_id: int, offsets: str | None, via: str
    ) -> ReminderPref | None:
        """Save a member's reminder settings (``offsets`` None: back to the server's) and queue their reminders
        again for every upcoming screening they are Going to. Returns the settings now stored."""
        async with self.bot.store.transaction() as tx:
            await dm_repo.forget_closed(tx, user_id)  # changed settings: the next DM reminder tries their DMs again
            if offsets is None:
                await repo.clear_reminder_pref(tx, guild_id, user_id)
            else:
                await repo.set_reminder_pref(tx, guild_id, user_id, offsets, via, self.bot.now_ts())
            pref = await repo.get_reminder_pref(tx, guild_id, user_id)
            for s in await repo.upcoming_going_for_member(tx, guild_id, user_id):
                await self.bot.scheduler.cancel_prefix(guild_id, personal_prefix(s.id, user_id), db=tx)
                await self.queue_personal(tx, s, user_id, pref)
        return pref

    # ------------------------------------------------------------------ ratings
    async def rate(
        self, guild_id: int, film: FilmRef, user_id: int, thumbs: int, review: str | None,
        *, screening_id: int | None = None,
    ) -> tuple[Rating, bool]:
        """Save a member's rating of a film; returns (the rating, whether it is new)."""
        key, title, year = film
        return await repo.set_rating(
            self.bot.store, guild_id, key, user_id, thumbs, review, self.bot.now_ts(),
            title=title, year=year, screening_id=screening_id,
        )

    async def screened_films(self, guild_id: int) -> list[FilmRef]:
        return await repo.screened_films(self.bot.store, guild_id)

    async def rated_films(self, guild_id: int) -> list[FilmRef]:
        return await repo.rated_films(self.bot.store, guild_id)

    async def ratings_of(self, guild_id: int, user_id: int) -> list[Rating]:
        return await repo.ratings_for_member(self.bot.store, guild_id, user_id)

    async def screened_film(self, guild_id: int, text: str) -> FilmRef:
        """The screened film a member means by ``text`` (a choice from the list, or a title and maybe a year)."""
        films = await repo.screened_films(self.bot.store, guild_id)
        for key, title, year in films:
            if is_choice_for(key, text):
                return key, title, year
        bare, year_given = parse_title_year(text)
        wanted = normalize_title(bare)
        hits = [f for f in films if normalize_title(f[1]) == wanted and (year_given is None or f[2] == year_given)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise UserError(f"Several screened films are called `{escape(bare)}`: pick one from the list.")
        upcoming = await repo.list_upcoming(self.bot.store, guild_id, limit=100)
        if any(normalize_title(s.title) == wanted for s in upcoming):
            raise UserError(f"You can rate `{escape(bare)}` once its screening has finished.")
        raise UserError(
            f"`{escape(clip(bare, 80))}` hasn't been screened on this server yet. Pick a film from the list."
        )

    async def rated_film(self, guild_id: int, text: str) -> FilmRef:
        films = await repo.rated_films(self.bot.store, guild_id)
        bare, year_given = parse_title_year(text)
        wanted = normalize_title(bare)
        for f in films:
            if is_choice_for(f[0], text):
                return f
        hits = [f for f in films if normalize_title(f[1]) == wanted and (year_given is None or f[2] == year_given)]
        if len(hits) == 1:
            return hits[0]
        raise UserError(f"Nobody has rated `{escape(clip(bare, 80))}` here yet. Pick a film from the list.")

    async def has_ratings(self, guild_id: int) -> bool:
        return await repo.has_ratings(self.bot.store, guild_id)

    async def board(self, guild_id: int, film: FilmRef | None) -> Board:
        """The ratings board (one film's, or the club's), drawn off the event loop and kept until the database
        changes. The title shown is part of the key, so a board is only served with the title it was drawn for."""
        if film is not None:
            key, title, year = film
            return await self.board_cache.get(
                (guild_id, key, title, year), lambda: self._film_board(guild_id, key, title, year)
            )
        return await self.board_cache.get((guild_id, None, None, None), lambda: self._club_board(guild_id))

    async def _draw_board(
        self, pages: list[discord.Embed], title: str, labels: list[str], values: list[float], highlight: set[int],
    ) -> Board:
        png = await self.bot.worker.run(bar_chart_png, title, labels, values, highlight=highlight)
        for page in pages:
            page.set_image(url="attachment://ratings.png")
        return Board(tuple(pages), png)

    async def _film_board(self, guild_id: int, key: str, title: str, year: int | None) -> Board:
        ratings = await repo.ratings_for_film(self.bot.store, guild_id, key)
        summary = rules.summarize(r.thumbs for r in ratings)
        label = rules.film_label(title, year)
        labels = [f"{i} thumb{'s' if i > 1 else ''}" for i in range(1, 6)]
        most = max(summary.distribution)
        return await self._draw_board(
            [film_board_embed(label, summary, ratings)],
            f"{clip(label, 60)}: {summary.count} ratings, {summary.average_text} average", labels,
            list(summary.distribution), {i for i, n in enumerate(summary.distribution) if n == most and n},
        )

    async def _club_board(self, guild_id: int) -> Board:
        films = await repo.rating_distributions(self.bot.store, guild_id)
        if not films:
            raise UserError("No ratings yet. After a screening, rate it with the buttons or `/rate`.")
        rows = sorted(
            ((rules.film_label(title, year),
              rules.summarize(thumbs for thumbs, n in enumerate(dist, start=1) for _ in range(n)))
             for _, title, year, dist in films),
            key=lambda row: (-row[1].average, -row[1].count, row[0].lower()),
        )
        leaders = rows[:CHART_FILMS]
        best = leaders[0][1].average
        title = "Average thumbs per film" if len(rows) <= CHART_FILMS else f"Average thumbs: top {CHART_FILMS}"
        return await self._draw_board(
            board_pages(rows), title, [clip(label, 40) for label, _ in leaders],
            [round(s.average, 2) for _, s in leaders], {i for i, (_, s) in enumerate(leaders) if s.average == best},
        )

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

    @staticmethod
    def digest(embed: discord.Embed, view: discord.ui.View | None) -> str:
        """A hash of what the announcement shows, to skip edits that would change nothing."""
        shown = {"embed": embed.to_dict(), "components": view.to_components() if view is not None else []}
        return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()

    # ------------------------------------------------------------------ announcement refresh
    def announcement(self, s: Screening) -> discord.PartialMessage | None:
        if s.message_id is None:
            return None
        channel = self.bot.get_partial_messageable(s.channel_id, guild_id=s.guild_id)
        return channel.get_partial_message(s.message_id)

    async def refresh_now(self, screening_id: int) -> bool:
        """Bring the announcement up to date (one edit, none if it already shows this); True if edited."""
        lock = self._locks.setdefault(screening_id, asyncio.Lock())
        async with lock:  # render and edit in order, so an older render never overwrites a newer one
            s = await repo.get_screening(self.bot.store, screening_id)
            message = self.announcement(s) if s else None
            if s is None or message is None:
                return False
            embed, view = await self.render(s)
            digest = self.digest(embed, view)
            if await repo.get_rendered_hash(self.bot.store, s.id) == digest:
                return False
            try:
                await message.edit(embed=embed, view=view)
            except discord.HTTPException as exc:
                log.warning("could not update the announcement of screening %s: %s", screening_id, exc)
                return False
            await repo.set_rendered_hash(self.bot.store, s.id, digest)
            return True

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

    def _stop_refreshers(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()

    async def flush(self) -> None:
        """At shutdown: send the edits still waiting out their debounce now instead of dropping them."""
        dirty = sorted(self._dirty)
        self._stop_refreshers()
        self._dirty.clear()
        for screening_id in dirty:
            try:
                await self.refresh_now(screening_id)
            except Exception:  # shutting down: log and carry on with the others
                log.exception("could not flush the announcement of screening %s", screening_id)

    async def catch_up(self) -> int:
        """At startup: what happened while the bot was away.

        "Interested" clicks on the native events are read back from Discord (the gateway events were
        missed), then every announcement that no longer shows the truth (an edit dropped by a crash, a
        state change that was never drawn) is edited once. Returns how many announcements were edited.
        """
        since = self.bot.now_ts() - CATCH_UP_DAYS * 86400
        edited = 0
        for s in await repo.announcements_to_check(self.bot.store, changed_since=since, shards=self.bot.shard_range):
            try:
                if s.status == repo.SCHEDULED and s.event_id is not None:
                    await self.sync_interest(s)
                edited += await self.refresh_now(s.id)
            except (discord.HTTPException, StoreError) as exc:
                log.warning("could not catch up on screening %s: %s", s.id, exc)
        return edited

    async def sync_interest(self, s: Screening) -> None:
        event = await self.fetch_event(s.guild_id, s.event_id)
        if event is None:
            return
        users = [user.id async for user in event.users(limit=None) if not user.bot]
        await repo.replace_interest(self.bot.store, s.id, users, self.bot.now_ts())

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
        if s.film_key == TBA_KEY:
            return  # a series night whose film was never named: nothing to discuss or rate
        await self.bot.scheduler.schedule(
            guild_id=s.guild_id, kind=KIND_DISCUSSION, key=f"{prefix(s.id)}discussion@{s.discussion_at}",
            due=from_ts(s.discussion_at), channel_id=s.channel_id,
            payload={"screening_id": s.id, "label": f"Discussion: {s.label}"}, db=db,
        )

    async def queue_personal(self, db: Executor, s: Screening, user_id: int, pref: ReminderPref | None) -> int:
        queued = 0
        for offset, due in rules.reminder_times(s.start, personal_offsets(pref) or [], self.bot.clock.now()):
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
        """The id of the thread on the announcement, creating it when there is none yet.

        Raises discord.NotFound when the announcement is gone, discord.Forbidden when I may not open threads,
        :class:`NoThread` when there never was an announcement.
        """
        if s.thread_id is not None:
            return s.thread_id
        message = self.announcement(s)
        if message is None:
            raise NoThread("the announcement was never posted")
        try:
            thread = await message.create_thread(name=clip(name, 100), auto_archive_duration=THREAD_ARCHIVE_MINUTES)
            thread_id = thread.id
        except discord.HTTPException as exc:
            if exc.code != THREAD_EXISTS:
                raise
            thread_id = message.id  # a thread started from a message has the message's id
        await repo.set_thread(self.bot.store, s.id, thread_id, self.bot.now_ts())
        return thread_id

    async def post_in_thread(self, s: Screening, name: str, send: Callable[[int], Awaitable[int]]) -> int:
        """``send(channel id)`` in the screening's thread; in the screenings channel when there can't be one
        (announcement deleted, thread deleted, thread permissions missing: moderators are told once)."""
        try:
            thread_id = await self.ensure_thread(s, name)
        except (discord.NotFound, discord.Forbidden, NoThread) as exc:
            await self._thread_trouble(s, exc)
            return await send(s.channel_id)
        try:
            return await send(thread_id)
        except (discord.NotFound, discord.Forbidden) as exc:
            if thread_id == s.channel_id:
                raise
            await self._thread_trouble(s, exc)
            return await send(s.channel_id)

    async def _thread_trouble(self, s: Screening, exc: Exception) -> None:
        log.info("no thread for screening %s (%s); posting in the channel", s.id, exc)
        if isinstance(exc, discord.Forbidden):
            why = ("I'm missing **Create Public Threads** or **Send Messages in Threads** in "
                   f"<#{s.channel_id}>; grant them to my role to get the thread back")
        else:
            why = "its announcement or thread was deleted"
        await self.bot.tell_moderators(
            s.guild_id,
            f"⚠️ Moderators: screening #{s.id} (**{escape(s.label)}**) has no thread: {why}. "
            f"Its reminders and discussion are posted in <#{s.channel_id}> instead.",
            key=f"screening:{s.id}:no-thread",
        )

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

    @staticmethod
    def can_make_events(guild: discord.Guild, voice: discord.VoiceChannel | discord.StageChannel | None) -> bool:
        perms = voice.permissions_for(guild.me) if voice is not None else guild.me.guild_permissions
        return bool(perms.create_events)  # since 2026-02-23 Manage Events alone does not allow creating one

    async def check_event_room(self, guild: discord.Guild) -> None:
        """Refuse (EventLimitReached) when the server is at Discord's limit of active scheduled events."""
        if await self.count_active_events(guild) >= rules.MAX_ACTIVE_EVENTS:
            raise EventLimitReached()

    async def create_event(
        self, guild: discord.Guild, s: Screening, voice: discord.VoiceChannel | discord.StageChannel | None
    ) -> tuple[int | None, str | None]:
        """Create the native event; (event id, what went wrong for the moderator).

        Raises :class:`EventLimitReached` when Discord refuses because of its limit of active events.
        """
        if not self.can_make_events(guild, voice):
            return None, (
                "I couldn't create the Discord event: I need the **Create Events** permission"
                f"{f' in {voice.mention}' if voice is not None else ''}. The screening itself works without it."
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
            if isinstance(voice, discord.StageChannel):
                need = ("**Create Events**, **Manage Channels**, **Mute Members** and **Move Members** in "
                        f"{voice.mention}")
            elif voice is not None:
                need = f"**Create Events**, **View Channel** and **Connect** in {voice.mention}"
            else:
                need = "**Create Events**"
            return None, f"Discord refused to create the event: I need {need}. The screening itself works without it."
        except discord.HTTPException as exc:
            if exc.code == EVENT_LIMIT:
                raise EventLimitReached() from exc
            log.warning("could not create the event of screening %s: %s", s.id, exc)
            return None, f"Discord didn't create the event ({clip(exc.text or str(exc.status), 200)}). " \
                "The screening itself works."
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

    # ------------------------------------------------------------------ announcing and cancelling
    async def announce(
        self,
        guild: discord.Guild,
        channel: discord.abc.Messageable,
        *,
        film_key: str,
        title: str,
        year: int | None,
        runtime: int,
        starts_at: int,
        created_by: int,
        reminder_offsets: str,
        location: str | None = None,
        voice_channel: discord.VoiceChannel | discord.StageChannel | None = None,
        notes: str | None = None,
        discussion_delay: int = int(rules.DEFAULT_DISCUSSION_DELAY.total_seconds()),
        discord_event: bool = True,
        existing: Screening | None = None,
        nonce: str | None = None,
    ) -> tuple[Screening, int | None, str | None]:
        """Create (or, with ``existing``, finish creating) a screening: the row, the announcement with its RSVP
        buttons, the native event when asked, and every scheduled post; then dispatch ``screening_scheduled``.
        Returns (screening, event id, what went wrong with the event for the moderator).

        Each step is skipped when already done, so a series night interrupted by a crash is finished at the next
        start; ``nonce`` makes Discord drop a second copy of the announcement.
        Raises :class:`EventLimitReached` (nothing kept) when Discord's limit of events refuses the event.
        """
        s = existing or await repo.create_screening(
            self.bot.store, guild_id=guild.id, film_key=film_key, title=title, year=year, runtime=runtime,
            starts_at=starts_at, channel_id=getattr(channel, "id", 0), created_by=created_by,
            now=self.bot.now_ts(), location=location, voice_channel_id=voice_channel.id if voice_channel else None,
            notes=notes, discussion_delay=discussion_delay,
        )
        message: discord.Message | None = None
        if s.message_id is None:
            embed, view = await self.render(s)
            assert view is not None
            try:
                message = await channel.send(embed=embed, view=view, nonce=nonce)  # type: ignore[arg-type]
            except discord.HTTPException:
                if existing is None:
                    await repo.delete_screening(self.bot.store, s.id)
                raise
            await repo.set_message(self.bot.store, s.id, message.id, self.bot.now_ts())
            await repo.set_rendered_hash(self.bot.store, s.id, self.digest(embed, view))
            s = await self._reload(s)
        event_id: int | None = s.event_id
        problem: str | None = None
        if discord_event and event_id is None:
            try:
                event_id, problem = await self.create_event(guild, s, voice_channel)
            except EventLimitReached:  # someone else took the last place meanwhile: undo, change nothing
                if existing is None:
                    await repo.delete_screening(self.bot.store, s.id)
                    if message is not None:
                        try:
                            await message.delete()
                        except discord.HTTPException as exc:
                            log.warning("could not remove the announcement of screening %s: %s", s.id, exc)
                raise
        settings = await self.bot.settings.get(guild.id)
        async with self.bot.store.transaction() as tx:
            await self.queue_all(tx, await self._reload(s, tx), reminder_offsets or settings.reminder_offsets)
        s = await self._reload(s)
        self.bot.dispatch("screening_scheduled", s)
        return s, event_id, problem

    async def _reload(self, s: Screening, db: Executor | None = None) -> Screening:
        fresh = await repo.get_screening(db or self.bot.store, s.id)
        assert fresh is not None
        return fresh

    async def cancel(self, s: Screening, reason: str | None, text: str) -> tuple[list[int], list[int]] | None:
        """Cancel a screening: its pending posts go, the announcement and event follow, and the members who said
        Going are told ``text`` (pinged). Returns (dropped post ids, members told), or None when it was no longer
        scheduled or live (someone else was first)."""
        async with self.bot.store.transaction() as tx:
            if not await repo.mark_cancelled(tx, s.id, reason, self.bot.now_ts()):
                return None
            dropped = await self.bot.scheduler.cancel_prefix(s.guild_id, prefix(s.id), db=tx)
        s = await self._reload(s)
        await self.refresh_now(s.id)
        await self.set_event_status(s, discord.EventStatus.cancelled)
        going = await repo.going_members(self.bot.store, s.id)
        told = await self.tell_going(s, text, going)
        self.bot.dispatch("screening_cancelled", s)
        return dropped, (going if told else [])

    async def reschedule(self, s: Screening, starts_at: int, reminder_offsets: str) -> tuple[Screening, str | None]:
        """Move a screening: its posts are queued again, the announcement and event follow, and the members who
        said Going are told (pinged); then ``screening_rescheduled`` is dispatched. Returns (the moved screening,
        what went wrong with the event for the moderator). Refuses when someone else changed it first."""
        old = s.starts_at
        async with self.bot.store.transaction() as tx:
            if not await repo.reschedule(tx, s.id, starts_at, self.bot.now_ts(), expected_starts_at=old):
                raise UserError(
                    f"Screening #{s.id} was just moved, started or cancelled by someone else; nothing changed. "
                    f"`/screening info id:{s.id}` shows where it stands."
                )
            await self.bot.scheduler.cancel_prefix(s.guild_id, prefix(s.id), db=tx)
            moved = await self._reload(s, tx)
            await self.queue_all(tx, moved, reminder_offsets)
        await self.refresh_now(moved.id)
        problem = await self.move_event(moved)
        going = await repo.going_members(self.bot.store, moved.id)
        await self.tell_going(
            moved,
            f"🔁 **{escape(moved.label)}** has moved: it now starts {ts_full(moved.starts_at)} (was {ts_full(old)}).",
            going,
        )
        self.bot.dispatch("screening_rescheduled", moved)
        return moved, problem

    async def tell_going(self, s: Screening, text: str, going: list[int]) -> bool:
        """One message in the screenings channel, pinging exactly the members who said Going."""
        if not going:
            return False
        link = f"\n{s.jump_url}" if s.jump_url else ""
        try:
            await self.send_pings(s.channel_id, text + link, going, guild_id=s.guild_id)
        except discord.HTTPException as exc:
            log.warning("could not tell going members of screening %s: %s", s.id, exc)
            return False
        return True

    async def rename_event(self, s: Screening) -> None:
        """The native event of a screening whose film changed: its name and end follow."""
        event = await self.fetch_event(s.guild_id, s.event_id)
        if event is None:
            return
        try:
            await event.edit(name=clip(s.label, 100), start_time=s.start, end_time=s.end)
        except (discord.HTTPException, ValueError, TypeError) as exc:
            log.info("could not rename event %s: %s", s.event_id, exc)

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
        # Members with readable settings of their own get their own reminders (or none, if they turned them off).
        members = [uid for uid in going if personal_offsets(own.get(uid)) is None]
        where = f" in <#{s.voice_channel_id}>" if s.voice_channel_id else ""
        text = f"⏰ **{escape(s.label)}** starts {ts(s.starts_at, 'R')} ({ts(s.starts_at, 't')}){where}."
        text += " See you there!" if going else " Nobody has said Going yet: there's still time!"

        async def send(channel_id: int) -> int:
            return await self.send_pings(channel_id, text, members, nonce=post.nonce, guild_id=s.guild_id)

        return await self.post_in_thread(s, f"{s.title}: watch party", send)

    async def on_personal_reminder(self, post: ScheduledPost) -> int | None:
        s = await self._live(post)
        uid = post.member_id or 0
        if await repo.get_rsvp(self.bot.store, s.id, uid) != "going":
            raise PostObsolete("the member is no longer going")
        pref = await repo.get_reminder_pref(self.bot.store, s.guild_id, uid)
        offset = timedelta(seconds=int(post.payload.get("offset", 0)))
        if offset not in (personal_offsets(pref) or []):
            raise PostObsolete("the member changed their reminder settings")
        assert pref is not None
        text = f"⏰ Reminder: **{escape(s.label)}** starts {ts_full(s.starts_at)}."
        if pref.via == "dm":
            sent = await self._dm_reminder(uid, s, text, post.nonce)
            if sent is not None:
                return sent

        async def send(channel_id: int) -> int:
            return await self.send_pings(channel_id, text, [uid], nonce=post.nonce, guild_id=s.guild_id)

        return await self.post_in_thread(s, f"{s.title}: watch party", send)

    async def _dm_reminder(self, uid: int, s: Screening, text: str, nonce: str) -> int | None:
        """Send a personal reminder by DM; None when the member cannot be DMed (remind them in the thread).

        REST budget: one request when the DM channel is remembered (the send), two the first time (open the DM
        from the member's id, then send; no user fetch), none for a member Discord refused DMs to this week.
        """
        known = await dm_repo.get(self.bot.store, uid)
        now = self.bot.now_ts()
        if known is not None and known.closed_at is not None and now - known.closed_at < DM_CLOSED_MEMORY:
            return None
        guild = self.bot.get_guild(s.guild_id)
        link = f" {s.jump_url}" if s.jump_url else ""
        where = f" on {escape(guild.name)}" if guild else ""
        try:
            if known is not None and known.channel_id is not None:
                channel: discord.abc.Messageable = self.bot.get_partial_messageable(known.channel_id)
            else:
                dm = await self.bot.create_dm(discord.Object(uid))
                await dm_repo.remember_channel(self.bot.store, uid, dm.id)
                channel = dm
            message = await channel.send(f"{text}{where}{link}", nonce=nonce)
            return message.id
        except discord.Forbidden:  # DMs closed (50007) or blocked: remind them in the thread instead
            log.info("member %s can't be DMed; reminding in the thread now and next time", uid)
            await dm_repo.mark_closed(self.bot.store, uid, now)
            return None
        except discord.NotFound:  # the remembered DM channel (or the account) is gone: the thread this time
            await dm_repo.forget(self.bot.store, uid)
            return None

    async def on_start(self, post: ScheduledPost) -> int | None:
        s = await self._live(post)
        channel = self.bot.get_partial_messageable(s.channel_id, guild_id=s.guild_id)
        if s.voice_channel_id:
            where = f" in <#{s.voice_channel_id}>"
        else:
            where = f" at {escape(s.location)}" if s.location else ""
        link = f"\n{s.jump_url}" if s.jump_url else ""
        message = await channel.send(
            f"🍿 **Now showing: {escape(s.label)}**{where}! Runtime {s.runtime} min, ends about "
            f"{ts(s.ends_at, 't')}.{link}",
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
        text = (
            f"🎞️ **{escape(s.label)}**: what did we think? Rate it from 1 to 5 thumbs with the buttons below "
            "(you can change your mind), or use `/rate` to add a few words. `/ratings board` shows the club's "
            "verdicts."
        )

        async def send(channel_id: int) -> int:
            channel = self.bot.get_partial_messageable(channel_id, guild_id=s.guild_id)
            message = await channel.send(
                text, view=rating_view(s.id), nonce=post.nonce, allowed_mentions=discord.AllowedMentions.none()
            )
            return message.id

        return await self.post_in_thread(s, name, send)

    # for other features ------------------------------------------------------------------------
    def rsvp_view(self, screening_id: int) -> discord.ui.View:
        """The Going / Maybe / Can't buttons of a screening, for a post of another feature (a teaser)."""
        return rsvp_view(screening_id)
