"""What award polls look like on Discord: the poll post, the results post, lists and history.

Every text typed by members (category, nominees, film) is escaped (markdown and mentions) and
every embed stays within Discord's limits even with 10 nominees of 100 markdown characters each:
long lists go into several fields of at most 1,024 characters, and lists of polls end with
"… and N more" instead of being cut mid-line.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from bot.charts import bar_chart_png
from bot.checks import require_guild, require_moderator
from bot.domain import awards as aw
from bot.domain import markers
from bot.errors import UserError
from bot.handlers import guarded
from bot.render import CLUB_COLOUR, clip, escape, ts, ts_full
from db.awards import CANCELLED, CLOSED, Poll

if TYPE_CHECKING:
    from cogs.awards.service import AwardService

CLOSED_COLOUR = discord.Colour(0x4F545C)
FIELD_LIMIT = 1024
DESCRIPTION_LIMIT = 4096


def film_line(poll: Poll) -> str:
    return f"For the film *{escape(poll.film_title)}*\n" if poll.film_title else ""


def title_text(category: str, limit: int = 200) -> str:
    return escape(clip(category, limit))


def votes(n: int) -> str:
    return aw.plural(n, "vote")


def poll_footer(poll: Poll) -> str:
    """The poll post's footer; also how the bot recognises its own post after a crash while opening."""
    return markers.award_poll_footer(poll.id, poll.runoff_of)


def poll_link(poll: Poll) -> str:
    if poll.message_id is None:
        return f"<#{poll.channel_id}>"
    return f"https://discord.com/channels/{poll.guild_id}/{poll.channel_id}/{poll.message_id}"


def results_file_name(poll: Poll) -> str:
    return markers.award_results_file(poll.id)


def fit_lines(lines: Sequence[str], limit: int, more: str = "… and {n} more") -> str:
    """Join whole lines up to ``limit`` characters; the rest is summed up as "… and N more"."""
    lines = [clip(line, limit) for line in lines]
    if sum(len(line) + 1 for line in lines) - 1 <= limit:
        return "\n".join(lines)
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        tail = len(more.format(n=len(lines) - i)) + 1
        need = len(line) + (1 if out else 0)
        if used + need + tail > limit:
            out.append(more.format(n=len(lines) - i))
            break
        out.append(line)
        used += need
    return "\n".join(out)


def add_line_fields(embed: discord.Embed, name: str, lines: Sequence[str], inline: bool = False) -> None:
    """Add ``lines`` as one field, or several ("name (2)", ...) when they exceed 1,024 characters."""
    chunks: list[list[str]] = [[]]
    size = 0
    for line in lines:
        line = clip(line, FIELD_LIMIT)
        if chunks[-1] and size + 1 + len(line) > FIELD_LIMIT:
            chunks.append([])
            size = 0
        size += len(line) + (1 if chunks[-1] else 0)
        chunks[-1].append(line)
    for n, chunk in enumerate(chunks, start=1):
        embed.add_field(name=name if n == 1 else f"{name} ({n})", value="\n".join(chunk) or "-", inline=inline)


def poll_embed(
    poll: Poll, *, can_tidy: bool, counts: tuple[int, ...] | None = None, ballots: int | None = None
) -> discord.Embed:
    """The poll post while it is open. ``counts`` only when the poll shows live counts."""
    lines = []
    for i, name in enumerate(poll.nominees):
        line = f"{aw.keycap(i)} {escape(name)}"
        if counts is not None:
            line += f" · **{counts[i]}**"
        lines.append(line)
    description = film_line(poll) + "\n".join(lines)
    description += f"\n\n**How to vote:** {aw.VOTE_HELP}"
    if not can_tidy:
        description += (
            "\n*I can't remove older reactions in this channel (no Manage Messages), so if you react "
            "more than once, only your latest reaction counts.*"
        )
    if counts is None:
        description += "\nVotes are sealed: the count is revealed when the poll closes."
    embed = discord.Embed(
        title=f"🍿 {title_text(poll.category)}", description=clip(description, DESCRIPTION_LIMIT), colour=CLUB_COLOUR
    )
    embed.add_field(name="Closes", value=ts_full(poll.closes_at))
    if counts is not None:
        embed.add_field(name="Ballots so far", value=str(sum(counts) if ballots is None else ballots))
    embed.set_footer(text=poll_footer(poll))
    return embed


