"""What award polls look like on Discord: the poll post, the results post, lists and history."""

from __future__ import annotations

import io

import discord

from bot.charts import bar_chart_png
from bot.domain import awards as aw
from bot.render import CLUB_COLOUR, clip, escape, ts, ts_full
from db.awards import CANCELLED, CLOSED, Poll

CLOSED_COLOUR = discord.Colour(0x4F545C)


def film_line(poll: Poll) -> str:
    return f"For the film *{escape(poll.film_title)}*\n" if poll.film_title else ""


def votes(n: int) -> str:
    return aw.plural(n, "vote")


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
    embed = discord.Embed(title=f"🍿 {clip(poll.category, 240)}", description=description, colour=CLUB_COLOUR)
    embed.add_field(name="Closes", value=ts_full(poll.closes_at))
    if counts is not None:
        embed.add_field(name="Ballots so far", value=str(sum(counts) if ballots is None else ballots))
    embed.set_footer(text=f"Award poll #{poll.id}" + (f" · runoff of #{poll.runoff_of}" if poll.runoff_of else ""))
    return embed


def ended_embed(poll: Poll) -> discord.Embed:
    """The poll post once it is closed or cancelled (no more voting)."""
    names = "\n".join(f"{aw.keycap(i)} {escape(n)}" for i, n in enumerate(poll.nominees))
    if poll.status == CANCELLED:
        state = "This poll was cancelled by a moderator; no award this time."
    else:
        state = f"Voting closed {ts(poll.closed_at or poll.closes_at, 'R')}. The results are posted below."
    embed = discord.Embed(
        title=f"🍿 {clip(poll.category, 240)}", description=f"{film_line(poll)}{names}\n\n{state}",
        colour=CLOSED_COLOUR,
    )
    embed.set_footer(text=f"Award poll #{poll.id} · {poll.status}")
    return embed


def winners_text(poll: Poll, result: aw.Tally) -> str:
    shares = result.percentages()
    if not result.winners:
        return "No ballots were cast, so no award this time."
    if result.is_tie:
        names = ", ".join(f"{aw.keycap(i)} **{escape(poll.nominees[i])}**" for i in result.winners)
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
        title=f"🏆 Results: {clip(poll.category, 230)}",
        description=f"{film_line(poll)}{winners_text(poll, result)}",
        colour=CLUB_COLOUR,
    )
    embed.add_field(name="Votes", value=clip("\n".join(lines), 1024), inline=False)
    ballots_text = aw.plural(result.ballots, "ballot")
    if poll.void_ballots:
        ballots_text += f" (+ {aw.plural(poll.void_ballots, 'void ballot')})"
    embed.add_field(name="Ballots", value=ballots_text)
    name = f"award-{poll.id}.png"
    chart = bar_chart_png(
        clip(poll.category, 60),
        [f"{i + 1}. {n}" for i, n in enumerate(poll.nominees)],
        list(result.counts),
        highlight=set(result.winners),
    )
    embed.set_image(url=f"attachment://{name}")
    embed.set_footer(text=aw.certification(poll.id, result.ballots, poll.void_ballots))
    return embed, discord.File(io.BytesIO(chart), filename=name)


def short_outcome(poll: Poll) -> str:
    result = poll.tally
    if poll.status != CLOSED or result is None:
        return poll.status
    if not result.winners:
        return "no ballots"
    names = " & ".join(escape(poll.nominees[i]) for i in result.winners)
    top = result.counts[result.winners[0]]
    return f"{'🤝 tie: ' if result.is_tie else '🏆 '}{names} ({votes(top)}{' each' if result.is_tie else ''})"


def list_embed(polls: list[Poll]) -> discord.Embed:
    open_lines = [
        f"`#{p.id}` **{escape(clip(p.category, 80))}** · closes {ts(p.closes_at, 'R')} · <#{p.channel_id}>"
        for p in polls
        if p.is_open
    ]
    closed_lines = [
        f"`#{p.id}` **{escape(clip(p.category, 80))}** · {short_outcome(p)} · {ts(p.closed_at or 0, 'd')}"
        for p in polls
        if p.status == CLOSED
    ]
    embed = discord.Embed(title="Snack-award polls", colour=CLUB_COLOUR)
    embed.add_field(name="Open", value=clip("\n".join(open_lines) or "No poll is open.", 1024), inline=False)
    embed.add_field(
        name="Recently closed", value=clip("\n".join(closed_lines) or "None in the last 30 days.", 1024),
        inline=False,
    )
    return embed


def history_pages(polls: list[Poll], category: str | None, per_page: int = 10) -> list[discord.Embed]:
    title = "Hall of snack fame" + (f": {clip(category, 60)}" if category else "")
    if not polls:
        what = f" matching `{escape(clip(category, 60))}`" if category else ""
        return [discord.Embed(title=title, description=f"No award{what} has been decided yet.", colour=CLUB_COLOUR)]
    pages = []
    for start in range(0, len(polls), per_page):
        lines = []
        for p in polls[start : start + per_page]:
            film = f" · *{escape(clip(p.film_title, 60))}*" if p.film_title else ""
            lines.append(
                f"**{escape(clip(p.category, 80))}**{film} · {ts(p.closed_at or 0, 'd')}\n  {short_outcome(p)}"
            )
        pages.append(discord.Embed(title=title, description="\n".join(lines), colour=CLUB_COLOUR))
    return pages


def status_embed(poll: Poll, ballots: int, counts: tuple[int, ...] | None) -> discord.Embed:
    embed = discord.Embed(title=f"Award poll #{poll.id}: {clip(poll.category, 200)}", colour=CLUB_COLOUR)
    embed.add_field(name="Status", value=poll.status)
    if poll.is_open:
        embed.add_field(name="Closes", value=ts_full(poll.closes_at))
        embed.add_field(name="Ballots cast so far", value=str(ballots))
    else:
        embed.add_field(name="Ballots", value=str(poll.ballots if poll.ballots is not None else ballots))
    if counts is not None:
        embed.add_field(
            name="Votes",
            value="\n".join(f"{aw.keycap(i)} {escape(n)}: **{counts[i]}**" for i, n in enumerate(poll.nominees)),
            inline=False,
        )
    elif poll.is_open:
        embed.add_field(
            name="Votes", value="Sealed until the poll closes.\n"
            + "\n".join(f"{aw.keycap(i)} {escape(n)}" for i, n in enumerate(poll.nominees)),
            inline=False,
        )
    if poll.message_id:
        embed.add_field(
            name="Post", value=f"https://discord.com/channels/{poll.guild_id}/{poll.channel_id}/{poll.message_id}",
            inline=False,
        )
    return embed
