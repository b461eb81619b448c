"""The Spreadsheet: `/spreadsheet view|comment|check|uncheck|export`.

Discord does not let a command group and a bare command share a name, so the sheet itself is
``/spreadsheet view [year] [member]`` beside the subcommands.

The sheet's ◀ / ▶ buttons are ``DynamicItem``s (state in the custom id): they only answer the
member who opened the sheet, keep working after a restart, and rebuild the page from current data.

The sheet is built on demand from the screenings feature's tables (finished screenings, ratings,
RSVPs) plus this feature's own (moderators' checks, comments, members' watched marks): see
:mod:`bot.domain.spreadsheet` for the rules.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import moderator_only, require_guild, require_member_can_post
from bot.domain import spreadsheet as sheet_rules
from bot.domain.dates import parse_date
from bot.domain.films import Film, FilmError, format_choice, load_catalogue, resolve_film
from bot.domain.spreadsheet import CeremonyGroup, Check, Sheet, SheetRow, build_sheet, club_watched
from bot.domain.timeparse import TimeParseError
from bot.errors import UserError
from bot.handlers import guarded
from bot.progress_image import Cell, progress_png
from bot.render import CLUB_COLOUR, clip, escape, ts
from db import screenings as screenings_repo
from db import spreadsheet as repo

Interaction = discord.Interaction[FilmClubBot]

COMMENTS_SHOWN = 2  # per film on a page
COMMENT_CLIP = 110
DESCRIPTION_LIMIT = 4000
NAME_FETCH_LIMIT = 50  # members looked up over REST for the export's column names
FILM_OPTION_MAX = 200  # longer than any catalogue title with its year


# --------------------------------------------------------------------------- gathering the facts


async def club_watched_dates(bot: FilmClubBot, guild_id: int) -> dict[str, int]:
    """film key -> when the club watched it (finished screenings and moderators' checks)."""
    finished = await screenings_repo.finished_screenings(bot.store, guild_id)
    checks = await repo.list_checks(bot.store, guild_id)
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


async def member_watched_dates(bot: FilmClubBot, guild_id: int, user_id: int, tz: ZoneInfo) -> dict[str, int | None]:
    """film key -> when the member watched it: their own marks and finished screenings they went to."""
    marks: dict[str, int | None] = {}
    for key, day in (await repo.watched_marks(bot.store, guild_id, user_id)).items():
        marks[key] = _day_ts(day, tz) if day else None
    for s in await screenings_repo.finished_screenings(bot.store, guild_id):
        if user_id in await screenings_repo.going_members(bot.store, s.id):
            earlier = marks.get(s.film_key)
            marks[s.film_key] = s.starts_at if earlier is None else min(earlier, s.starts_at)
    return marks


def _day_ts(day: str, tz: ZoneInfo) -> int | None:
    try:
        parsed = datetime.fromisoformat(day).date()
    except ValueError:
        return None
    return int(datetime.combine(parsed, time(12), tzinfo=tz).timestamp())


async def server_tz(bot: FilmClubBot, guild_id: int) -> ZoneInfo:
    settings = await bot.settings.get(guild_id)
    try:
        return ZoneInfo(settings.timezone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


async def load_sheet(bot: FilmClubBot, guild_id: int, member_id: int | None = None) -> Sheet:
    ratings = await screenings_repo.ratings_for_guild(bot.store, guild_id)
    comments = await repo.list_comments(bot.store, guild_id)
    mine = None
    if member_id is not None:
        mine = await member_watched_dates(bot, guild_id, member_id, await server_tz(bot, guild_id))
    return build_sheet(
        load_catalogue(),
        club_watched_at=await club_watched_dates(bot, guild_id),
        ratings=[(r.film_key, r.user_id, r.thumbs) for r in ratings],
        comments=[(c.film_key, c.user_id, c.body) for c in comments],
        member_id=member_id,
        member_watched_at=mine,
    )


def sheet_film(text: str) -> Film:
    """The Best Picture nominee a film option names, or a UserError saying why not."""
    if len(text.strip()) > FILM_OPTION_MAX:
        raise UserError(
            f"That film name is {len(text.strip())} characters long; no nominee's title is. Pick a film from the list."
        )
    try:
        film = resolve_film(text)
    except FilmError as exc:
        raise UserError(clip(exc.message, 1000)) from None
    if film.is_custom or not film.is_nominee:
        raise UserError(
            f"{escape(format_choice(film))} isn't a Best Picture nominee, so it isn't on the sheet. "
            "Pick a film from the list."
        )
    return film


async def nominee_choices(current: str) -> list[app_commands.Choice[str]]:
    films = [f for f in load_catalogue().search(current, limit=25) if f.is_nominee]
    return [app_commands.Choice(name=format_choice(f), value=format_choice(f)) for f in films]


# --------------------------------------------------------------------------- rendering


def _thumbs(n: int) -> str:
    return f"{n}👍"


def _row_lines(row: SheetRow, member_id: int | None) -> list[str]:
    film = row.film
    mark = "✅" if row.watched else "⬜"
    line = f"{mark} **{escape(film.title)}** ({film.year})"
    if film.is_winner:
        line += " 🏆"
    if row.watched and row.watched_at is not None:
        line += f" · watched {ts(row.watched_at, 'd')}"
    if member_id is None:
        if row.ratings:
            count = len(row.ratings)
            plural = "s" if count != 1 else ""
            line += f" · avg **{sheet_rules.format_average(row.average)}**👍 ({count} rating{plural})"
    elif member_id in row.ratings:
        line += f" · you: {_thumbs(row.ratings[member_id])}"
    lines = [line]
    comments = list(row.comments.items())
    for user_id, text in comments[:COMMENTS_SHOWN]:
        lines.append(f"\u2003💬 <@{user_id}>: {escape(clip(text, COMMENT_CLIP))}")
    if len(comments) > COMMENTS_SHOWN:
        lines.append(f"\u2003… and {len(comments) - COMMENTS_SHOWN} more in `/spreadsheet export`")
    return lines


def page_embed(sheet: Sheet, group: CeremonyGroup, index: int, who: str | None) -> discord.Embed:
    heading = f"{who}'s journey" if who else "The Spreadsheet"
    embed = discord.Embed(title=clip(f"{heading} · {group.title}", 256), colour=CLUB_COLOUR)
    lines = [f"**{sheet.progress_line}** · this ceremony: {group.watched} of {group.total}", ""]
    for row in group.rows:
        for text in _row_lines(row, sheet.member_id):
            if sum(len(x) + 1 for x in lines) + len(text) > DESCRIPTION_LIMIT:
                lines.append("…")
                break
            lines.append(text)
        else:
            continue
        break
    embed.description = "\n".join(lines)
    embed.set_footer(text=f"Ceremony {index + 1} of {len(sheet.groups)} · /spreadsheet view year: jumps to one")
    return embed


def progress_file(sheet: Sheet, who: str | None) -> discord.File:
    rows = [
        (str(group.ceremony), [Cell(row.watched, row.film.is_winner) for row in group.rows])
        for group in sheet.groups
    ]
    title = f"{who}'s Best Picture journey" if who else "The club's Best Picture journey"
    return discord.File(io.BytesIO(progress_png(title, rows)), filename="progress.png")


PAGE_TEMPLATE = r"sheet:(?P<step>prev|next):(?P<owner>[0-9]+):(?P<member>[0-9]+):(?P<ceremony>[0-9]+)"
NOT_YOURS = "These buttons belong to whoever ran the command; run `/spreadsheet view` yourself to page."


class SheetPageButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=PAGE_TEMPLATE):
    """◀ / ▶ under a sheet. The custom id carries who may page, whose journey it is (0 = the club's)
    and the ceremony the button opens, so the buttons keep working after a restart and never time
    out; every click rebuilds the page from the current data."""

    def __init__(self, step: str, owner_id: int, member_id: int, ceremony: int, *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label="◀ Previous" if step == "prev" else "Next ▶",
                style=discord.ButtonStyle.secondary,
                custom_id=f"sheet:{step}:{owner_id}:{member_id}:{ceremony}",
                disabled=disabled,
            )
        )
        self.step, self.owner_id, self.member_id, self.ceremony = step, owner_id, member_id, ceremony

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SheetPageButton:
        return cls(match["step"], int(match["owner"]), int(match["member"]), int(match["ceremony"]))

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        if interaction.user.id != self.owner_id:
            raise UserError(NOT_YOURS)
        guild_id = require_guild(interaction)
        member = await _member_named(interaction, self.member_id) if self.member_id else None
        sheet = await load_sheet(interaction.client, guild_id, self.member_id or None)
        ceremonies = sheet.ceremonies()
        if not ceremonies:
            raise UserError("The catalogue has no Best Picture nominees, so there is no sheet to show.")
        index = _nearest_index(ceremonies, self.ceremony)
        content, embed, view = sheet_message(sheet, index, self.owner_id, member)
        await interaction.response.edit_message(content=content, embed=embed, view=view)