def ended_embed(poll: Poll, results_url: str | None = None) -> discord.Embed:
    """The poll post once it is closed or cancelled (no more voting)."""
    names = "\n".join(f"{aw.keycap(i)} {escape(n)}" for i, n in enumerate(poll.nominees))
    if poll.status == CANCELLED:
        state = "This poll was cancelled by a moderator; no award this time."
    else:
        where = f"Results: {results_url}" if results_url else "The results are posted below."
        state = f"Voting closed {ts(poll.closed_at or poll.closes_at, 'R')}. {where}"
    embed = discord.Embed(
        title=f"🍿 {title_text(poll.category)}", description=clip(f"{film_line(poll)}{names}\n\n{state}", 4096),
        colour=CLOSED_COLOUR,
    )
    embed.set_footer(text=f"{poll_footer(poll)} · {poll.status}")
    return embed


def winners_text(poll: Poll, result: aw.Tally) -> str:
    shares = result.percentages()
    if not result.winners:
        return "No ballots were cast, so no award this time."
    if result.is_tie:
        names = ", ".join(f"{aw.keycap(i)} **{escape(poll.nominees[i])}**" for i in result.winners)
        if len(names) > 1500:  # a many-way tie of long names: the numbers say it, the votes list has the names
            names = ", ".join(aw.keycap(i) for i in result.winners)
        top = result.counts[result.winners[0]]
        return (
            f"🤝 **It's a tie!** Co-winners: {names}, with {votes(top)} each "
            f"({aw.format_percent(shares[result.winners[0]])}). "
            f"A moderator can settle it with `/award runoff id:{poll.id}`."
        )
    w = result.winners[0]
    return (
        f"🏆 **Winner: {aw.keycap(w)} {escape(poll.nominees[w])}** with {votes(result.counts[w])} "
        f"({aw.format_percent(shares[w])})."
    )


def results_message(poll: Poll) -> tuple[discord.Embed, discord.File]:
    """The results post: winner(s), every nominee's votes and share, a chart, the ballots, the footer."""
    result = poll.tally
    assert result is not None
    shares = result.percentages()
    lines = []
    for i, name in enumerate(poll.nominees):
        mark = " 🏆" if i in result.winners else ""
        lines.append(
            f"{aw.keycap(i)} {escape(name)}: **{result.counts[i]}** ({aw.format_percent(shares[i])}){mark}"
        )
    embed = discord.Embed(
        title=f"🏆 Results: {title_text(poll.category)}",
        description=clip(f"{film_line(poll)}{winners_text(poll, result)}", DESCRIPTION_LIMIT),
        colour=CLUB_COLOUR,
    )
    add_line_fields(embed, "Votes", lines)
    ballots_text = aw.plural(result.ballots, "ballot")
    if poll.void_ballots:
        ballots_text += f" (+ {aw.plural(poll.void_ballots, 'void ballot')})"
    embed.add_field(name="Ballots", value=ballots_text)
    name = results_file_name(poll)
    chart = bar_chart_png(
        clip(poll.category, 60),
        [f"{i + 1}. {n}" for i, n in enumerate(poll.nominees)],
        list(result.counts),
        highlight=set(result.winners),
    )
    embed.set_image(url=f"attachment://{name}")
    embed.set_footer(text=aw.certification(poll.id, result.ballots, poll.void_ballots))
    return embed, discord.File(io.BytesIO(chart), filename=name)


def short_outcome(poll: Poll, limit: int = 200) -> str:
    result = poll.tally
    if poll.status != CLOSED or result is None:
        return poll.status
    if not result.winners:
        return "no ballots"
    names = " & ".join(poll.nominees[i] for i in result.winners)
    top = result.counts[result.winners[0]]
    count = f" ({votes(top)}{' each' if result.is_tie else ''})"
    return f"{'🤝 tie: ' if result.is_tie else '🏆 '}{escape(clip(names, limit))}{count}"


def list_embed(polls: list[Poll]) -> discord.Embed:
    open_lines = [
        f"`#{p.id}` **{title_text(p.category, 80)}** · closes {ts(p.closes_at, 'R')} · <#{p.channel_id}>"
        for p in polls
        if p.is_open
    ]
    closed_lines = [
        f"`#{p.id}` **{title_text(p.category, 80)}** · {short_outcome(p, 80)} · {ts(p.closed_at or 0, 'd')}"
        for p in polls
        if p.status == CLOSED
    ]
    embed = discord.Embed(title="Snack-award polls", colour=CLUB_COLOUR)
    embed.add_field(name="Open", value=fit_lines(open_lines, FIELD_LIMIT) or "No poll is open.", inline=False)
    embed.add_field(
        name="Recently closed",
        value=fit_lines(closed_lines, FIELD_LIMIT, "… and {n} more: see `/award history`")
        or "None in the last 30 days.",
        inline=False,
    )
    return embed


