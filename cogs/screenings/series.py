"""Series: club nights on a repeating rule, each night a normal screening (the rules: :mod:`bot.domain.series`).

How a series runs
-----------------
- Creating a series stores it, creates its first night(s) and, when Discord's limits allow the rule, one
  recurring Discord event for the whole series (otherwise each night gets its own event, as any screening).
- Nights are created by :meth:`SeriesService.plan`, run at creation, by the scheduled post ``series.plan`` (key
  ``series:<id>:plan@<due>``: when the next night starts, or ``days_ahead`` before a night), after a skip and at
  startup. A night row is written in the same transaction as its screening, keyed by (series, occurrence), so
  a night is never created twice; the announcement is sent with a nonce derived from the night, and a night
  whose announcement never went out (a crash in between) is finished by the next plan. Nothing is lost or
  doubled by a SIGKILL.
- A night's film: the series' fixed film, or (``film_source`` ``queue``) the first installment of the queue
  not already taken by another night still to come or on now. An empty queue gives a night with the film to be
  announced, and moderators are told once.
- The recurring event is kept in step: it always starts at the next night to come (so a skipped night, a
  daylight-saving change or the end of the series shows in Discord), its description names the next film and
  the skipped nights, and it is deleted when the series is cancelled or has had its last night.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import discord

from bot.domain import markers, posts
from bot.domain import screenings as rules
from bot.domain import series as dom
from bot.domain.films import Film
from bot.domain.ics import NightOverride, build_series_ics
from bot.domain.recurrence import Recurrence, parse_recurrence
from bot.domain.timeparse import localize
from bot.errors import UserError
from bot.render import clip, escape, ts_full
from bot.scheduler import from_ts, to_ts
from cogs.screenings.service import EventLimitReached, ScreeningService
from db import installments as queue_repo
from db import screenings as repo
from db import series as series_repo
from db.scheduled_posts import ScheduledPost
from db.screenings import Screening
from db.series import Night, Series
from db.store import StoreError

if TYPE_CHECKING:
    from bot.app import FilmClubBot

log = logging.getLogger(__name__)

KIND_PLAN = posts.SERIES_PLAN


plan_prefix = markers.series_key_prefix
night_nonce = markers.series_night_nonce


class SeriesService:
    def __init__(self, bot: FilmClubBot, screenings: ScreeningService) -> None:
        self.bot = bot
        self.screenings = screenings
        self._locks: dict[int, asyncio.Lock] = {}
        self._event_problems: dict[int, str] = {}  # series id -> why Discord refused its recurring event
        bot.scheduler.register(KIND_PLAN, self.on_plan)

    # ------------------------------------------------------------------ the rule
    def next_night(self, series: Series) -> dom.NextNight:
        """The one seam for "the next night after": the scheduler's own recurrence function."""
        from bot.app import next_from_rule  # the app imports the cogs: import at call time

        rule = series.rule_dict
        return lambda after: next_from_rule(rule, after)

    def rule_of(self, series: Series) -> Recurrence:
        return parse_recurrence(series.rule, series.tz)

    def upcoming(self, series: Series, nights: list[Night], count: int = 5) -> list[datetime]:
        """The next ``count`` nights still to come (skipped ones left out)."""
        skipped = [n.start for n in nights if n.skipped]
        return dom.upcoming(
            self.next_night(series), self.bot.clock.now(), count=count, skipped=skipped,
            ends_after=from_ts(series.ends_after) if series.ends_after else None,
        )

    # ------------------------------------------------------------------ creating
    async def create(
        self,
        guild: discord.Guild,
        channel: discord.TextChannel,
        *,
        rule: Recurrence,
        film: Film | None,
        location: str | None,
        voice_channel: discord.VoiceChannel | discord.StageChannel | None,
        discord_event: bool,
        days_ahead: int | None,
        created_by: int,
    ) -> tuple[Series, list[str]]:
        """Store the series, make its event and its first night(s). Returns the series and notes for the
        moderator."""
        now = self.bot.clock.now()
        rule_dict = {"rule": rule.canonical(), "tz": rule.tz}
        from bot.app import next_from_rule

        first = next_from_rule(rule_dict, now)
        if first is None:
            raise UserError("That rule never comes round; try `every thu 8pm`.")
        rule = rule.anchored(first)
        sample = dom.upcoming(lambda a: next_from_rule({"rule": rule.canonical(), "tz": rule.tz}, a), first, count=12)
        notes: list[str] = []
        mode = series_repo.EVENT_NONE
        if discord_event:
            if not self.screenings.can_make_events(guild, voice_channel):
                notes.append("No Discord event: I need the **Create Events** permission"
                             f"{f' in {voice_channel.mention}' if voice_channel else ''}. The nights work without it.")
            elif dom.discord_recurrence(rule, first, sample) is not None:
                mode = series_repo.EVENT_RECURRING
            else:
                mode = series_repo.EVENT_PER_NIGHT
                notes.append(f"Each night gets its own Discord event ({dom.why_not_recurring(rule)}).")
        async with self.bot.store.transaction() as tx:
            if await series_repo.count_active(tx, guild.id) >= dom.MAX_SERIES_PER_GUILD:
                raise UserError(
                    f"This server already runs {dom.MAX_SERIES_PER_GUILD} series, the most I keep. End or cancel "
                    "one with `/screening series end` or `/screening series cancel` first."
                )
            series = await series_repo.create(
                tx, guild_id=guild.id, name=dom.check_name(None, rule.describe()), rule=rule.canonical(),
                tz=rule.tz, film_source="film" if film else dom.FILM_QUEUE, film_key=film.key if film else None,
                title=film.title if film else None, year=film.year if film else None,
                runtime=rules.check_runtime(film.runtime if film and film.runtime else rules.DEFAULT_RUNTIME),
                location=location, voice_channel_id=voice_channel.id if voice_channel else None,
                channel_id=channel.id, days_ahead=days_ahead, event_mode=mode, created_by=created_by,
                now=self.bot.now_ts(),
            )
        await self.plan(series.id)  # the nights, then the recurring event (so it names the first film)
        problem = self._event_problems.pop(series.id, None)
        if problem:
            notes.append(problem)
        fresh = await series_repo.get(self.bot.store, series.id)
        assert fresh is not None
        return fresh, notes

    # ------------------------------------------------------------------ planning nights
    async def on_plan(self, post: ScheduledPost) -> int | None:
        await self.plan(int(post.payload.get("series_id", 0)))
        return None

    async def plan(self, series_id: int) -> list[Screening]:
        """Create the nights that are due, finish any a crash interrupted, queue the next look, keep the event in
        step. Returns the nights created now."""
        lock = self._locks.setdefault(series_id, asyncio.Lock())
        async with lock:
            series = await series_repo.get(self.bot.store, series_id)
            if series is None or not series.is_active:
                return []
            created: list[Screening] = []
            nights = await series_repo.nights(self.bot.store, series.id)
            for night in nights:  # interrupted by a crash: the row and screening exist, the announcement may not
                if night.screening_id is not None and not night.skipped:
                    s = await repo.get_screening(self.bot.store, night.screening_id)
                    if s is not None and s.status == repo.SCHEDULED and s.message_id is None:
                        await self._finish_night(series, s)
            now = self.bot.clock.now()
            screenings = await self._night_screenings(nights)
            waiting = [s.start for s in screenings if s.status == repo.SCHEDULED and s.start > now]
            made = [n.start for n in nights if n.screening_id is not None]
            decided = dom.plan(
                self.next_night(series), now=now, cursor=max([from_ts(series.created_at), *made]),
                days_ahead=series.days_ahead, waiting_start=min(waiting) if waiting else None,
                skipped=[n.start for n in nights if n.skipped],
                ends_after=from_ts(series.ends_after) if series.ends_after else None,
            )
            for start in decided.create:
                made_now = await self._create_night(series, start)
                if made_now is not None:
                    created.append(made_now)
            if decided.next_check is not None:
                due = max(decided.next_check, now)
                await self.bot.scheduler.schedule(
                    guild_id=series.guild_id, kind=KIND_PLAN, key=markers.series_plan_key(series.id, to_ts(due)),
                    due=due, channel_id=series.channel_id,
                    payload={"series_id": series.id, "label": f"next night of series #{series.id}"},
                )
            await self._sync_event(series)
            return created

    async def _night_screenings(self, nights: list[Night]) -> list[Screening]:
        out = []
        for night in nights:
            if night.screening_id is not None:
                s = await repo.get_screening(self.bot.store, night.screening_id)
                if s is not None:
                    out.append(s)
        return out

    async def _pick_film(self, series: Series) -> tuple[str, str, int | None, int, int | None]:
        """(film key, title, year, runtime, installment id) for the next night."""
        if not series.from_queue:
            assert series.film_key is not None and series.title is not None
            return series.film_key, series.title, series.year, series.runtime, None
        taken = await series_repo.claimed_installments(self.bot.store, series.guild_id)
        for inst in await queue_repo.queue(self.bot.store, series.guild_id):
            if inst.id not in taken:
                runtime = rules.check_runtime(inst.runtime or rules.DEFAULT_RUNTIME)
                return inst.film_key, inst.title, inst.year, runtime, inst.id
        return dom.TBA_KEY, dom.TBA_TITLE, None, series.runtime, None

    async def _create_night(self, series: Series, start: datetime) -> Screening | None:
        film_key, title, year, runtime, installment_id = await self._pick_film(series)
        starts_at = to_ts(start)
        async with self.bot.store.transaction() as tx:
            if not await series_repo.add_night(tx, series, starts_at, self.bot.now_ts(), installment_id=installment_id):
                return None
            s = await repo.create_screening(
                tx, guild_id=series.guild_id, film_key=film_key, title=title, year=year, runtime=runtime,
                starts_at=starts_at, channel_id=series.channel_id, created_by=series.created_by,
                now=self.bot.now_ts(), location=series.location, voice_channel_id=series.voice_channel_id,
                notes=f"A club night of series #{series.id}: {series.name}.",
            )
            await series_repo.set_night_screening(tx, series.id, starts_at, s.id)
        if film_key == dom.TBA_KEY:
            # Once per emptiness: a film added since makes the next empty queue worth telling again.
            episode = await queue_repo.last_added_id(self.bot.store, series.guild_id)
            await self.bot.tell_moderators(
                series.guild_id,
                f"⚠️ Moderators: the installment queue is empty, so the night of {ts_full(starts_at)} in series "
                f"#{series.id} is announced as **{dom.TBA_TITLE}**. Add films with `/installment add`.",
                key=f"series:{series.id}:queue-empty:{episode}",
            )
        return await self._finish_night(series, s)

    async def _finish_night(self, series: Series, s: Screening) -> Screening | None:
        guild = self.bot.get_guild(series.guild_id)
        if guild is None:
            log.warning("series %s: server %s not loaded; night %s waits", series.id, series.guild_id, s.id)
            return None
        channel = self.bot.get_partial_messageable(series.channel_id, guild_id=series.guild_id)
        voice = guild.get_channel(series.voice_channel_id or 0)
        if not isinstance(voice, (discord.VoiceChannel, discord.StageChannel)):
            voice = None
        settings = await self.bot.settings.get(series.guild_id)
        per_night = series.event_mode == series_repo.EVENT_PER_NIGHT
        try:
            done, _event, problem = await self.screenings.announce(
                guild, channel, film_key=s.film_key, title=s.title, year=s.year, runtime=s.runtime,
                starts_at=s.starts_at, created_by=s.created_by, reminder_offsets=settings.reminder_offsets,
                voice_channel=voice, discord_event=per_night, existing=s, nonce=night_nonce(series.id, s.starts_at),
            )
        except EventLimitReached:
            done, problem = await self._reload(s), "the server is at Discord's limit of events"
            await self.screenings.announce(
                guild, channel, film_key=s.film_key, title=s.title, year=s.year, runtime=s.runtime,
                starts_at=s.starts_at, created_by=s.created_by, reminder_offsets=settings.reminder_offsets,
                voice_channel=voice, discord_event=False, existing=done, nonce=night_nonce(series.id, s.starts_at),
            )
        except discord.HTTPException as exc:
            log.warning("series %s: could not announce night %s: %s", series.id, s.id, exc)
            await self.bot.tell_moderators(
                series.guild_id,
                f"⚠️ Moderators: I couldn't announce the night of {ts_full(s.starts_at)} (series #{series.id}) in "
                f"<#{series.channel_id}>: {clip(exc.text or str(exc.status), 200)}. I'll try again at the next "
                "night or restart.",
                key=f"series:{series.id}:announce:{s.starts_at}",
            )
            return None
        if problem and per_night:
            await self.bot.tell_moderators(
                series.guild_id, f"⚠️ Moderators: series #{series.id}, night of {ts_full(s.starts_at)}: {problem}",
                key=f"series:{series.id}:event:{s.starts_at}",
            )
        return done

    async def _reload(self, s: Screening) -> Screening:
        fresh = await repo.get_screening(self.bot.store, s.id)
        assert fresh is not None
        return fresh

    async def after_night(self, s: Screening) -> None:
        """A screening finished, was cancelled or moved: if it was a series night, plan again (the next night, the
        event, the end of the series)."""
        try:
            night = await series_repo.night_of_screening(self.bot.store, s.id)
            if night is not None:
                await self.plan(night.series_id)
        except StoreError as exc:  # shutting down meanwhile: the planner runs again at the next start
            log.warning("series: could not plan after screening %s: %s", s.id, exc)

    async def fill_to_be_announced(self, guild_id: int) -> int:
        """Films were added to the queue: nights announced as "to be announced" take them, in order (the
        announcement, reminders, teasers and event follow). Returns how many nights got a film."""
        filled = 0
        for series in await series_repo.list_for_guild(self.bot.store, guild_id, active_only=True):
            if not series.from_queue:
                continue
            async with self._locks.setdefault(series.id, asyncio.Lock()):
                nights = await series_repo.nights(self.bot.store, series.id)
                for s in await self._night_screenings(nights):
                    if s.film_key != dom.TBA_KEY or s.status != repo.SCHEDULED:
                        continue
                    film_key, title, year, runtime, installment_id = await self._pick_film(series)
                    if installment_id is None:
                        break
                    if not await self._name_film(series, s, film_key, title, year, runtime, installment_id):
                        continue
                    filled += 1
            await self.plan(series.id)  # the recurring event names the film
        return filled

    async def _name_film(
        self, series: Series, s: Screening, film_key: str, title: str, year: int | None, runtime: int,
        installment_id: int,
    ) -> bool:
        settings = await self.bot.settings.get(series.guild_id)
        async with self.bot.store.transaction() as tx:
            if not await repo.set_film(
                tx, s.id, film_key=film_key, title=title, year=year, runtime=runtime, now=self.bot.now_ts()
            ):
                return False
            await series_repo.set_night_installment(tx, series.id, s.starts_at, installment_id)
            await self.bot.scheduler.cancel_prefix(series.guild_id, markers.screening_key_prefix(s.id), db=tx)
            named = await repo.get_screening(tx, s.id)
            assert named is not None
            await self.screenings.queue_all(tx, named, settings.reminder_offsets)
        await self.screenings.refresh_now(named.id)
        await self.screenings.rename_event(named)
        self.bot.dispatch("screening_scheduled", named)  # the installment links to it, its teasers are queued
        return True

    async def start(self) -> None:
        """At startup (once Discord sent the servers): every active series plans (finishing interrupted nights)."""
        for series in await series_repo.all_active(self.bot.store, shards=self.bot.shard_range):  # this cluster's
            try:
                await self.plan(series.id)
            except Exception:  # one series must not stop the others
                log.exception("could not plan series %s at startup", series.id)

    # ------------------------------------------------------------------ skip, cancel, end
    async def find_night(self, series: Series, text: str) -> datetime:
        """The night a moderator means: a date (``2026-01-15``) of one of the next nights, or ``next``."""
        nights = await series_repo.nights(self.bot.store, series.id)
        coming = self.upcoming(series, nights, count=60)
        if not coming:
            raise UserError(f"Series #{series.id} has no nights left to skip.")
        wanted = text.strip().lower()
        if wanted == "next":
            return coming[0]
        zone = self.rule_of(series).zone
        for night in coming:
            if night.astimezone(zone).date().isoformat() == wanted or str(to_ts(night)) == wanted:
                return night
        shown = ", ".join(f"`{n.astimezone(zone).date().isoformat()}`" for n in coming[:4])
        raise UserError(
            f"Series #{series.id} has no night on `{clip(escape(text), 40)}`. Pick one from the list, or give its "
            f"date as year-month-day: the next nights are {shown}."
        )

    async def skip(self, series: Series, night: datetime, reason: str | None) -> tuple[bool, int]:
        """Skip one night (cancelling its screening if it was already announced). Returns (whether it had been
        announced, how many Going members were told)."""
        starts_at = to_ts(night)
        async with self.bot.store.transaction() as tx:
            before = await series_repo.skip_night(tx, series, starts_at, reason, self.bot.now_ts())
        told = 0
        announced = False
        if before is not None and before.screening_id is not None:
            s = await repo.get_screening(self.bot.store, before.screening_id)
            if s is not None and s.status == repo.SCHEDULED:
                announced = True
                why = f" Reason: {escape(reason)}" if reason else ""
                done = await self.screenings.cancel(
                    s, reason, f"⏭️ No club night on {ts_full(s.starts_at)}: **{escape(s.label)}** is skipped.{why}"
                )
                told = len(done[1]) if done else 0
        await self.plan(series.id)
        return announced, told

    async def cancel(self, series: Series, reason: str | None) -> tuple[int, int]:
        """Cancel the series: its pending nights (with their reminders and teasers), the planner and the event go;
        Going members are told. Returns (nights cancelled, members told)."""
        async with self.bot.store.transaction() as tx:
            if not await series_repo.set_status(tx, series.id, series_repo.CANCELLED, self.bot.now_ts()):
                raise UserError(f"Series #{series.id} is already over; nothing changed.")
            await self.bot.scheduler.cancel_prefix(series.guild_id, plan_prefix(series.id), db=tx)
        cancelled, told = await self._cancel_nights(series, after=None, reason=reason, why="the series is cancelled")
        await self._delete_event(series)
        return cancelled, told

    async def end(self, series: Series, last_day: datetime) -> tuple[int, int, datetime | None]:
        """No nights after ``last_day`` (a local date's end). Returns (nights cancelled, members told, last night)."""
        ends_after = to_ts(last_day)
        async with self.bot.store.transaction() as tx:
            await series_repo.set_ends_after(tx, series.id, ends_after, self.bot.now_ts())
        series = await self._get(series.id)
        cancelled, told = await self._cancel_nights(series, after=ends_after, reason=None, why="the series ends")
        nights = await series_repo.nights(self.bot.store, series.id)
        created = [s for s in await self._night_screenings(nights) if s.status in (repo.SCHEDULED, repo.LIVE)]
        last = max([s.start for s in created], default=None)
        await self.plan(series.id)
        return cancelled, told, last

    async def _cancel_nights(
        self, series: Series, *, after: int | None, reason: str | None, why: str
    ) -> tuple[int, int]:
        cancelled = told = 0
        for night in await series_repo.nights(self.bot.store, series.id):
            if night.screening_id is None or (after is not None and night.starts_at <= after):
                continue
            s = await repo.get_screening(self.bot.store, night.screening_id)
            if s is None or s.status != repo.SCHEDULED:
                continue
            extra = f" Reason: {escape(reason)}" if reason else ""
            done = await self.screenings.cancel(
                s, reason, f"❌ **{escape(s.label)}** on {ts_full(s.starts_at)} is off: {why}.{extra}"
            )
            if done is not None:
                cancelled += 1
                told += len(done[1])
        return cancelled, told

    async def _get(self, series_id: int) -> Series:
        series = await series_repo.get(self.bot.store, series_id)
        assert series is not None
        return series

    # ------------------------------------------------------------------ the recurring Discord event
    def _event_payload(
        self, guild: discord.Guild, series: Series, start: datetime, sample: list[datetime], description: str,
        name: str,
    ) -> dict[str, Any] | None:
        recurrence = dom.discord_recurrence(self.rule_of(series), start, sample)
        if recurrence is None:
            return None
        end = start + timedelta(minutes=series.runtime)
        payload: dict[str, Any] = {
            "name": name,
            "privacy_level": int(discord.PrivacyLevel.guild_only.value),
            "scheduled_start_time": start.astimezone(UTC).isoformat(),
            "scheduled_end_time": end.astimezone(UTC).isoformat(),
            "description": clip(description, 1000),
            "recurrence_rule": recurrence,
        }
        voice = guild.get_channel(series.voice_channel_id or 0)
        if isinstance(voice, (discord.VoiceChannel, discord.StageChannel)):
            payload["entity_type"] = 1 if isinstance(voice, discord.StageChannel) else 2
            payload["channel_id"] = str(voice.id)
        else:
            channel = guild.get_channel(series.channel_id)
            location = series.location or (f"#{channel.name}" if channel else "Online")
            payload["entity_type"] = 3
            payload["entity_metadata"] = {"location": clip(location, rules.MAX_WHERE)}
        return payload

    async def _describe_event(self, series: Series, next_start: datetime) -> str:
        rule = self.rule_of(series)
        lines = [f"{rule.describe()[:1].upper()}{rule.describe()[1:]}."]
        nights = await series_repo.nights(self.bot.store, series.id)
        for s in await self._night_screenings(nights):
            if s.status == repo.SCHEDULED and s.start >= next_start:
                lines.append(f"Next: {s.label}" + (f" (RSVP: {s.jump_url})" if s.jump_url else ""))
                break
        zone = rule.zone
        now = self.bot.clock.now()
        for night in nights:
            if night.skipped and night.start > now:
                when = night.start.astimezone(zone)
                why = f" ({night.skip_reason})" if night.skip_reason else ""
                lines.append(f"No screening on {when:%a %d %b %Y}{why}.")
        return "\n".join(lines)

    async def _create_recurring_event(
        self, guild: discord.Guild, series: Series, first: datetime, sample: list[datetime]
    ) -> str | None:
        name = clip(f"Club night: {await self.next_label(series, first)}", 100)
        payload = self._event_payload(guild, series, first, sample, await self._describe_event(series, first), name)
        if payload is None:
            return None
        route = discord.http.Route("POST", "/guilds/{guild_id}/scheduled-events", guild_id=guild.id)
        try:
            data = await self.bot.http.request(route, json=payload)
        except discord.HTTPException as exc:
            log.warning("series %s: Discord refused the recurring event: %s", series.id, exc)
            await series_repo.set_event(self.bot.store, series.id, None, series_repo.EVENT_NONE, self.bot.now_ts())
            return f"Discord didn't create the repeating event ({clip(exc.text or str(exc.status), 200)})."
        await series_repo.set_event(
            self.bot.store, series.id, int(data["id"]), series_repo.EVENT_RECURRING, self.bot.now_ts()
        )
        return None

    async def _sync_event(self, series: Series) -> None:
        """Keep the recurring event on the next night to come; delete it when the series has no nights left."""
        series = await self._get(series.id)
        nights = await series_repo.nights(self.bot.store, series.id)
        screenings = await self._night_screenings(nights)
        now = self.bot.now_ts()
        live = [  # a night on now (or whose start is being processed): the event stays on it until it ends
            s for s in screenings
            if s.status == repo.LIVE or (s.status == repo.SCHEDULED and s.starts_at <= now < s.ends_at)
        ]
        coming = self.upcoming(series, nights, count=13)
        if not coming and not live and not [s for s in screenings if s.status == repo.SCHEDULED]:
            if series.ends_after is not None:
                await series_repo.set_status(self.bot.store, series.id, series_repo.ENDED, self.bot.now_ts())
            await self._delete_event(series)
            return
        if series.event_mode != series_repo.EVENT_RECURRING or live or not coming:
            return
        guild = self.bot.get_guild(series.guild_id)
        if guild is None:
            return
        if series.event_id is None:  # new, or a crash came between the first night and its event
            problem = await self._create_recurring_event(guild, series, coming[0], coming[1:])
            if problem:
                self._event_problems[series.id] = problem
            return
        start = coming[0]
        description = await self._describe_event(series, start)
        name = clip(f"Club night: {await self.next_label(series, start)}", 100)
        event = guild.get_scheduled_event(series.event_id)
        if (
            event is not None and event.start_time == start and event.name == name
            and (event.description or "") == clip(description, 1000)
        ):
            return
        payload = self._event_payload(guild, series, start, coming[1:], description, name)
        if payload is None:
            return
        route = discord.http.Route(
            "PATCH", "/guilds/{guild_id}/scheduled-events/{event_id}", guild_id=guild.id, event_id=series.event_id
        )
        try:
            await self.bot.http.request(route, json=payload)
        except discord.NotFound:  # deleted by hand: the nights carry on without it
            await series_repo.set_event(self.bot.store, series.id, None, series_repo.EVENT_NONE, self.bot.now_ts())
        except discord.HTTPException as exc:
            log.warning("series %s: could not move the recurring event: %s", series.id, exc)

    async def _delete_event(self, series: Series) -> None:
        if series.event_id is None:
            return
        route = discord.http.Route(
            "DELETE", "/guilds/{guild_id}/scheduled-events/{event_id}", guild_id=series.guild_id,
            event_id=series.event_id,
        )
        try:
            await self.bot.http.request(route)
        except discord.NotFound:
            pass
        except discord.HTTPException as exc:
            log.warning("series %s: could not delete the recurring event: %s", series.id, exc)
            return
        await series_repo.set_event(self.bot.store, series.id, None, series.event_mode, self.bot.now_ts())

    # ------------------------------------------------------------------ reading
    def day_end(self, series: Series, day: date) -> datetime:
        """The end (23:59:59 on the series' wall clock) of ``day``."""
        instant, _ = localize(day, time(23, 59, 59), self.rule_of(series).zone)
        return instant

    async def next_label(self, series: Series, start: datetime) -> str:
        """The film of the night starting at ``start`` (or after): its screening's, else what the series shows."""
        nights = await series_repo.nights(self.bot.store, series.id)
        for s in await self._night_screenings(nights):
            if s.status == repo.SCHEDULED and s.start >= start:
                return s.label
        if not series.from_queue:
            return series.film_label
        return "the next installment"

    async def ics(self, series: Series) -> bytes:
        """The series as one repeating calendar event: the same nights as Discord (skipped and cancelled ones as
        exceptions, announced ones with their film and any moved start), in the series' zone."""
        rule = self.rule_of(series)
        nights = await series_repo.nights(self.bot.store, series.id)
        coming = self.upcoming(series, nights, count=1)
        first = min([n.start for n in nights] + coming, default=None)
        if first is None:
            raise UserError(f"Series #{series.id} has no nights to put in a calendar.")
        exdates: list[datetime] = []
        overrides: list[NightOverride] = []
        for night in nights:
            s = await repo.get_screening(self.bot.store, night.screening_id) if night.screening_id else None
            if night.skipped or (s is not None and s.status == repo.CANCELLED):
                exdates.append(night.start)
            elif s is not None:
                overrides.append(NightOverride(night.start, s.start, s.end, f"Watch party: {s.label}", s.jump_url))
        until = from_ts(series.ends_after) if series.ends_after else None
        voice = self.bot.get_channel(series.voice_channel_id or 0)
        where = series.location or (f"#{voice.name}" if isinstance(voice, discord.abc.GuildChannel) else None)
        return build_series_ics(
            uid=markers.series_calendar_uid(series.id, series.guild_id), title=f"Club night: {series.film_label}",
            first=first, duration=timedelta(minutes=series.runtime), tz=series.tz,
            rrule=dom.ical_rrule(rule, until), stamp=self.bot.clock.now(), exdates=exdates, overrides=overrides,
            description=f"{rule.describe()[:1].upper()}{rule.describe()[1:]}.", location=where,
            cancelled=series.status == series_repo.CANCELLED, sequence=max(0, series.updated_at - series.created_at),
        )

    # ------------------------------------------------------------------ reads for the commands
    async def get_or_error(self, guild_id: int, series_id: int, *, active: bool = False) -> Series:
        """The server's series #``series_id`` (only an active one with ``active``), or a UserError saying why."""
        found = await series_repo.get(self.bot.store, series_id, guild_id)
        if found is None:
            raise UserError(f"There is no series #{series_id} in this server. `/screening series list` shows them.")
        if active and not found.is_active:
            raise UserError(f"Series #{series_id} is {found.status}; nothing to change.")
        return found

    async def announced(self, series: Series) -> list[Screening]:
        """The nights announced so far (their screenings), oldest first."""
        return await self._night_screenings(await series_repo.nights(self.bot.store, series.id))

    async def overview(self, guild_id: int) -> list[tuple[Series, datetime | None]]:
        """Every series of the server with its next night (None when over)."""
        out = []
        for item in await series_repo.list_for_guild(self.bot.store, guild_id):
            nights = await series_repo.nights(self.bot.store, item.id)
            coming = self.upcoming(item, nights, count=1) if item.is_active else []
            out.append((item, coming[0] if coming else None))
        return out

    async def details(self, series: Series) -> tuple[list[tuple[datetime, Screening | None]], list[Night]]:
        """The next five nights (with their screening once announced) and the skipped nights still ahead."""
        nights = await series_repo.nights(self.bot.store, series.id)
        by_start = {n.starts_at: n for n in nights}
        rows: list[tuple[datetime, Screening | None]] = []
        for start in self.upcoming(series, nights, count=5) if series.is_active else []:
            night = by_start.get(to_ts(start))
            s = await repo.get_screening(self.bot.store, night.screening_id) if night and night.screening_id else None
            rows.append((start, s))
        skipped = [n for n in nights if n.skipped and n.starts_at > self.bot.now_ts()]
        return rows, skipped

    async def choose_series(self, guild_id: int, current: str) -> list[tuple[int, str]]:
        """(id, name) of the server's series matching ``current``, for autocomplete."""
        needle = current.strip().lower().lstrip("#")
        return [
            (item.id, f"#{item.id} {item.name} ({item.status})")
            for item in await series_repo.list_for_guild(self.bot.store, guild_id)
            if not needle or needle in str(item.id) or needle in item.name.lower()
        ][:25]

    async def choose_night(self, guild_id: int, series_id: int, current: str) -> list[tuple[str, str]]:
        """(value, name) of the series' next nights matching ``current``: ``2026-01-15`` / ``Thu 15 Jan 2026 20:00``."""
        item = await series_repo.get(self.bot.store, series_id, guild_id)
        if item is None or not item.is_active:
            return []
        zone = self.rule_of(item).zone
        nights = await series_repo.nights(self.bot.store, item.id)
        out = []
        wanted = current.strip().lower()
        for start in self.upcoming(item, nights, count=25):
            local = start.astimezone(zone)
            value, name = local.date().isoformat(), f"{local:%a %d %b %Y %H:%M}"
            if wanted in value or wanted in name.lower():
                out.append((value, name))
        return out
