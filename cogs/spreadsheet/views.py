"""What the Spreadsheet feature looks like: the sheet's pages, its ◀ / ▶ buttons and progress picture, the
Letterboxd import summary and files, the theme shelf, its select menu and a shelved film's card.

Buttons and selects reach the feature through ``interaction.client.spreadsheet``
(:class:`cogs.spreadsheet.service.SpreadsheetService`); nothing here reads the database.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot.cards import film_card
from bot.checks import require_guild
from bot.domain import spreadsheet as sheet_rules
from bot.domain.films import Film, choice_value, load_catalogue
from bot.domain.letterboxd import ImportPlan, RatingOut, export_csv
from bot.domain.screenings import Screening
from bot.domain.spreadsheet import CeremonyGroup, Sheet, SheetRow
from bot.errors import UserError
from bot.handlers import guarded
from bot.progress_image import Cell, progress_png
from bot.render import CLUB_COLOUR, clip, escape, plural, ts, ts_full
from db.theme import ShelfFilm, Theme

if TYPE_CHECKING:
    from cogs.spreadsheet.service import SpreadsheetService

COMMENTS_SHOWN = 2  # per film on a page
COMMENT_CLIP = 110
DESCRIPTION_LIMIT = 4000
UNMATCHED_SHOWN = 1000  # characters of unmatched titles in the import reply
KEPT_SHOWN = 5
CARD_ID = "theme:card"
VALUE_MAX = 100
NO_SHEET = "The catalogue has no Best Picture nominees, so there is no sheet to show."


# --------------------------------------------------------------------------- the sheet


@dataclass(frozen=True)
class SheetMember:
    id: int
    name: str


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
            line += (
                f" · avg **{sheet_rules.format_average(row.average)}**👍 ({plural(len(row.ratings), 'rating')})"
            )
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
    """The progress picture (CPU work: the service draws it in the worker, off the event loop)."""
    rows = [
        (str(group.ceremony), [Cell(row.watched, row.film.is_winner) for row in group.rows])
        for group in sheet.groups
    ]
    title = f"{who}'s Best Picture journey" if who else "The club's Best Picture journey"
    return discord.File(io.BytesIO(progress_png(title, rows)), filename="progress.png")


def first_unfinished(sheet: Sheet) -> int:
    """Open the sheet where the journey stands: the oldest ceremony not fully watched (else the last)."""
    for i, group in enumerate(sheet.groups):
        if group.watched < group.total:
            return i
    return max(0, len(sheet.groups) - 1)


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
        service: SpreadsheetService = interaction.client.spreadsheet
        member = await service.member_named(interaction.guild, self.member_id) if self.member_id else None
        sheet = await service.load_sheet(guild_id, self.member_id or None)
        ceremonies = sheet.ceremonies()
        if not ceremonies:
            raise UserError(NO_SHEET)
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


def _nearest_index(ceremonies: list[int], ceremony: int) -> int:
    """The page of ``ceremony``, or of the nearest ceremony when the catalogue changed meanwhile."""
    if ceremony in ceremonies:
        return ceremonies.index(ceremony)
    return min(range(len(ceremonies)), key=lambda i: (abs(ceremonies[i] - ceremony), i))


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


def sheet_csv_file(text: str) -> discord.File:
    return discord.File(io.BytesIO(text.encode("utf-8")), filename="filmclub-spreadsheet.csv")


# --------------------------------------------------------------------------- Letterboxd


def import_summary(filename: str, rows: int, plan: ImportPlan) -> str:
    matched = len(plan.matched)
    lines = [
        f"Read **{escape(filename)}** ({plural(rows, 'row')}): **{matched:,}** "
        f"{'film' if matched == 1 else 'films'} matched the catalogue, **{len(plan.new):,}** new to your journey."
    ]
    if plan.add or plan.update:
        lines.append(f"Ratings: {len(plan.add)} added, {len(plan.update)} updated.")
    if plan.kept:
        kept = ", ".join(escape(m.film.label) for m in plan.kept[:KEPT_SHOWN])
        if len(plan.kept) > KEPT_SHOWN:
            kept += ", …"
        lines.append(
            f"Kept your club rating for {plural(len(plan.kept), 'film')} you rated here ({kept}): "
            "an import never overrides `/rate`."
        )
    if not plan.changes_anything and plan.matched:
        lines.append("Nothing changed: everything in this file was already on your journey.")
    if plan.unmatched:
        # Built for what is shown: escaping thousands of titles only to cut them off cost seconds on the loop.
        shown: list[str] = []
        length = 0
        for entry in plan.unmatched:
            if length > UNMATCHED_SHOWN:
                break
            shown.append(escape(entry.label))
            length += len(shown[-1]) + 2
        names = ", ".join(shown) + (", …" if len(shown) < len(plan.unmatched) else "")
        lines.append(f"Not in the catalogue ({len(plan.unmatched)}): {clip(names, UNMATCHED_SHOWN)}")
    return clip("\n".join(lines), 2000)


def letterboxd_file(rows: Sequence[RatingOut]) -> discord.File:
    return discord.File(io.BytesIO(export_csv(list(rows)).encode("utf-8")), filename="letterboxd-import.csv")


# --------------------------------------------------------------------------- the theme shelf


def film_of(item: ShelfFilm) -> Film:
    """The catalogue's film for a shelved one (or what the shelf remembers of a film not in the catalogue)."""
    return load_catalogue().get(item.film_key) or Film(key=item.film_key, title=item.title, year=item.year or 0)