def history_pages(polls: list[Poll], category: str | None, per_page: int = 10) -> list[discord.Embed]:
    title = "Hall of snack fame" + (f": {title_text(category, 60)}" if category else "")
    if not polls:
        what = f" matching **{title_text(category, 60)}**" if category else ""
        return [discord.Embed(title=title, description=f"No award{what} has been decided yet.", colour=CLUB_COLOUR)]
    entries = []
    for p in polls:
        film = f" · *{escape(clip(p.film_title, 60))}*" if p.film_title else ""
        entries.append(f"**{title_text(p.category, 80)}**{film} · {ts(p.closed_at or 0, 'd')}\n  {short_outcome(p)}")
    pages: list[list[str]] = [[]]
    size = 0
    for entry in entries:
        if pages[-1] and (len(pages[-1]) >= per_page or size + 1 + len(entry) > DESCRIPTION_LIMIT):
            pages.append([])
            size = 0
        size += len(entry) + 1
        pages[-1].append(entry)
    total = len(pages)
    out = []
    for n, page in enumerate(pages, start=1):
        embed = discord.Embed(title=title, description="\n".join(page), colour=CLUB_COLOUR)
        if total > 1:
            embed.set_footer(text=f"Page {n} of {total}")
        out.append(embed)
    return out


def status_embed(poll: Poll, ballots: int, counts: tuple[int, ...] | None) -> discord.Embed:
    embed = discord.Embed(title=f"Award poll #{poll.id}: {title_text(poll.category)}", colour=CLUB_COLOUR)
    embed.add_field(name="Status", value=poll.status)
    if poll.is_open:
        embed.add_field(name="Closes", value=ts_full(poll.closes_at))
        embed.add_field(name="Ballots cast so far", value=str(ballots))
    else:
        embed.add_field(name="Ballots", value=str(poll.ballots if poll.ballots is not None else ballots))
    if counts is not None:
        add_line_fields(
            embed, "Votes", [f"{aw.keycap(i)} {escape(n)}: **{counts[i]}**" for i, n in enumerate(poll.nominees)]
        )
    elif poll.is_open:
        add_line_fields(
            embed, "Votes",
            ["Sealed until the poll closes."] + [f"{aw.keycap(i)} {escape(n)}" for i, n in enumerate(poll.nominees)],
        )
    if poll.status == CLOSED and poll.results_message_id is None:
        embed.add_field(
            name="Results post", value=f"Not posted yet: run `/award close id:{poll.id}` to post it.", inline=False
        )
    if poll.message_id:
        embed.add_field(name="Post", value=poll_link(poll), inline=False)
    return embed


class CancelAnswer(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"award:cancel:(?P<answer>yes|no):(?P<id>[0-9]{1,19}):(?P<owner>[0-9]{1,19})",
):
    """The two buttons of "Cancel poll #N?": only the moderator who asked may answer (checked on click)."""

    def __init__(self, answer: str, poll_id: int, owner_id: int) -> None:
        label, style = (
            (f"Cancel poll #{poll_id}", discord.ButtonStyle.danger)
            if answer == "yes"
            else ("Keep it open", discord.ButtonStyle.secondary)
        )
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=f"award:cancel:{answer}:{poll_id}:{owner_id}")
        )
        self.answer = answer
        self.poll_id = poll_id
        self.owner_id = owner_id

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction[Any], item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> CancelAnswer:
        return cls(match["answer"], int(match["id"]), int(match["owner"]))

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        await answer_cancel(interaction, self.answer, self.poll_id, self.owner_id)


async def answer_cancel(interaction: discord.Interaction[Any], answer: str, poll_id: int, owner_id: int) -> None:
    """A click on the confirmation of ``/award cancel``: checked again on the bot's side."""
    await require_moderator(interaction)
    if interaction.user.id != owner_id:
        raise UserError("Only the moderator who asked can answer this. Nothing was changed.")
    service: AwardService = interaction.client.awards
    poll = await service.own_poll(require_guild(interaction), poll_id)
    if answer == "no":
        await interaction.response.edit_message(content=f"Poll #{poll_id} stays open.", view=None)
        return
    if not poll.is_open:
        raise UserError(f"Poll #{poll_id} is already {poll.status}; nothing was changed.")
    await interaction.response.defer()  # a close under way may hold the lock
    if await service.cancel(poll) is None:
        raise UserError(f"Poll #{poll_id} closed just now; it can't be cancelled any more.")
    await interaction.edit_original_response(
        content=f"Cancelled poll #{poll_id}; no results will be posted. Changed your mind? "
        f"`/award reopen id:{poll_id}` within a day brings it back with its ballots.",
        view=None,
    )


def cancel_confirm_view(poll_id: int, owner_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(CancelAnswer("yes", poll_id, owner_id))
    view.add_item(CancelAnswer("no", poll_id, owner_id))
    return view
