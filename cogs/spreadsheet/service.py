"""The Spreadsheet feature's work: the sheet, moderators' checks, comments and the export; Letterboxd import and
export; the theme shelf, its posts and its refreshes when a screening of a shelved film changes.

The cogs ask; this service reads and writes through ``db.spreadsheet``, ``db.theme`` and (read only, plus the
ratings an import writes) ``db.screenings``, talks to Discord for the shelf's message and the export's member
names, and sends CPU work (the progress picture, reading a Letterboxd file) to the worker. The sheet is built on
demand from the screenings feature's tables (finished screenings, ratings, RSVPs) plus this feature's own
(moderators' checks, comments, members' watched marks): see :mod:`bot.domain.spreadsheet` for the rules.

Letterboxd import rule (see :func:`bot.domain.letterboxd.plan_import`): every matched film gets the member's
watched mark; a star rating becomes their club rating (thumbs = stars rounded half up, 1 to 5) when they have
none for that film, or replaces one an earlier import wrote; a rating the member gave in the club (`/rate`, the
buttons) is never overwritten. Importing the same file twice changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import discord

from bot.checks import announcements_channel
from bot.domain.films import Film, format_choice, is_choice_for, load_catalogue
from bot.domain.letterboxd import (
    ClubRating,
    ExportFile,
    ImportPlan,
    MatchResult,
    PriorImport,
    RatingOut,
    match_entries,
    parse_export,
    plan_import,
)
from bot.domain.screenings import Screening
from bot.domain.spreadsheet import Check, Sheet, build_sheet, club_watched, sheet_csv
from bot.errors import UserError
from bot.render import escape, ts
from cogs.spreadsheet import views
from cogs.spreadsheet.views import SheetMember
from db import screenings as screenings_repo
from db import spreadsheet as repo
from db import theme as theme_repo
from db.theme import ShelfFilm, Theme

if TYPE_CHECKING:
    from bot.app import FilmClubBot

log = logging.getLogger(__name__)

NAME_FETCH_LIMIT = 50  # members looked up over REST for the export's column names


def read_and_match(data: bytes, filename: str) -> tuple[ExportFile, MatchResult]:
    """Parse a Letterboxd file and match it to the catalogue (run in the worker process: it must pickle)."""
    export = parse_export(data, filename)
    return export, match_entries(export.entries, load_catalogue())


def _day_ts(day: str, tz: ZoneInfo) -> int | None:
    try:
        parsed = datetime.fromisoformat(day).date()
    except ValueError:
        return None
    return int(datetime.combine(parsed, time(12), tzinfo=tz).timestamp())


class SpreadsheetService:
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        # One import per member at a time: each is seconds of parsing in a worker process at most.
        self._importing: set[tuple[int, int]] = set()

    async def load(self) -> None:
        return None

    async def close(self) -> None:
        return None

    # ------------------------------------------------------------------ gathering the facts

    async def server_tz(self, guild_id: int) -> ZoneInfo:
        settings = await self.bot.settings.get(guild_id)
        try:
            return ZoneInfo(settings.timezone)
        except (KeyError, ValueError):
            return ZoneInfo("UTC")

    async def club_watched_dates(self, guild_id: int) -> dict[str, int]:
        """film key -> when the club watched it (finished screenings and moderators' checks)."""
        store = self.bot.store
        finished = await screenings_repo.finished_screenings(store, guild_id)
        checks = await repo.list_checks(store, guild_id)
        starts: dict[str, list[int]] = {}
        ends: dict[str, list[int]] = {}
        for s in finished:
            starts.setdefault(s.film_key, []).append(s.starts_at)
            ends.setdefault(s.film_key, []).append(s.ends_at)
        result: dict[str, int] = {}
        for key in set(starts) | set(checks):
            mark = checks.get(key)
            check = Check(mark.watched, mark.set_at, mark.watched_at) if mark else None
            when = club_watched(starts.get(key, []), ends.get(key, []), check)
            if when is not None:
                result[key] = when
        return result

    async def member_watched_dates(self, guild_id: int, user_id: int, tz: ZoneInfo) -> dict[str, int | None]:
        """film key -> when the member watched it: their own marks and finished screenings they went to."""
        store = self.bot.store
        marks: dict[str, int | None] = {}
        for key, day in (await repo.watched_marks(store, guild_id, user_id)).items():
            marks[key] = _day_ts(day, tz) if day else None
        for s in await screenings_repo.finished_screenings(store, guild_id):
            if user_id in await screenings_repo.going_members(store, s.id):
                earlier = marks.get(s.film_key)
                marks[s.film_key] = s.starts_at if earlier is None else min(earlier, s.starts_at)
        return marks

    async def load_sheet(self, guild_id: int, member_id: int | None = None) -> Sheet:
        ratings = await screenings_repo.ratings_for_guild(self.bot.store, guild_id)
        comments = await repo.list_comments(self.bot.store, guild_id)
        mine = None
        if member_id is not None:
            mine = await self.member_watched_dates(guild_id, member_id, await self.server_tz(guild_id))
        return build_sheet(
            load_catalogue(),
            club_watched_at=await self.club_watched_dates(guild_id),
            ratings=[(r.film_key, r.user_id, r.thumbs) for r in ratings],
            comments=[(c.film_key, c.user_id, c.body) for c in comments],
            member_id=member_id,
            member_watched_at=mine,
        )

    async def member_named(self, guild: discord.Guild | None, member_id: int) -> SheetMember:
        """Whose journey a page shows: their server name, else their Discord name (they may have left)."""
        person: discord.abc.User | None = guild.get_member(member_id) if guild else None
        if person is None and guild is not None:
            try:
                person = await guild.fetch_member(member_id)
            except discord.HTTPException:
                person = None
        if person is None:
            try:
                person = self.bot.get_user(member_id) or await self.bot.fetch_user(member_id)
            except discord.HTTPException:
                person = None
        return SheetMember(member_id, person.display_name if person else "A former member")

    async def picture(self, sheet: Sheet, who: str | None) -> discord.File:
        """The progress picture, drawn in the worker (off the event loop)."""
        return await self.bot.worker.run(views.progress_file, sheet, who)

    # ------------------------------------------------------------------ comments, checks, export

    async def set_comment(self, guild_id: int, film: Film, user_id: int, body: str) -> bool:
        """Store the member's comment on ``film``; True when it replaced an earlier one."""
        return await repo.set_comment(self.bot.store, guild_id, film.key, user_id, body, self.bot.now_ts())

    async def check(self, guild_id: int, film: Film, watched_at: int, by: int) -> Sheet:
        """Mark ``film`` as watched by the club at ``watched_at``; the sheet after it."""
        before = await self.club_watched_dates(guild_id)
        if film.key in before:
            raise UserError(
                f"**{escape(format_choice(film))}** is already checked (watched {ts(before[film.key], 'D')})."
            )
        await repo.set_check(
            self.bot.store, guild_id, film.key, watched=True, watched_at=watched_at, set_by=by, now=self.bot.now_ts()
        )
        return await self.load_sheet(guild_id)

    async def uncheck(self, guild_id: int, film: Film, by: int) -> Sheet:
        """Take the club's watched mark off ``film``; the sheet after it."""
        before = await self.club_watched_dates(guild_id)
        if film.key not in before:
            raise UserError(f"**{escape(format_choice(film))}** isn't checked, so there is nothing to take off.")
        await repo.set_check(
            self.bot.store, guild_id, film.key, watched=False, watched_at=None, set_by=by, now=self.bot.now_ts()
        )
        return await self.load_sheet(guild_id)

    async def export(self, guild_id: int, guild: discord.Guild | None) -> tuple[Sheet, str]:
        """The whole sheet and its CSV text (members named as the server shows them)."""
        sheet = await self.load_sheet(guild_id)
        names = await self.member_names(guild, sheet.members)
        return sheet, sheet_csv(sheet, names, await self.server_tz(guild_id))

    async def member_names(self, guild: discord.Guild | None, user_ids: Iterable[int]) -> dict[int, str]:
        """Display names for the export; members not cached are fetched (a few), others stay unnamed."""
        names: dict[int, str] = {}
        if guild is None:
            return names
        fetched = 0
        for user_id in user_ids:
            member = guild.get_member(user_id)
            if member is None and fetched < NAME_FETCH_LIMIT:
                fetched += 1
                try:
                    member = await guild.fetch_member(user_id)
                except discord.HTTPException:
                    member = None
            if member is not None:
                names[user_id] = member.display_name
        return names

    # ------------------------------------------------------------------ Letterboxd

    @contextmanager
    def import_slot(self, guild_id: int, user_id: int) -> Iterator[None]:
        """Held while a member's import runs; a second import of theirs meanwhile is refused."""
        who = (guild_id, user_id)
        if who in self._importing:
            raise UserError("Your previous import is still being read. Wait for its answer, then import the next file.")
        self._importing.add(who)
        try:
            yield
        finally:
            self._importing.discard(who)

    async def import_letterboxd(
        self, guild_id: int, user_id: int, data: bytes, filename: str
    ) -> tuple[int, ImportPlan]:
        """Read a Letterboxd file and apply it to the member's journey; (rows read, what was done)."""
        # Up to 10,000 rows of a 2 MB file: read and match them in the worker process (bot/worker.py).
        export, result = await self.bot.worker.run_isolated(read_and_match, data, filename)
        if not export.entries:
            raise UserError(f"**{escape(filename)}** has no films in it, so there is nothing to import.")
        now = self.bot.now_ts()
        async with self.bot.store.transaction() as tx:
            club = {
                r.film_key: ClubRating(r.thumbs, r.updated_at)
                for r in await screenings_repo.ratings_for_member(tx, guild_id, user_id)
            }
            prior = {
                key: PriorImport(item.thumbs, item.imported_at)
                for key, item in (await repo.imported_ratings(tx, guild_id, user_id)).items()
            }
            watched = set(await repo.watched_marks(tx, guild_id, user_id))
            plan = plan_import(result, club, prior, watched)
            for match in plan.matched:
                day = match.watched_on.isoformat() if match.watched_on else None
                await repo.add_watched(tx, guild_id, user_id, match.film.key, day, now)
            for match in (*plan.add, *plan.update):
                assert match.thumbs is not None and match.stars is not None
                await screenings_repo.set_rating(
                    tx, guild_id, match.film.key, user_id, match.thumbs, None, now,
                    title=match.film.title, year=match.film.year,
                )  # fmt: skip
                await repo.record_imported_rating(tx, guild_id, user_id, match.film.key, match.stars, match.thumbs, now)
        return len(export.entries), plan

    async def letterboxd_rows(self, guild_id: int, user_id: int) -> list[RatingOut]:
        """The member's club ratings as Letterboxd importer rows (a UserError when they have none)."""
        store = self.bot.store
        ratings = await screenings_repo.ratings_for_member(store, guild_id, user_id)
        if not ratings:
            raise UserError("You have no club ratings yet. Rate a film with `/rate` (or import from Letterboxd) first.")
        marks = await repo.watched_marks(store, guild_id, user_id)
        tz = await self.server_tz(guild_id)
        rows: list[RatingOut] = []
        for rating in sorted(ratings, key=lambda r: (r.title.casefold(), r.year or 0)):
            watched_on: date | None = None
            mark = marks.get(rating.film_key)
            if mark:
                watched_on = date.fromisoformat(mark)
            elif rating.screening_id is not None:
                screening = await screenings_repo.get_screening(store, rating.screening_id, guild_id)
                if screening is not None and screening.is_finished:
                    watched_on = datetime.fromtimestamp(screening.starts_at, UTC).astimezone(tz).date()
            rows.append(RatingOut(rating.title, rating.year, rating.thumbs, watched_on, rating.review))
        return rows

    # ------------------------------------------------------------------ the theme shelf

    async def theme(self, guild_id: int) -> Theme | None:
        return await theme_repo.get_theme(self.bot.store, guild_id)

    async def shelf_embed(self, theme: Theme) -> discord.Embed:
        watched = await self.club_watched_dates(theme.guild_id)
        upcoming = await screenings_repo.list_upcoming(self.bot.store, theme.guild_id, limit=100)
        return views.shelf_embed(theme, watched, upcoming)

    async def shelf_card(self, guild_id: int, film_key: str) -> discord.Embed:
        """The card of a film picked under the shelf (a UserError when it left the shelf meanwhile)."""
        film = load_catalogue().get(film_key)
        if film is None:
            theme = await self.theme(guild_id)
            shelved = next((f for f in (theme.films if theme else ()) if is_choice_for(f.film_key, film_key)), None)
            if shelved is None:
                raise UserError("That film is no longer on the shelf.")
            film = views.film_of(shelved)
        watched = (await self.club_watched_dates(guild_id)).get(film.key)
        ratings = await screenings_repo.ratings_for_film(self.bot.store, guild_id, film.key)
        scheduled = await screenings_repo.list_upcoming(self.bot.store, guild_id, limit=100)
        upcoming = [s for s in scheduled if s.film_key == film.key]
        return views.shelf_card(film, watched, [r.thumbs for r in ratings], upcoming)

    async def shelf_channel(self, guild: discord.Guild) -> discord.TextChannel:
        """The announcements channel, if the bot can post the shelf there; else a UserError saying why."""
        return await announcements_channel(self.bot, guild, doing="post the shelf")

    async def post(self, channel: discord.TextChannel, theme: Theme, actor: str) -> tuple[discord.Message, bool, str]:
        """Send the shelf and pin it when the bot may. Returns (message, pinned, a note for the moderator)."""
        message = await channel.send(embed=await self.shelf_embed(theme), view=views.shelf_view(theme))
        perms = channel.permissions_for(channel.guild.me)
        if not perms.pin_messages:  # since 2026-02-23 Manage Messages alone does not allow pinning
            return message, False, (
                f" I didn't pin it: I need the Pin Messages permission in {channel.mention}. Once my role has it, "
                "`/theme repost` posts and pins the shelf again."
            )
        try:
            await message.pin(reason=f"theme shelf posted by {actor}")
        except discord.Forbidden:
            return message, False, " I couldn't pin it: I need the Pin Messages permission there."
        except discord.HTTPException:
            return message, False, (
                " I couldn't pin it: the channel may already have as many pins as Discord allows. "
                "Unpin an old message, then run `/theme repost`."
            )
        return message, True, ""

    async def set_shelf(
        self, channel: discord.TextChannel, title: str, films: Iterable[Film], set_by: int, actor: str
    ) -> tuple[bool, str]:
        """Post a new shelf, store it, retire the one it replaces. Returns (pinned, a note for the moderator)."""
        guild_id = channel.guild.id
        now = self.bot.now_ts()
        items = [ShelfFilm(f.key, f.title, f.year) for f in films]
        draft = Theme(guild_id=guild_id, title=title, films=tuple(items), set_by=set_by, set_at=now)
        message, pinned, pin_note = await self.post(channel, draft, actor)
        async with self.bot.store.transaction() as tx:
            old = await theme_repo.get_theme(tx, guild_id)
            await theme_repo.set_theme(tx, guild_id, title, items, set_by=set_by, now=now)
            await theme_repo.set_message(tx, guild_id, channel.id, message.id, pinned)
        if old is not None:
            await self.retire(old, f"This shelf was replaced by **{escape(title)}**.")
        return pinned, pin_note

    async def repost(self, channel: discord.TextChannel, theme: Theme, actor: str) -> tuple[bool, str]:
        """Post ``theme`` again and take the old copy down. Returns (pinned, a note for the moderator)."""
        guild_id = channel.guild.id
        message, pinned, pin_note = await self.post(channel, theme, actor)
        async with self.bot.store.transaction() as tx:
            current = await theme_repo.get_theme(tx, guild_id)
            if current is None or current.set_at != theme.set_at:
                stale = True
            else:
                stale = False
                await theme_repo.set_message(tx, guild_id, channel.id, message.id, pinned)
        if stale:  # the shelf was cleared or replaced meanwhile: take this copy down again
            await self.retire(
                Theme(guild_id, theme.title, theme.films, theme.set_by, theme.set_at, channel.id, message.id, pinned),
                "This shelf was taken down while it was being posted.",
            )
            raise UserError("The shelf changed while I was posting it; run `/theme show` to see the current one.")
        if theme.message_id is not None and theme.message_id != message.id:
            await self.retire(theme, "This shelf was posted again further down.", delete=True)
        return pinned, pin_note

    async def clear(self, guild_id: int) -> Theme | None:
        """Take the shelf down; the shelf that was up (None when there was none)."""
        old = await theme_repo.clear_theme(self.bot.store, guild_id)
        if old is not None:
            await self.retire(old, f"The shelf **{escape(old.title)}** has been cleared.")
        return old

    async def retire(self, old: Theme, note: str, *, delete: bool = False) -> None:
        """Unpin the old shelf message (if we pinned it) and mark it as over (or delete it). Best effort."""
        if old.channel_id is None or old.message_id is None:
            return
        channel = self.bot.get_channel(old.channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            return
        message = channel.get_partial_message(old.message_id)  # type: ignore[attr-defined]
        try:
            if delete:
                await message.delete()
                return
            if old.pinned:
                await message.unpin(reason="theme shelf replaced or cleared")
            await message.edit(content=note, view=None)
        except discord.HTTPException as exc:
            log.info("could not retire shelf message %s: %s", old.message_id, exc)

    async def refresh(self, guild_id: int) -> None:
        """Redraw the posted shelf (a screening of a shelved film changed)."""
        theme = await self.theme(guild_id)
        if theme is None or theme.channel_id is None or theme.message_id is None:
            return
        channel = self.bot.get_channel(theme.channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            return
        message = channel.get_partial_message(theme.message_id)  # type: ignore[attr-defined]
        try:
            await message.edit(embed=await self.shelf_embed(theme), view=views.shelf_view(theme))
        except discord.NotFound:
            await self.message_deleted(guild_id, theme.message_id)
        except discord.HTTPException as exc:
            log.info("could not refresh shelf message %s: %s", theme.message_id, exc)

    async def screening_changed(self, screening: Screening) -> None:
        """A screening was scheduled, moved, cancelled or finished: refresh the shelf when it shelves that film."""
        theme = await self.theme(screening.guild_id)
        if theme is not None and any(f.film_key == screening.film_key for f in theme.films):
            await self.refresh(screening.guild_id)

    async def message_deleted(self, guild_id: int, message_id: int) -> None:
        """A message was deleted: forget it when it was the shelf's (`/theme show` then says how to repost)."""
        if await theme_repo.forget_message(self.bot.store, guild_id, message_id):
            log.info("theme shelf message %s of guild %s was deleted", message_id, guild_id)
