"""Screenings: embeds and persistent buttons (RSVP, rating). Discord rendering only, no SQL.

Buttons are ``DynamicItem``s whose state lives in the custom_id, so they keep working after a
restart without any view being re-created:
- ``rsvp:<screening id>:<going|maybe|cant>`` on the announcement
- ``rate:<screening id>:<1-5>`` on the next-day rating prompt
The callbacks reach the feature as ``interaction.client.screenings`` (:func:`answer_rsvp`, :func:`answer_rating`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.cards import film_card as film_card  # shared with the theme shelf; re-exported for this feature
from bot.checks import require_guild
from bot.domain.films import Film
from bot.domain.screenings import (
    ANSWER_LABELS,
    RatingSummary,
    RsvpCounts,
    RsvpLists,
    check_answer,
    distribution_bar,
    thumbs_text,
    validate_rating,
)
from bot.errors import UserError
from bot.handlers import guarded
from bot.render import CLUB_COLOUR, ERROR_COLOUR, clip, escape, ts, ts_full
from db.screenings import CANCELLED, FINISHED, LIVE, SCHEDULED, Rating, Screening
from db.series import Night, Series

if TYPE_CHECKING:
    from cogs.screenings.service import ScreeningService

ANSWER_STYLE: dict[str, tuple[discord.ButtonStyle, str]] = {
    "going": (discord.ButtonStyle.success, "✅"),
    "maybe": (discord.ButtonStyle.secondary, "🤔"),
    "cant": (discord.ButtonStyle.danger, "❌"),
}


async def answer_rsvp(interaction: discord.Interaction[Any], screening_id: int, answer: str) -> None:
    """A click on Going / Maybe / Can't."""
    service: ScreeningService = interaction.client.screenings
    guild_id = require_guild(interaction)
    answer = check_answer(answer)
    s = await service.own(guild_id, screening_id)
    if s.status == CANCELLED:
        raise UserError(f"**{s.label}** was cancelled, so there's nothing to answer.")
    if s.status != SCHEDULED:
        raise UserError(f"**{s.label}** has already started, so RSVPs are closed.")
    before = await service.set_rsvp(s, interaction.user.id, answer)
    label = ANSWER_LABELS[answer]
    if before == answer:
        text = f"You're already down as **{label}** for **{escape(s.label)}**."
    elif before is None:
        text = f"Got it: **{label}** for **{escape(s.label)}**, {ts_full(s.starts_at)}."
    else:
        text = f"Changed from {ANSWER_LABELS[before]} to **{label}** for **{escape(s.label)}**."
    if answer == "going" and before != "going":
        text += " I'll remind you before it starts (`/remind me` to choose when)."
    await interaction.response.send_message(text, ephemeral=True)


async def answer_rating(interaction: discord.Interaction[Any], screening_id: int, thumbs: int) -> None:
    """A click on one of the 1 to 5 thumbs buttons under the discussion prompt."""
    service: ScreeningService = interaction.client.screenings
    guild_id = require_guild(interaction)
    s = await service.own(guild_id, screening_id)
    if s.status == CANCELLED:
        raise UserError(f"The screening of **{escape(s.label)}** was cancelled, so there's nothing to rate here.")
    if s.status != FINISHED:
        raise UserError(f"You can rate **{escape(s.label)}** once its screening has finished.")
    thumbs, _ = validate_rating(thumbs, None)
    rating, new = await service.rate(
        guild_id, (s.film_key, s.title, s.year), interaction.user.id, thumbs, None, screening_id=s.id
    )
    verb = "Thanks! You gave" if new else "Changed: you now give"
    extra = "" if rating.review else " Add a few words with `/rate`."
    await interaction.response.send_message(
        f"{verb} **{escape(s.label)}** {thumbs_text(thumbs)} ({thumbs}/5).{extra}", ephemeral=True
    )


class RsvpButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"rsvp:(?P<sid>\d+):(?P<answer>going|maybe|cant)",
):
    def __init__(self, screening_id: int, answer: str) -> None:
        style, emoji = ANSWER_STYLE[answer]
        super().__init__(
            discord.ui.Button(
                label=ANSWER_LABELS[answer], style=style, emoji=emoji, custom_id=f"rsvp:{screening_id}:{answer}"
            )
        )
        self.screening_id = screening_id
        self.answer = answer

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RsvpButton:
        return cls(int(match["sid"]), match["answer"])

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        await answer_rsvp(interaction, self.screening_id, self.answer)


class RateButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"rate:(?P<sid>\d+):(?P<thumbs>[1-5])",
):
    def __init__(self, screening_id: int, thumbs: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=f"{thumbs} 👍",
                style=discord.ButtonStyle.primary if thumbs >= 4 else discord.ButtonStyle.secondary,
                custom_id=f"rate:{screening_id}:{thumbs}",
            )
        )
        self.screening_id = screening_id
        self.thumbs = thumbs

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RateButton:
        return cls(int(match["sid"]), int(match["thumbs"]))

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        await answer_rating(interaction, self.screening_id, self.thumbs)


def rsvp_view(screening_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for answer in ANSWER_LABELS:
        view.add_item(RsvpButton(screening_id, answer))
    return view


def rating_view(screening_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for thumbs in range(1, 6):
        view.add_item(RateButton(screening_id, thumbs))
    return view


# --------------------------------------------------------------------------- text


def where_text(s: Screening) -> str:
    parts = []
    if s.voice_channel_id:
        parts.append(f"<#{s.voice_channel_id}>")
    if s.location:
        parts.append(escape(s.location))
    return " · ".join(parts) or "To be announced"


def counts_text(counts: RsvpCounts) -> str:
    maybe = f"🤔 Maybe: **{counts.maybe}**"
    if counts.interested:
        maybe += f" (incl. {counts.interested} interested on the event)"
    return f"✅ Going: **{counts.going}** · {maybe} · ❌ Can't: **{counts.cant}**"


def announcement_embed(s: Screening, counts: RsvpCounts, film: Film | None = None) -> discord.Embed:
    status_line = {
        LIVE: "🍿 **Now showing!**",
        FINISHED: "🎞️ This screening has finished. Thanks for watching!",
        CANCELLED: "❌ **Cancelled.**" + (f" {escape(clip(s.cancel_reason, 300))}" if s.cancel_reason else ""),
    }.get(s.status)
    title = f"🎬 {s.label}"
    embed = discord.Embed(
        title=clip(f"~~{title}~~" if s.status == CANCELLED else title, 256),
        colour=ERROR_COLOUR if s.status == CANCELLED else CLUB_COLOUR,
    )
    lines = []
    if status_line:
        lines.append(status_line)
    if film is not None and film.premise:
        lines.append(clip(film.premise, 600))
    if lines:
        embed.description = "\n\n".join(lines)
    embed.add_field(name="Starts", value=ts_full(s.starts_at), inline=False)
    embed.add_field(name="Runtime", value=f"{s.runtime} min (ends about {ts(s.ends_at, 't')})")
    embed.add_field(name="Where", value=clip(where_text(s), 1024))
    if s.notes:
        embed.add_field(name="Notes", value=clip(escape(s.notes), 1024), inline=False)
    if s.status != CANCELLED:
        embed.add_field(name="RSVPs", value=counts_text(counts), inline=False)
    embed.set_footer(text=f"Screening #{s.id} · /screening ics {s.id} adds it to your calendar")
    return embed


def mention_list(user_ids: Sequence[int], limit: int = 1000) -> str:
    """``<@a>, <@b>, … and N more`` within ``limit`` characters, never cutting a mention in half."""
    if not user_ids:
        return "nobody"
    shown: list[str] = []
    for i, uid in enumerate(user_ids):
        more = f" and {len(user_ids) - i} more"
        item = f"<@{uid}>"
        if len(", ".join([*shown, item])) + len(more) > limit:
            return ", ".join(shown) + more
        shown.append(item)
    return ", ".join(shown)


def info_embed(
    s: Screening, counts: RsvpCounts, *, lists: RsvpLists | None, raters: Sequence[Rating] | None
) -> discord.Embed:
    embed = announcement_embed(s, counts)
    embed.add_field(name="Status", value=s.status.capitalize())
    if s.jump_url:
        embed.add_field(name="Announcement", value=f"[Jump]({s.jump_url})")
    if s.thread_id:
        embed.add_field(name="Thread", value=f"<#{s.thread_id}>")
    if lists is not None:
        embed.add_field(name=f"Going ({len(lists.going)})", value=mention_list(lists.going), inline=False)
        embed.add_field(name=f"Maybe ({len(lists.maybe)})", value=mention_list(lists.maybe), inline=False)
        embed.add_field(name=f"Can't ({len(lists.cant)})", value=mention_list(lists.cant), inline=False)
    if raters is not None:
        text = ""
        for i, r in enumerate(raters):
            item = f"<@{r.user_id}> {thumbs_text(r.thumbs)}"
            if len(text) + len(item) + 20 > 1000:
                text += f" and {len(raters) - i} more"
                break
            text += (", " if text else "") + item
        embed.add_field(name=f"Rated ({len(raters)})", value=text or "nobody yet", inline=False)
    return embed


def list_embed(items: Sequence[tuple[Screening, RsvpCounts]], total: int | None = None) -> discord.Embed:
    total = len(items) if total is None else total
    embed = discord.Embed(title="Upcoming screenings", colour=CLUB_COLOUR)
    if not items:
        embed.description = "Nothing scheduled yet. Moderators can add one with `/screening schedule`."
        return embed
    lines = []
    for s, c in items:
        live = " · 🍿 now showing" if s.status == LIVE else ""
        lines.append(
            f"`#{s.id}` **{escape(s.label)}** · {ts_full(s.starts_at)}{live}\n"
            f"  ✅ {c.going} · 🤔 {c.maybe} · ❌ {c.cant}"
        )
    embed.description = clip("\n".join(lines), 4000)
    more = f"{total - len(items)} more not shown · " if total > len(items) else ""
    embed.set_footer(text=f"{more}Details: /screening info id")
    return embed


def board_embed(
    rows: Sequence[tuple[str, RatingSummary]], title: str = "Ratings board", *, start: int | None = None
) -> discord.Embed:
    """One line per film (numbered from ``start`` when given): average, count, distribution."""
    embed = discord.Embed(title=title, colour=CLUB_COLOUR)
    if not rows:
        embed.description = "No ratings yet. After a screening, rate it with the buttons or `/rate`."
        return embed
    lines = [
        f"{f'{start + i}. ' if start is not None else ''}**{escape(clip(label, 200))}**: {summary.average_text} avg "
        f"from {summary.count} rating{'s' if summary.count != 1 else ''}\n  {distribution_bar(summary)}"
        for i, (label, summary) in enumerate(rows)
    ]
    embed.description = clip("\n".join(lines), 4000)
    return embed


BOARD_PAGE_SIZE = 10  # films per page of `/ratings board`
CHART_FILMS = 20  # bars in its chart


def board_pages(rows: Sequence[tuple[str, RatingSummary]]) -> list[discord.Embed]:
    """Every rated film, best first, ``BOARD_PAGE_SIZE`` per page (numbered when there are several)."""
    chunks = [rows[i : i + BOARD_PAGE_SIZE] for i in range(0, len(rows), BOARD_PAGE_SIZE)] or [rows]
    pages = []
    for n, chunk in enumerate(chunks):
        embed = board_embed(chunk, start=n * BOARD_PAGE_SIZE + 1)
        if len(chunks) > 1:
            embed.set_footer(text=f"Page {n + 1}/{len(chunks)} · {len(rows)} films rated")
        pages.append(embed)
    return pages


def film_board_embed(label: str, summary: RatingSummary, ratings: Sequence[Rating]) -> discord.Embed:
    embed = board_embed([(label, summary)], title=f"Ratings: {label}")
    reviews = [r for r in ratings if r.review]
    if reviews:
        text = "\n".join(
            f"<@{r.user_id}> {thumbs_text(r.thumbs)}: {escape(clip(r.review or '', 200))}" for r in reviews
        )
        embed.add_field(name="Reviews", value=clip(text, 1024), inline=False)
    return embed


MINE_PAGE_SIZE = 15  # ratings per page of `/ratings mine`


def mine_pages(ratings: Sequence[Rating]) -> list[discord.Embed]:
    """A member's ratings, newest change first, ``MINE_PAGE_SIZE`` per page."""
    chunks = [ratings[i : i + MINE_PAGE_SIZE] for i in range(0, len(ratings), MINE_PAGE_SIZE)] or [ratings]
    pages = [mine_embed(chunk) for chunk in chunks]
    if len(pages) > 1:
        for n, page in enumerate(pages):
            page.set_footer(text=f"Page {n + 1}/{len(pages)} · {len(ratings)} films rated")
    return pages


def mine_embed(ratings: Sequence[Rating]) -> discord.Embed:
    embed = discord.Embed(title="Your ratings", colour=CLUB_COLOUR)
    if not ratings:
        embed.description = "You haven't rated anything yet. After a screening, use the buttons or `/rate`."
        return embed
    lines = []
    for r in ratings:
        line = f"**{escape(clip(r.label, 150))}**: {thumbs_text(r.thumbs)} ({r.thumbs}/5)"
        if r.review:
            line += f"\n  “{escape(clip(r.review, 150))}”"
        lines.append(line)
    embed.description = clip("\n".join(lines), 4000)
    return embed


EVENT_MODES = {
    "recurring": "one repeating Discord event",
    "per_night": "a Discord event per night",
    "none": "no Discord event",
}


def series_line(series: Series, next_start: datetime | None) -> str:
    state = "" if series.is_active else f" · **{series.status}**"
    nxt = f" · next {ts(next_start, 'f')}" if next_start and series.is_active else ""
    return f"**#{series.id}** {escape(series.name)} · {escape(series.film_label)}{nxt}{state}"


def series_list_embed(lines: Sequence[str]) -> discord.Embed:
    embed = discord.Embed(title="Series", colour=CLUB_COLOUR)
    embed.description = "\n".join(lines) if lines else (
        "No series yet. Moderators start one with `/screening series create when film_source`."
    )
    return embed


def series_info_embed(
    series: Series, nights: Sequence[tuple[datetime, Screening | None]], skipped: Sequence[Night],
) -> discord.Embed:
    embed = discord.Embed(title=clip(f"Series #{series.id}: {series.name}", 256), colour=CLUB_COLOUR)
    embed.add_field(name="Films", value=clip(escape(series.film_label), 1024))
    ahead = f"{series.days_ahead} days ahead" if series.days_ahead else "the next night only"
    embed.add_field(name="Announced", value=ahead)
    embed.add_field(name="Discord event", value=EVENT_MODES.get(series.event_mode, series.event_mode))
    if series.ends_after:
        embed.add_field(name="Last night by", value=ts(series.ends_after, "D"))
    embed.add_field(name="Status", value=series.status)
    lines = []
    for start, s in nights:
        if s is None:
            lines.append(f"{ts_full(int(start.timestamp()))}: not announced yet")
        else:
            lines.append(f"{ts_full(s.starts_at)}: **{escape(s.label)}** (screening #{s.id}, {s.status})")
    embed.add_field(name="Next nights", value=clip("\n".join(lines) or "none", 1024), inline=False)
    if skipped:
        text = "\n".join(
            f"{ts(n.starts_at, 'D')}" + (f": {escape(n.skip_reason)}" if n.skip_reason else "") for n in skipped
        )
        embed.add_field(name="Skipped", value=clip(text, 1024), inline=False)
    return embed