class SheetCounter(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"sheet:at:(?P<label>[0-9]+/[0-9]+)"):
    """The disabled "9/21" between the arrows (a DynamicItem only so no view is kept in memory)."""

    def __init__(self, label: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=label, style=discord.ButtonStyle.secondary, custom_id=f"sheet:at:{label}", disabled=True
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SheetCounter:
        return cls(match["label"])

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        await interaction.response.defer()


@dataclass(frozen=True)
class SheetMember:
    id: int
    name: str


def _nearest_index(ceremonies: list[int], ceremony: int) -> int:
    """The page of ``ceremony``, or of the nearest ceremony when the catalogue changed meanwhile."""
    if ceremony in ceremonies:
        return ceremonies.index(ceremony)
    return min(range(len(ceremonies)), key=lambda i: (abs(ceremonies[i] - ceremony), i))


async def _member_named(interaction: discord.Interaction[Any], member_id: int) -> SheetMember:
    """Whose journey a page shows: their server name, else their Discord name (they may have left)."""
    guild = interaction.guild
    person: discord.abc.User | None = guild.get_member(member_id) if guild else None
    if person is None and guild is not None:
        try:
            person = await guild.fetch_member(member_id)
        except discord.HTTPException:
            person = None
    if person is None:
        try:
            person = interaction.client.get_user(member_id) or await interaction.client.fetch_user(member_id)
        except discord.HTTPException:
            person = None
    return SheetMember(member_id, person.display_name if person else "A former member")


def sheet_view(sheet: Sheet, index: int, owner_id: int, member_id: int) -> discord.ui.View:
    years = sheet.ceremonies()
    last = len(years) - 1
    view = discord.ui.View(timeout=None)
    view.add_item(SheetPageButton("prev", owner_id, member_id, years[max(0, index - 1)], disabled=index <= 0))
    view.add_item(SheetCounter(f"{index + 1}/{len(years)}"))
    view.add_item(SheetPageButton("next", owner_id, member_id, years[min(last, index + 1)], disabled=index >= last))
    return view


def sheet_message(
    sheet: Sheet, index: int, owner_id: int, member: SheetMember | None
) -> tuple[str, discord.Embed, discord.ui.View]:
    """The content line, the page's embed and its buttons."""
    who = member.name if member else None
    content = f"{'**' + escape(member.name) + '**: ' if member else ''}{sheet.progress_line}."
    embed = page_embed(sheet, sheet.groups[index], index, who)
    return content, embed, sheet_view(sheet, index, owner_id, member.id if member else 0)


# --------------------------------------------------------------------------- the cog


class Spreadsheet(commands.Cog):
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(SheetPageButton, SheetCounter)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(SheetPageButton, SheetCounter)

    spreadsheet = app_commands.Group(
        name="spreadsheet", description="The club's journey through the Best Picture nominees", guild_only=True
    )

    @spreadsheet.command(name="view", description="The sheet: every Best Picture nominee, watched marks, thumbs")
    @app_commands.describe(
        year="Open at this ceremony (the year it was held, e.g. 2014 for the films of 2013)",
        member="Show this member's own journey instead of the club's",
    )
    async def view(
        self,
        interaction: Interaction,
        year: int | None = None,
        member: discord.Member | discord.User | None = None,
    ) -> None:
        guild_id = require_guild(interaction)
        require_member_can_post(interaction)
        sheet = await load_sheet(self.bot, guild_id, member.id if member else None)
        if not sheet.groups:
            raise UserError("The catalogue has no Best Picture nominees, so there is no sheet to show.")
        start = sheet.index_of(year) if year is not None else _first_unfinished(sheet)
        who = SheetMember(member.id, member.display_name) if member else None
        content, embed, view = sheet_message(sheet, start, interaction.user.id, who)
        picture = await self.bot.worker.run(progress_file, sheet, who.name if who else None)  # drawn off the loop
        await interaction.response.send_message(content, embed=embed, view=view, file=picture)

    @view.autocomplete("year")
    async def _year_choices(self, interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
        years = sorted(load_catalogue().best_picture_by_ceremony(), reverse=True)
        wanted = [y for y in years if str(y).startswith(current.strip())] if current.strip() else years
        return [app_commands.Choice(name=f"{y} ceremony (films of {y - 1})", value=y) for y in wanted[:25]]

    @spreadsheet.command(name="comment", description="Comment on a film of the sheet (one per film; replaces yours)")
    @app_commands.describe(film="A Best Picture nominee", text="Up to 280 characters")
    async def comment(self, interaction: Interaction, film: str, text: str) -> None:
        guild_id = require_guild(interaction)
        found = sheet_film(film)
        body = sheet_rules.check_comment(text)
        replaced = await repo.set_comment(
            self.bot.store, guild_id, found.key, interaction.user.id, body, self.bot.now_ts()
        )
        verb = "Comment updated" if replaced else "Comment saved"
        await interaction.response.send_message(
            f"{verb} on **{escape(format_choice(found))}**: “{escape(body)}”", ephemeral=True
        )

    @spreadsheet.command(name="check", description="Moderators: mark a film as watched by the club")
    @app_commands.describe(
        film="A Best Picture nominee",
        date="When the club watched it: 2024-05-01, 1 May 2024, yesterday, fri (default: today)",
    )
    @moderator_only()
    async def check(self, interaction: Interaction, film: str, date: str | None = None) -> None:
        guild_id = require_guild(interaction)
        found = sheet_film(film)
        tz = await server_tz(self.bot, guild_id)
        now = self.bot.now_ts()
        watched_at = now
        if date is not None:
            today = datetime.fromtimestamp(now, tz).date()
            try:
                day = parse_date(date, today)
            except TimeParseError as exc:
                raise UserError(exc.message) from None
            if day > today:
                raise UserError(
                    f"{day.isoformat()} is in the future: check a film once the club has watched it "
                    "(leave `date` out for today)."
                )
            watched_at = min(now, int(datetime.combine(day, time(12), tzinfo=tz).timestamp()))
            if day.year < found.year:
                raise UserError(
                    f"{escape(format_choice(found))} came out in {found.year}, so the club can't have watched it "
                    f"on {day.isoformat()}. Give the date of the club's viewing (e.g. `2024-05-01`), or leave it out "
                    "for today."
                )
        before = await club_watched_dates(self.bot, guild_id)
        if found.key in before:
            raise UserError(
                f"**{escape(format_choice(found))}** is already checked (watched {ts(before[found.key], 'D')})."
            )
        await repo.set_check(
            self.bot.store, guild_id, found.key, watched=True, watched_at=watched_at, set_by=interaction.user.id,
            now=now,
        )
        sheet = await load_sheet(self.bot, guild_id)
        await interaction.response.send_message(
            f"✅ Checked **{escape(format_choice(found))}** (watched {ts(watched_at, 'D')}). {sheet.progress_line}.",
            ephemeral=True,
        )

    @spreadsheet.command(name="uncheck", description="Moderators: take the watched mark off a film")
    @app_commands.describe(film="A Best Picture nominee")
    @moderator_only()
    async def uncheck(self, interaction: Interaction, film: str) -> None:
        guild_id = require_guild(interaction)
        found = sheet_film(film)
        before = await club_watched_dates(self.bot, guild_id)
        if found.key not in before:
            raise UserError(f"**{escape(format_choice(found))}** isn't checked, so there is nothing to take off.")
        await repo.set_check(
            self.bot.store, guild_id, found.key, watched=False, watched_at=None, set_by=interaction.user.id,
            now=self.bot.now_ts(),
        )
        sheet = await load_sheet(self.bot, guild_id)
        await interaction.response.send_message(
            f"⬜ Unchecked **{escape(format_choice(found))}**. {sheet.progress_line}. "
            "(A screening of it that finishes later checks it again.)",
            ephemeral=True,
        )

    @comment.autocomplete("film")
    @check.autocomplete("film")
    @uncheck.autocomplete("film")
    async def _film_choices(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await nominee_choices(current)

    @spreadsheet.command(name="export", description="The whole sheet as a CSV file (ratings and comments too)")
    async def export(self, interaction: Interaction) -> None:
        guild_id = require_guild(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        sheet = await load_sheet(self.bot, guild_id)
        names = await member_names(interaction, sheet.members)
        text = sheet_rules.sheet_csv(sheet, names, await server_tz(self.bot, guild_id))
        file = discord.File(io.BytesIO(text.encode("utf-8")), filename="filmclub-spreadsheet.csv")
        await interaction.followup.send(
            f"The sheet: {sheet.progress_line}, {_members(len(sheet.members))} with ratings or comments.",
            file=file,
            ephemeral=True,
        )


async def member_names(interaction: Interaction, user_ids: Iterable[int]) -> dict[int, str]:
    """Display names for the export; members not cached are fetched (a few), others stay unnamed."""
    guild = interaction.guild
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


def _members(count: int) -> str:
    return f"{count} member{'' if count == 1 else 's'}"


def _first_unfinished(sheet: Sheet) -> int:
    """Open the sheet where the journey stands: the oldest ceremony not fully watched (else the last)."""
    for i, group in enumerate(sheet.groups):
        if group.watched < group.total:
            return i
    return max(0, len(sheet.groups) - 1)


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(Spreadsheet(bot))


__all__ = ["Spreadsheet", "load_sheet", "member_names", "setup"]