def _upcoming_by_film(upcoming: list[Screening]) -> dict[str, list[Screening]]:
    found: dict[str, list[Screening]] = {}
    for s in upcoming:
        found.setdefault(s.film_key, []).append(s)
    return found


def shelf_embed(theme: Theme, watched: dict[str, int], upcoming: list[Screening]) -> discord.Embed:
    embed = discord.Embed(title=clip(f"📚 Theme shelf: {theme.title}", 256), colour=CLUB_COLOUR)
    by_film = _upcoming_by_film(upcoming)
    lines = [f"Shelved by <@{theme.set_by}> {ts(theme.set_at, 'R')}.", ""]
    for number, item in enumerate(theme.films, start=1):
        film = film_of(item)
        bits = [f"**{number}. {escape(film.title)}**" + (f" ({film.year})" if film.year else "")]
        if film.director:
            bits.append(escape(film.director))
        if film.runtime:
            bits.append(f"{film.runtime} min")
        if film.is_winner:
            bits.append("🏆 Best Picture")
        elif film.is_nominee:
            bits.append("Best Picture nominee")
        if item.film_key in watched:
            bits.append(f"✅ watched {ts(watched[item.film_key], 'd')}")
        lines.append(" · ".join(bits))
        nexts = by_film.get(item.film_key, [])
        if nexts:
            s = nexts[0]
            link = f" · [announcement]({s.jump_url})" if s.jump_url else ""
            lines.append(f"\u2003🎟️ Screening #{s.id} {ts_full(s.starts_at)}{link}")
    embed.description = clip("\n".join(lines), 4000)
    embed.set_footer(text="Pick a film below for its catalogue card.")
    return embed


def add_posted_field(embed: discord.Embed, theme: Theme, guild_id: int) -> discord.Embed:
    """`/theme show`: where the shelf was posted, or how to post it again."""
    if theme.channel_id and theme.message_id:
        url = f"https://discord.com/channels/{guild_id}/{theme.channel_id}/{theme.message_id}"
        embed.add_field(name="Posted", value=f"[in <#{theme.channel_id}>]({url})", inline=False)
    else:
        embed.add_field(
            name="Posted",
            value="The shelf's message was deleted. A moderator can post it again with `/theme repost`.",
            inline=False,
        )
    return embed


def shelf_card(
    film: Film, watched: int | None, thumbs: Sequence[int], upcoming: Sequence[Screening]
) -> discord.Embed:
    """A shelved film's catalogue card with the club's side of it (watched, ratings, next screenings)."""
    embed = film_card(film)
    club = f"✅ Watched {ts(watched, 'D')}" if watched is not None else "Not watched yet"
    if thumbs:
        club += f" · {sheet_rules.format_average(sheet_rules.average(thumbs))}👍 average from {len(thumbs)}"
    embed.add_field(name="At the club", value=club, inline=False)
    if upcoming:
        embed.add_field(
            name="Upcoming screenings",
            value=clip(
                "\n".join(
                    f"#{s.id} {ts_full(s.starts_at)}" + (f" · [announcement]({s.jump_url})" if s.jump_url else "")
                    for s in upcoming[:5]
                ),
                1024,
            ),
            inline=False,
        )
    return embed


class ShelfCardSelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=re.escape(CARD_ID)):
    """The select menu under a shelf: the chosen film's card, privately."""

    def __init__(self, options: list[discord.SelectOption] | None = None) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=CARD_ID,
                placeholder="A film's catalogue card…",
                options=options or [discord.SelectOption(label="…", value="-")],
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ShelfCardSelect:
        return cls()

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        values = self.item.values
        if not values:
            raise UserError("Pick a film from the menu.")
        guild_id = require_guild(interaction)
        service: SpreadsheetService = interaction.client.spreadsheet
        embed = await service.shelf_card(guild_id, values[0])
        await interaction.response.send_message(embed=embed, ephemeral=True)


def shelf_view(theme: Theme) -> discord.ui.View:
    options = [
        discord.SelectOption(label=clip(item.label, 100), value=choice_value(item.film_key))
        for item in theme.films
        if len(item.film_key) <= VALUE_MAX
    ]
    view = discord.ui.View(timeout=None)
    if options:
        view.add_item(ShelfCardSelect(options[:25]))
    return view
