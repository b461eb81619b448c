"""Snack-award polls end to end, through the fake Discord with a fake clock."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.domain.awards import KEYCAPS
from db import awards as repo
from tests.e2e.conftest import BACKENDS, Club
from tests.fakediscord.models import Member, Message
from tests.fakediscord.permissions import P
from tests.fakediscord.server import FakeDiscord

K = KEYCAPS
HOUR = 3600


# --------------------------------------------------------------------------- helpers


async def open_poll(
    club: Club,
    nominees: str = "Cheese pizza; Coke; Churros",
    closes: str = "in 2 hours",
    category: str = "Best Snacktor in a Supporting Role",
    **options: Any,
) -> tuple[Message, int]:
    # fake.slash (not club.slash): its first arguments are positional-only, so `channel=` is an option.
    h = await club.fake.slash(club.mod, club.g.general, "award open", category=category, nominees=nominees,
                              closes=closes, **options)
    reply = await h.reply()
    assert reply.ephemeral, reply.content
    match = re.search(r"Poll #(\d+) is open", reply.content)
    assert match, reply.content
    await club.fake.settle()
    channel = options.get("channel", club.polls)
    poll_msg = [m for m in club.fake.bot_messages(channel) if m.embeds and "Award poll #" in m.text()][-1]
    return poll_msg, int(match.group(1))


def results_posts(club: Club) -> list[Message]:
    return [
        m for m in club.fake.bot_messages(club.polls)
        if m.embeds and str(m.embeds[0].get("title", "")).startswith("🏆 Results")
    ]


def voters(club: Club, n: int, prefix: str = "voter") -> list[Member]:
    return [club.fake.add_member(club.g.guild, f"{prefix}{i}", [club.g.member_role]) for i in range(n)]


async def cancel_confirmed(club: Club, poll_id: int, votes: int | None = None) -> Message:
    """``/award cancel`` asks first; the moderator confirms with the red button."""
    ask = await (await club.slash(club.mod, club.g.general, "award cancel", id=poll_id)).reply()
    assert ask.ephemeral and f"Cancel poll #{poll_id}" in ask.content, ask.content
    if votes is not None:
        assert f"with its {votes} ballot" in ask.content
    done = await (await club.fake.click(club.mod, ask, f"Cancel poll #{poll_id}")).reply()
    assert "Cancelled poll" in done.content and f"/award reopen id:{poll_id}" in done.content, done.content
    return done


async def error_of(club: Club, command: str, member: Member | None = None, **options: Any) -> str:
    h = await club.fake.slash(member or club.mod, club.g.general, command, **options)
    reply = await h.reply()
    assert reply.ephemeral
    return str(reply.content)


async def poll_row(club: Club, poll_id: int) -> repo.Poll:
    poll = await repo.get(club.bot.store, poll_id)
    assert poll is not None
    return poll


def votes_field(msg: Message) -> str:
    return next(f["value"] for f in msg.embeds[0]["fields"] if f["name"] == "Votes")


# --------------------------------------------------------------------------- opening


async def test_open_posts_a_sealed_poll_with_number_reactions(club: Club) -> None:
    msg, poll_id = await open_poll(club, film="Rocky (1976)")
    embed = msg.embeds[0]
    assert embed["title"] == "🍿 Best Snacktor in a Supporting Role"
    assert "For the film *Rocky*" in embed["description"]
    assert "1️⃣ Cheese pizza\n2️⃣ Coke\n3️⃣ Churros" in embed["description"]
    assert "your latest reaction counts" in embed["description"]
    assert "sealed" in embed["description"]
    closes = next(f["value"] for f in embed["fields"] if f["name"] == "Closes")
    assert re.fullmatch(r"<t:\d+:F> \(<t:\d+:R>\)", closes)
    assert list(msg.reactions) == [K[0], K[1], K[2]]
    assert all(msg.reaction_users(k) == [club.fake.bot_user.id] for k in K[:3])
    assert not msg.pings_anyone
    poll = await poll_row(club, poll_id)
    assert poll.film_title == "Rocky" and poll.film_key == "rocky-1976"
    assert poll.message_id == msg.id and poll.closes_at == club.bot.now_ts() + 2 * HOUR


async def test_film_autocomplete_offers_catalogue_films(club: Club) -> None:
    choices = await club.fake.autocomplete(club.mod, club.g.general, "award open", "film", "rock",
                                           category="x", nominees="a;b", closes="in 1 hour")
    assert any(c["value"] == "Rocky (1976)" for c in choices)


# --------------------------------------------------------------------------- voting and results


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_thirty_members_vote_change_withdraw_and_results(club: Club) -> None:
    fake = club.fake
    msg, poll_id = await open_poll(club)
    members = voters(club, 30)
    # 14 for pizza, 10 for Coke, 6 for churros, to begin with.
    plan = [0] * 14 + [1] * 10 + [2] * 6
    for member, choice in zip(members, plan, strict=True):
        await fake.react(member, msg, K[choice], settle=False)
    await fake.settle()
    # Changes of mind: 4 pizza voters move to churros. The bot removes their old reaction.
    for member in members[:4]:
        await fake.react(member, msg, K[2])
    for member in members[:4]:
        assert member.id not in msg.reaction_users(K[0])
        assert member.id in msg.reaction_users(K[2])
    # Withdrawals: two Coke voters remove their reaction.
    for member in members[14:16]:
        await fake.unreact(member, msg, K[1])
    # A churros voter changes their mind twice; the latest (Coke) counts.
    await fake.react(members[24], msg, K[0])
    await fake.react(members[24], msg, K[1])
    assert [members[24].id in msg.reaction_users(k) for k in K[:3]] == [False, True, False]
    # A bot reacts and a foreign emoji appears: both ignored and tidied away.
    other_bot = fake.add_member(club.g.guild, fake.create_user("crumbbot", bot=True), [club.g.member_role])
    await fake.react(other_bot, msg, K[1])
    await fake.react(members[29], msg, "🍕")
    assert other_bot.id not in msg.reaction_users(K[1])
    assert msg.reaction_users("🍕") == []

    # Sealed: no counts anywhere before closing; /award status shows only the number of ballots.
    assert "Votes are sealed" in msg.embeds[0]["description"]
    status = await club.slash(club.mod, club.g.general, "award status", id=poll_id)
    status_msg = await status.reply()
    assert status_msg.ephemeral
    fields = {f["name"]: f["value"] for f in status_msg.embeds[0]["fields"]}
    assert fields["Ballots cast so far"] == "28"
    assert "Sealed" in fields["Votes"] and "**" not in fields["Votes"]

    stored = await repo.ballots(club.bot.store, poll_id)
    assert sum(1 for b in stored.values() if b.choice is not None) == 28
    assert other_bot.id not in stored

    await club.clock.advance(2 * HOUR + 1)
    posts = results_posts(club)
    assert len(posts) == 1
    result = posts[0]
    # pizza 14 - 4 = 10; Coke 10 - 2 + 1 = 9; churros 6 + 4 - 1 = 9
    assert "🏆 **Winner: 1️⃣ Cheese pizza** with 10 votes (35.7%)." in result.embeds[0]["description"]
    assert votes_field(result) == (
        "1️⃣ Cheese pizza: **10** (35.7%) 🏆\n2️⃣ Coke: **9** (32.1%)\n3️⃣ Churros: **9** (32.1%)"
    )
    ballots = next(f["value"] for f in result.embeds[0]["fields"] if f["name"] == "Ballots")
    assert ballots == "28 ballots"
    assert "Ernst & Yum" in result.embeds[0]["footer"]["text"]
    assert result.file_names() == [f"award-{poll_id}.png"]
    assert result.attachments[0].data[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.embeds[0]["image"]["url"] == f"attachment://award-{poll_id}.png"
    assert not result.pings_anyone
    poll = await poll_row(club, poll_id)
    assert poll.status == "closed" and poll.counts == (10, 9, 9) and poll.ballots == 28
    # The poll post now says voting is over and links to the results.
    assert "Voting closed" in msg.embeds[0]["description"]
    assert f"/{club.polls.id}/{result.id}" in msg.embeds[0]["description"]
    assert msg.embeds[0]["footer"]["text"] == f"Award poll #{poll_id} · closed"


async def test_without_manage_messages_the_latest_reaction_still_counts(club: Club) -> None:
    fake = club.fake
    fake.set_overwrites(club.polls, [fake.overwrite(club.g.bot_role, deny=P.MANAGE_MESSAGES)])
    msg, poll_id = await open_poll(club)
    assert "no Manage Messages" in msg.embeds[0]["description"]
    alice, bob = club.g.alice, club.g.bob
    await fake.react(alice, msg, K[0])
    await fake.react(alice, msg, K[1])  # both reactions stay; the latest (2️⃣) counts
    await fake.react(bob, msg, K[0])
    await fake.react(bob, msg, "🍕")  # foreign emoji stays (cannot tidy) but is ignored
    assert alice.id in msg.reaction_users(K[0]) and alice.id in msg.reaction_users(K[1])
    stored = await repo.ballots(club.bot.store, poll_id)
    assert stored[alice.id].choice == 1 and stored[bob.id].choice == 0
    await club.clock.advance(2 * HOUR + 1)
    result = results_posts(club)[0]
    assert "1️⃣ Cheese pizza: **1** (50.0%)" in votes_field(result)
    assert "2️⃣ Coke: **1** (50.0%)" in votes_field(result)
    assert "tie" in result.embeds[0]["description"]


async def test_votes_cast_while_the_bot_is_stopped_count_at_close(club: Club) -> None:
    fake = club.fake
    msg, poll_id = await open_poll(club)
    a, b, c, d, e = voters(club, 5)
    await fake.react(a, msg, K[0])
    await fake.react(b, msg, K[0])
    await fake.react(c, msg, K[1])
    await club.stop()
    await fake.react(d, msg, K[2])  # new vote while offline
    await fake.react(e, msg, K[2])
    await fake.unreact(b, msg, K[0])  # withdrawn while offline
    await fake.react(c, msg, K[2])  # changed mind while offline (old reaction stays)
    await club.start()
    # After the restart the bot still knows a's ballot: a change of mind tidies the old reaction.
    await fake.react(a, msg, K[1])
    assert a.id not in msg.reaction_users(K[0]) and a.id in msg.reaction_users(K[1])
    await club.clock.advance(2 * HOUR + 1)
    result = results_posts(club)
    assert len(result) == 1
    votes = votes_field(result[0])
    assert "1️⃣ Cheese pizza: **0**" in votes
    assert "2️⃣ Coke: **1** (25.0%)" in votes
    assert "3️⃣ Churros: **3** (75.0%) 🏆" in votes
    stored = await repo.ballots(club.bot.store, poll_id)
    assert stored[b.id].choice is None and stored[c.id].choice == 2 and stored[d.id].choice == 2


async def test_several_offline_reactions_without_standing_vote_are_void(club: Club) -> None:
    fake = club.fake
    msg, poll_id = await open_poll(club)
    a, b = voters(club, 2)
    await fake.react(a, msg, K[0])
    await club.stop()
    await fake.react(b, msg, K[1])
    await fake.react(b, msg, K[2])  # two numbers while the bot was away: order unknown
    await club.start()
    await club.clock.advance(2 * HOUR + 1)
    result = results_posts(club)[0]
    ballots = next(f["value"] for f in result.embeds[0]["fields"] if f["name"] == "Ballots")
    assert ballots == "1 ballot (+ 1 void ballot)"
    assert "1 void ballot" in result.embeds[0]["footer"]["text"]
    assert (await poll_row(club, poll_id)).void_ballots == 1


async def test_closes_exactly_once_across_a_restart_at_closing_time(club: Club) -> None:
    fake = club.fake
    msg, poll_id = await open_poll(club)
    await fake.react(club.g.alice, msg, K[1])
    await club.clock.advance(2 * HOUR - 10)
    await club.stop()
    await club.clock.advance(60)  # the closing time passes while the bot is down
    await club.start()
    await fake.settle()
    await club.clock.advance(1)
    assert len(results_posts(club)) == 1
    assert "Winner: 2️⃣ Coke" in results_posts(club)[0].embeds[0]["description"]
    # Another restart and more time: nothing is posted again.
    await club.restart()
    await club.clock.advance(HOUR)
    assert len(results_posts(club)) == 1
    # A manual close afterwards is refused and posts nothing.
    text = await error_of(club, "award close", id=poll_id)
    assert "already closed" in text
    assert len(results_posts(club)) == 1
    # The poll post says voting is over; reactions after close change nothing.
    assert "Voting closed" in msg.embeds[0]["description"]
    await fake.react(club.g.bob, msg, K[0])
    assert (await poll_row(club, poll_id)).counts == (0, 1, 0)


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_restart_after_close_before_results_posts_them_once(club: Club) -> None:
    """A crash between storing the tally and posting: the results still go out, exactly once."""
    msg, poll_id = await open_poll(club)
    await club.fake.react(club.g.alice, msg, K[0])
    cog: Any = club.bot.awards
    original = cog._post_results

    async def crash(poll: repo.Poll) -> Any:
        raise ConnectionError("process died")

    cog._post_results = crash
    await club.slash(club.mod, club.g.general, "award close", id=poll_id)
    await club.fake.settle()
    cog._post_results = original
    assert (await poll_row(club, poll_id)).status == "closed"
    assert results_posts(club) == []
    await club.restart()
    await club.clock.settle()  # the chart is drawn in the worker: wait for it, then for the post
    assert len(results_posts(club)) == 1
    await club.clock.advance(3 * HOUR)  # the scheduled close is cancelled: nothing more
    await club.restart()
    await club.clock.settle()
    assert len(results_posts(club)) == 1


async def test_manual_close_then_scheduler_posts_nothing(club: Club) -> None:
    msg, poll_id = await open_poll(club)
    await club.fake.react(club.g.alice, msg, K[2])
    h = await club.slash(club.mod, club.g.general, "award close", id=poll_id)
    reply = await h.reply()
    assert reply.ephemeral and f"Closed poll #{poll_id}" in reply.content
    assert len(results_posts(club)) == 1
    await club.clock.advance(3 * HOUR)
    assert len(results_posts(club)) == 1
    text = await error_of(club, "award close", id=poll_id)
    assert text == f"Poll #{poll_id} is already closed; its results are posted in <#{club.polls.id}>."
    assert len(results_posts(club)) == 1


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_tie_gives_co_winners_and_a_runoff(club: Club) -> None:
    fake = club.fake
    msg, poll_id = await open_poll(club)
    a, b, c, d, e = voters(club, 5)
    for member, choice in ((a, 0), (b, 0), (c, 2), (d, 2), (e, 1)):
        await fake.react(member, msg, K[choice])
    await club.clock.advance(2 * HOUR + 1)
    result = results_posts(club)[0]
    description = result.embeds[0]["description"]
    assert "It's a tie!" in description
    assert "1️⃣ **Cheese pizza**, 3️⃣ **Churros**, with 2 votes each (40.0%)" in description
    assert "Winner:" not in description
    assert f"/award runoff id:{poll_id}" in description
    assert (await poll_row(club, poll_id)).is_tie

    h = await club.slash(club.mod, club.g.general, "award runoff", id=poll_id)
    reply = await h.reply()
    assert reply.ephemeral and "Runoff poll #" in reply.content
    await fake.settle()
    runoff_msg = fake.bot_messages(club.polls)[-1]
    assert runoff_msg.embeds[0]["title"] == "🍿 Best Snacktor in a Supporting Role (runoff)"
    assert "1️⃣ Cheese pizza\n2️⃣ Churros" in runoff_msg.embeds[0]["description"]
    assert f"runoff of #{poll_id}" in runoff_msg.embeds[0]["footer"]["text"]
    assert list(runoff_msg.reactions) == [K[0], K[1]]
    # Runoff closes after as long as the first poll ran (2 hours).
    runoff = await repo.runoff_for(club.bot.store, poll_id)
    assert runoff is not None and runoff.closes_at - runoff.created_at == 2 * HOUR
    # One runoff per poll.
    again = await error_of(club, "award runoff", id=poll_id)
    assert f"already has a runoff: poll #{runoff.id}" in again
    # The runoff is decided normally.
    await fake.react(a, runoff_msg, K[1])
    await club.clock.advance(2 * HOUR + 1)
    final = results_posts(club)[-1]
    assert "Winner: 2️⃣ Churros" in final.embeds[0]["description"]
    # A runoff of a poll with a clear winner is refused.
    refused = await error_of(club, "award runoff", id=runoff.id)
    assert "clear winner" in refused


async def test_show_counts_edits_live_counts_coalesced(club: Club) -> None:
    fake = club.fake
    msg, poll_id = await open_poll(club, show_counts=True)
    assert "1️⃣ Cheese pizza · **0**" in msg.embeds[0]["description"]
    edits_before = len(fake.calls("PATCH", rf"/messages/{msg.id}$"))
    for member in voters(club, 6):
        await fake.react(member, msg, K[1], settle=False)
    await fake.settle()
    await club.clock.advance(5)
    edits = fake.calls("PATCH", rf"/messages/{msg.id}$")
    assert len(edits) - edits_before == 1  # six votes, one edit
    assert "2️⃣ Coke · **6**" in msg.embeds[0]["description"]
    status = await (await club.slash(club.mod, club.g.general, "award status", id=poll_id)).reply()
    assert status.ephemeral and "2️⃣ Coke: **6**" in votes_field(status)


async def test_status_is_served_again_until_a_vote_changes_it(club: Club) -> None:
    """`/award status` keeps its answer while nothing changes (db/cache.py) and shows a vote at once."""
    fake = club.fake
    msg, poll_id = await open_poll(club, show_counts=True)
    [first, second] = voters(club, 2)
    await fake.react(first, msg, K[0])
    cache = club.bot.awards.status_cache
    one = await (await club.slash(club.mod, club.g.general, "award status", id=poll_id)).reply()
    hits = cache.hits
    again = await (await club.slash(club.mod, club.g.general, "award status", id=poll_id)).reply()
    assert cache.hits == hits + 1  # nothing was written in between: the same answer, not recounted
    assert votes_field(again) == votes_field(one) and "1️⃣ Cheese pizza: **1**" in votes_field(again)
    # A vote and a change of mind, asked about straight away (no time for the live-count edit).
    await fake.react(second, msg, K[1])
    await fake.unreact(first, msg, K[0])
    await fake.react(first, msg, K[1])
    now = await (await club.slash(club.mod, club.g.general, "award status", id=poll_id)).reply()
    assert "1️⃣ Cheese pizza: **0**" in votes_field(now) and "2️⃣ Coke: **2**" in votes_field(now)
    fields = {f["name"]: f["value"] for f in now.embeds[0]["fields"]}
    assert fields["Ballots cast so far"] == "2"


# --------------------------------------------------------------------------- list, history, status, cancel


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_list_history_and_cancel(club: Club) -> None:
    fake = club.fake
    msg, first = await open_poll(club, category="Best Beverage", nominees="Coke; Lemonade")
    await fake.react(club.g.alice, msg, K[0])
    await club.clock.advance(2 * HOUR + 1)
    _, second = await open_poll(club, category="Crunchiest Cameo", nominees="Nachos; Popcorn")
    listing = await (await club.slash(club.g.alice, club.g.general, "award list")).reply()
    assert listing.ephemeral
    text = listing.text()
    assert f"`#{second}` **Crunchiest Cameo**" in text
    assert f"`#{first}` **Best Beverage** · 🏆 Coke (1 vote)" in text
    hist = await (await club.slash(club.g.bob, club.g.general, "award history", category="bev")).reply()
    assert "Best Beverage" in hist.text() and "🏆 Coke (1 vote)" in hist.text()
    none = await (await club.slash(club.g.bob, club.g.general, "award history", category="cameo")).reply()
    assert "No award matching" in none.text()
    choices = await fake.autocomplete(club.g.bob, club.g.general, "award history", "category", "bev")
    assert [c["value"] for c in choices] == ["Best Beverage"]

    # Cancel (after confirming): the poll post says so; no results ever come.
    await cancel_confirmed(club, second)
    cancelled_msg = fake.bot_messages(club.polls)[-1]
    assert "cancelled" in cancelled_msg.embeds[0]["description"]
    await club.clock.advance(3 * HOUR)
    assert len(results_posts(club)) == 1
    assert "already cancelled" in await error_of(club, "award cancel", id=second)
    assert "was cancelled" in await error_of(club, "award close", id=second)


async def test_members_cannot_use_moderator_commands(club: Club) -> None:
    text = await error_of(club, "award open", club.g.alice, category="x", nominees="a;b", closes="in 1 hour")
    assert "Only moderators" in text
    assert await repo.list_open(club.bot.store) == []
    _, poll_id = await open_poll(club)
    for command in ("award close", "award cancel", "award status", "award runoff"):
        text = await error_of(club, command, club.g.alice, id=poll_id)
        assert "Only moderators" in text and "Projectionist" in text
    assert (await poll_row(club, poll_id)).is_open and results_posts(club) == []


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"nominees": "Cheese pizza"}, "at least 2 nominees"),
        ({"nominees": ";".join(f"n{i}" for i in range(11))}, "At most 10 nominees"),
        ({"nominees": "Coke; Cheese pizza;  coke "}, "nominated twice"),
        ({"nominees": "Coke;;Nachos"}, "Nominee 2 is empty"),
        ({"nominees": "Coke;" + "x" * 101}, "Nominee 2 is 101 characters"),
        ({"closes": "2025-12-01 20:00"}, "in the past"),
        ({"closes": "in 33 days"}, "too far ahead"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    club: Club, options: dict[str, str], fragment: str
) -> None:
    args: dict[str, Any] = {"category": "Best Snacktor", "nominees": "Cheese pizza; Coke", "closes": "in 2 hours"}
    args.update(options)
    before = len(club.fake.messages_in(club.polls))
    text = await error_of(club, "award open", **args)
    assert fragment in text
    await club.fake.settle()
    assert len(club.fake.messages_in(club.polls)) == before
    assert await repo.list_open(club.bot.store) == []
    assert await repo.history(club.bot.store, club.guild_id) == []


async def test_missing_add_reactions_is_checked_before_posting(club: Club) -> None:
    fake = club.fake
    fake.set_overwrites(club.polls, [fake.overwrite(club.g.bot_role, deny=P.ADD_REACTIONS)])
    text = await error_of(club, "award open", category="x", nominees="a;b", closes="in 1 hour")
    assert "I need Add Reactions" in text
    assert fake.messages_in(club.polls) == []
    assert await repo.list_open(club.bot.store) == []


async def test_closing_another_servers_poll_is_refused(club: Club) -> None:
    other = await repo.create_poll(
        club.bot.store, guild_id=club.guild_id + 1, channel_id=1, category="Theirs", nominees=("a", "b"),
        film_title=None, film_key=None, show_counts=False, opened_by=1, now=club.bot.now_ts(),
        closes_at=club.bot.now_ts() + HOUR,
    )
    for command in ("award close", "award cancel", "award status", "award runoff"):
        text = await error_of(club, command, id=other.id)
        assert text == f"There is no award poll #{other.id} on this server. See `/award list`."
        unknown = await error_of(club, command, id=987654)
        assert unknown == "There is no award poll #987654 on this server. See `/award list`."
    assert (await poll_row(club, other.id)).is_open


# --------------------------------------------------------------------------- restarts and catching up


def announcements(club: Club) -> list[Message]:
    return club.fake.bot_messages(club.g.announcements)


async def test_a_live_change_after_a_restart_beats_a_reaction_added_while_offline(club: Club) -> None:
    """Reconnecting reconciles first: a vote cast after the restart is the latest, the offline one is tidied."""
    fake = club.fake
    msg, poll_id = await open_poll(club)
    a, b = voters(club, 2)
    await club.stop()
    await fake.react(a, msg, K[2])  # while the bot is away
    await fake.react(b, msg, K[1])
    await club.start()
    await fake.settle()
    # Caught up on reconnecting: the offline votes are ballots already (status counts them).
    status = await (await club.slash(club.mod, club.g.general, "award status", id=poll_id)).reply()
    fields = {f["name"]: f["value"] for f in status.embeds[0]["fields"]}
    assert fields["Ballots cast so far"] == "2"
    # a changes their mind live: the new reaction counts and the older one is removed.
    await fake.react(a, msg, K[0])
    assert a.id in msg.reaction_users(K[0]) and a.id not in msg.reaction_users(K[2])
    await club.clock.advance(2 * HOUR + 1)
    votes = votes_field(results_posts(club)[0])
    assert "1️⃣ Cheese pizza: **1** (50.0%) 🏆" in votes
    assert "2️⃣ Coke: **1** (50.0%) 🏆" in votes
    assert "3️⃣ Churros: **0**" in votes


async def test_reconnect_tidies_offline_duplicates_foreign_emoji_and_bots(club: Club) -> None:
    fake = club.fake
    msg, poll_id = await open_poll(club)
    a, b = voters(club, 2)
    other_bot = fake.add_member(club.g.guild, fake.create_user("crumbbot", bot=True), [club.g.member_role])
    await fake.react(a, msg, K[0])
    await club.stop()
    await fake.react(a, msg, K[1])  # a's change of mind while the bot is away
    await fake.react(b, msg, "🍕")
    await fake.react(other_bot, msg, K[2])
    await club.start()
    await fake.settle()
    assert a.id not in msg.reaction_users(K[0]) and a.id in msg.reaction_users(K[1])
    assert "🍕" not in msg.reactions
    assert other_bot.id not in msg.reaction_users(K[2])
    stored = await repo.ballots(club.bot.store, poll_id)
    assert stored[a.id].choice == 1 and other_bot.id not in stored


async def test_void_ballot_survives_the_reconnect_and_a_later_reaction_settles_it(club: Club) -> None:
    fake = club.fake
    msg, poll_id = await open_poll(club)
    a, b, c = voters(club, 3)
    await fake.react(c, msg, K[0])
    await club.stop()
    for member in (a, b):  # two numbers each while the bot is away: order unknown
        await fake.react(member, msg, K[1])
        await fake.react(member, msg, K[2])
    await club.start()
    await fake.settle()
    # Both reactions stay (the bot cannot know which is the latest); b then settles it live.
    assert a.id in msg.reaction_users(K[1]) and a.id in msg.reaction_users(K[2])
    await fake.unreact(b, msg, K[2])
    await fake.react(b, msg, K[2])
    assert b.id not in msg.reaction_users(K[1])
    await club.restart()
    await club.clock.advance(2 * HOUR + 1)
    result = results_posts(club)[0]
    ballots = next(f["value"] for f in result.embeds[0]["fields"] if f["name"] == "Ballots")
    assert ballots == "2 ballots (+ 1 void ballot)"
    assert "3️⃣ Churros: **1** (50.0%)" in votes_field(result)
    assert (await poll_row(club, poll_id)).void_ballots == 1


@pytest.mark.fakediscord_allow_errors
async def test_a_poll_posted_just_before_a_crash_is_found_again(club: Club, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot died between sending the poll and storing its id: after the restart it adopts the post."""
    fake = club.fake

    async def crash(*args: Any) -> None:
        raise ConnectionError("process died")

    monkeypatch.setattr(repo, "set_message", crash)
    h = await club.slash(club.mod, club.g.general, "award open", category="Best Bite", nominees="Nachos; Popcorn",
                         closes="in 2 hours")
    await h.reply()
    await fake.settle()
    monkeypatch.undo()
    msg = fake.bot_messages(club.polls)[-1]
    assert msg.reactions == {}  # died before adding the numbers
    await fake.react(club.g.alice, msg, K[1])  # members vote anyway (they can add the number themselves)
    await club.restart()
    await fake.settle()
    assert set(msg.reactions) == {K[0], K[1]}
    assert fake.bot_user.id in msg.reaction_users(K[0]) and fake.bot_user.id in msg.reaction_users(K[1])
    await fake.react(club.g.bob, msg, K[1])
    await club.clock.advance(2 * HOUR + 1)
    posts = results_posts(club)
    assert len(posts) == 1
    assert "Winner: 2️⃣ Popcorn** with 2 votes" in posts[0].embeds[0]["description"]


@pytest.mark.fakediscord_allow_errors
async def test_a_poll_posted_just_before_a_crash_closes_normally_when_back_after_its_closing_time(
    club: Club, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = club.fake

    async def crash(*args: Any) -> None:
        raise ConnectionError("process died")

    monkeypatch.setattr(repo, "set_message", crash)
    await (await club.slash(club.mod, club.g.general, "award open", category="Best Bite", nominees="Nachos; Popcorn",
                            closes="in 2 hours")).reply()
    await fake.settle()
    monkeypatch.undo()
    msg = fake.bot_messages(club.polls)[-1]
    await club.stop()
    await fake.react(club.g.alice, msg, K[1])
    await fake.react(club.g.bob, msg, K[1])
    await club.clock.advance(3 * HOUR)  # the closing time passes while the bot is down
    await club.start()
    await fake.settle()
    await club.clock.advance(1)
    posts = results_posts(club)
    assert len(posts) == 1 and "Winner: 2️⃣ Popcorn** with 2 votes" in posts[0].embeds[0]["description"]
    assert "Voting closed" in msg.embeds[0]["description"]


async def test_a_poll_never_posted_before_a_crash_is_dropped_quietly(club: Club) -> None:
    poll = await repo.create_poll(
        club.bot.store, guild_id=club.guild_id, channel_id=int(club.polls.id), category="Ghost", nominees=("a", "b"),
        film_title=None, film_key=None, show_counts=False, opened_by=1, now=club.bot.now_ts(),
        closes_at=club.bot.now_ts() + HOUR,
    )
    await club.restart()
    await club.fake.settle()
    assert (await poll_row(club, poll.id)).status == "cancelled"
    await club.clock.advance(2 * HOUR)
    assert results_posts(club) == [] and announcements(club) == []


async def test_results_are_not_posted_again_after_a_long_outage(club: Club, monkeypatch: pytest.MonkeyPatch) -> None:
    """Died after Discord took the results post but before it was recorded; back 10 minutes later
    (Discord no longer honours the nonce): the bot finds its post instead of posting again."""
    fake = club.fake
    msg, poll_id = await open_poll(club)
    await fake.react(club.g.alice, msg, K[0])
    original = repo.set_results_message

    async def crash(*args: Any) -> None:
        raise ConnectionError("process died")

    monkeypatch.setattr(repo, "set_results_message", crash)
    fake.expect_log_error("award.close")
    await club.clock.advance(2 * HOUR + 1)
    assert len(results_posts(club)) == 1
    await club.stop()
    monkeypatch.setattr(repo, "set_results_message", original)
    await club.clock.advance(600)
    await club.start()
    await fake.settle()
    await club.clock.advance(HOUR)
    assert len(results_posts(club)) == 1
    poll = await poll_row(club, poll_id)
    assert poll.results_message_id == results_posts(club)[0].id


# --------------------------------------------------------------------------- a post or channel gone at close


async def test_deleted_poll_post_at_close_counts_recorded_ballots_and_tells_moderators(club: Club) -> None:
    fake = club.fake
    msg, poll_id = await open_poll(club)
    await fake.react(club.g.alice, msg, K[1])
    await fake.react(club.g.bob, msg, K[1])
    await fake.delete(msg)
    await club.clock.advance(2 * HOUR + 1)
    posts = results_posts(club)
    assert len(posts) == 1 and "Winner: 2️⃣ Coke** with 2 votes" in posts[0].embeds[0]["description"]
    notices = [m for m in announcements(club) if f"award poll #{poll_id}" in m.content]
    assert len(notices) == 1
    assert "its post was deleted" in notices[0].content and "2 ballots I had recorded" in notices[0].content
    assert not notices[0].pings_anyone
    await club.restart()
    await club.clock.advance(HOUR)
    assert len(results_posts(club)) == 1
    assert len([m for m in announcements(club) if f"award poll #{poll_id}" in m.content]) == 1


async def test_deleted_poll_channel_at_close_posts_results_in_announcements(club: Club) -> None:
    fake = club.fake
    msg, poll_id = await open_poll(club)
    await fake.react(club.g.alice, msg, K[2])
    fake.delete_channel(club.polls)
    await fake.settle()
    await club.clock.advance(2 * HOUR + 1)
    notes = announcements(club)
    told = [m for m in notes if "closed, but the channel" in m.content]
    assert len(told) == 1 and "1 ballot I had recorded" in told[0].content
    results = [m for m in notes if m.embeds and str(m.embeds[0].get("title", "")).startswith("🏆 Results")]
    assert len(results) == 1
    assert f"couldn't post the results of award poll #{poll_id}" in results[0].content
    assert "Winner: 3️⃣ Churros" in results[0].embeds[0]["description"]
    assert not results[0].pings_anyone
    poll = await poll_row(club, poll_id)
    assert poll.status == "closed" and poll.results_message_id == results[0].id
    # Nothing more after a restart, and a manual close says it is done.
    await club.restart()
    await club.clock.advance(HOUR)
    assert len(announcements(club)) == len(notes)
    assert "already closed" in await error_of(club, "award close", id=poll_id)


async def test_nowhere_to_post_results_gives_a_clear_answer(club: Club) -> None:
    fake = club.fake
    await club.bot.settings.update(club.guild_id, club.bot.now_ts(), announcements_channel_id=int(club.polls.id))
    msg, poll_id = await open_poll(club)
    await fake.react(club.g.alice, msg, K[0])
    fake.set_overwrites(club.polls, [fake.overwrite(club.g.bot_role, deny=P.SEND_MESSAGES)])
    await fake.settle()
    text = await error_of(club, "award close", id=poll_id)
    assert text.startswith(f"Poll #{poll_id} is closed (🏆 Cheese pizza (1 vote)), but I couldn't post its results")
    assert "missing permissions" in text and f"/award close id:{poll_id}" in text
    assert results_posts(club) == []
    # Once the permission is back, closing again posts them, once.
    fake.set_overwrites(club.polls, [])
    await fake.settle()
    reply = await (await club.slash(club.mod, club.g.general, "award close", id=poll_id)).reply()
    assert "Closed poll" in reply.content
    assert len(results_posts(club)) == 1
    await club.clock.advance(3 * HOUR)
    assert len(results_posts(club)) == 1


# --------------------------------------------------------------------------- reactions: limits, permissions, cost


async def test_reactions_on_other_messages_cost_nothing(club: Club) -> None:
    fake = club.fake
    await open_poll(club)
    cog: Any = club.bot.awards
    other = await fake.say(club.g.alice, club.g.general, "what a film")
    commits, calls = cog.writer.commits, len(fake.rest_log)
    for member in voters(club, 20):
        await fake.react(member, other, K[0], settle=False)
        await fake.react(member, other, "🍕", settle=False)
    await fake.settle()
    assert cog.writer.commits == commits
    assert len(fake.rest_log) == calls


async def test_reaction_limit_reached_before_the_numbers_are_added(club: Club) -> None:
    """No Manage Messages: members fill the 20 reaction slots with other emoji before the bot adds
    its numbers; the moderator is told which numbers are missing and what to do."""
    fake = club.fake
    fake.set_overwrites(club.polls, [fake.overwrite(club.g.bot_role, deny=P.MANAGE_MESSAGES)])
    fake.inject("PUT", r"/reactions/.*/@me", 429, count=1, retry_after=1.0)
    h = await club.slash(club.mod, club.g.general, "award open", category="Best Bite",
                         nominees="; ".join(f"Snack {i}" for i in range(10)), closes="in 2 hours")
    await fake.wait_until(lambda: bool(fake.bot_messages(club.polls)), 5, "the poll post")
    msg = fake.bot_messages(club.polls)[-1]
    emoji = "🍕🌭🍿🥨🧀🍫🍩🍪🍦🥤🍔🍟🌮🍗🥗🍣🍜🥞"
    for i, e in enumerate(emoji):
        await fake.react(voters(club, 1, f"fan{i}-")[0], msg, e, settle=False)
    await fake.wait_until(lambda: len(h.followups) >= 2, 10, "the warning")
    warning = await h.followup(1)
    assert warning.ephemeral
    assert "I couldn't add 3️⃣ 4️⃣ 5️⃣ 6️⃣ 7️⃣ 8️⃣ 9️⃣ 🔟" in warning.content
    assert "20 different reactions" in warning.content
    assert len(msg.reactions) == 20


async def test_reaction_limit_with_manage_messages_makes_room(club: Club) -> None:
    fake = club.fake
    fake.inject("PUT", r"/reactions/.*/@me", 429, count=1, retry_after=1.0)
    h = await club.slash(club.mod, club.g.general, "award open", category="Best Bite",
                         nominees="; ".join(f"Snack {i}" for i in range(10)), closes="in 2 hours")
    await fake.wait_until(lambda: bool(fake.bot_messages(club.polls)), 5, "the poll post")
    msg = fake.bot_messages(club.polls)[-1]
    for i, e in enumerate("🍕🌭🍿🥨🧀🍫🍩🍪🍦🥤🍔🍟🌮🍗🥗🍣🍜🥞"):
        await fake.react(voters(club, 1, f"fan{i}-")[0], msg, e, settle=False)
    await fake.wait_until(lambda: list(msg.reactions) == list(K), 10, "every number and no other emoji")
    await fake.settle()
    assert all(m.content.startswith("Poll #") for m in h.followups)  # no warning


async def test_number_reactions_are_paced_through_rate_limits(club: Club) -> None:
    club.fake.inject("PUT", r"/reactions/.*/@me", 429, count=3, retry_after=0.05)
    msg, _ = await open_poll(club, nominees="a; b; c; d; e")
    await club.fake.settle(idle=0.3)
    assert list(msg.reactions) == list(K[:5])


async def test_add_reactions_lost_after_the_check_is_reported(club: Club) -> None:
    fake = club.fake
    fake.inject("PUT", r"/reactions/.*/@me", 403, count=10, code=50013, message="Missing Permissions")
    h = await club.slash(club.mod, club.g.general, "award open", category="Best Bite", nominees="a; b",
                         closes="in 2 hours")
    await h.reply()
    await fake.settle()
    warning = await h.followup(1)
    assert warning.ephemeral and "I couldn't add 1️⃣ 2️⃣: I'm missing Add Reactions" in warning.content
    # Members can still vote by adding the numbers themselves.
    msg = fake.bot_messages(club.polls)[-1]
    await fake.react(club.g.alice, msg, K[1])
    await club.clock.advance(2 * HOUR + 1)
    assert "Winner: 2️⃣ b" in results_posts(club)[0].embeds[0]["description"]


async def test_clearing_all_reactions_withdraws_the_votes(club: Club) -> None:
    fake = club.fake
    msg, poll_id = await open_poll(club, show_counts=True)
    await fake.react(club.g.alice, msg, K[0])
    await fake.react(club.g.bob, msg, K[1])
    await club.clock.advance(5)
    assert "1️⃣ Cheese pizza · **1**" in msg.embeds[0]["description"]
    # A moderator clears every reaction on the post (Discord's "Remove All Reactions").
    channel = fake.get_channel(msg.channel_id)
    msg.reactions.clear()
    fake.dispatch("MESSAGE_REACTION_REMOVE_ALL", {"channel_id": str(channel.id), "message_id": str(msg.id),
                                                  "guild_id": str(club.guild_id)}, intent=fake.reaction_intent(channel),
                  channel=channel)
    await fake.settle()
    await club.clock.advance(5)
    assert "1️⃣ Cheese pizza · **0**" in msg.embeds[0]["description"]
    assert await repo.count_ballots(club.bot.store, poll_id) == 0


async def test_many_voters_are_read_back_page_by_page(club: Club) -> None:
    fake = club.fake
    msg, _ = await open_poll(club)
    crowd = voters(club, 230)
    await club.stop()
    for i, member in enumerate(crowd):
        await fake.react(member, msg, K[0 if i < 120 else 1], settle=False)
    await club.start()
    await fake.settle()
    await club.clock.advance(2 * HOUR + 1)
    result = results_posts(club)[0]
    assert "1️⃣ Cheese pizza: **120** (52.2%) 🏆" in votes_field(result)
    assert "2️⃣ Coke: **110** (47.8%)" in votes_field(result)
    pages = [c for c in fake.calls("GET", rf"/messages/{msg.id}/reactions/") if c.status == 200]
    assert len(pages) >= 3


# --------------------------------------------------------------------------- edges of the options


async def test_closing_time_exactly_32_days_ahead_is_accepted_and_just_over_is_refused(club: Club) -> None:
    # The fake clock starts Mon 2026-01-05 12:00 UTC (12:00 in London).
    _, poll_id = await open_poll(club, closes="2026-02-06 12:00")
    assert (await poll_row(club, poll_id)).closes_at - club.bot.now_ts() == 32 * 86400
    _, second = await open_poll(club, closes="in 32 days")
    assert (await poll_row(club, second)).closes_at - club.bot.now_ts() == 32 * 86400
    for closes in ("2026-02-06 12:01", "in 32 days 1 minute"):
        before = len(club.fake.messages_in(club.polls))
        text = await error_of(club, "award open", category="Late", nominees="a; b", closes=closes)
        assert "too far ahead" in text
        assert len(club.fake.messages_in(club.polls)) == before
    assert len(await repo.list_open(club.bot.store)) == 2


async def test_channel_option_posts_there_and_is_checked(club: Club) -> None:
    fake = club.fake
    snacks = fake.create_channel(club.g.guild, "snack-bar")
    await fake.settle()
    msg, poll_id = await open_poll(club, channel=snacks)
    assert msg.channel_id == snacks.id
    assert (await poll_row(club, poll_id)).channel_id == snacks.id
    text = await error_of(club, "award open", category="x", nominees="a; b", closes="in 1 hour",
                          channel=club.g.staff)
    assert "I need" in text and "View Channel" in text
    assert fake.messages_in(club.g.staff) == []


async def test_no_polls_channel_set_says_how_to_fix(make_club: Any) -> None:
    club = await make_club(setup=False)
    text = await error_of(club, "award open", club.g.admin, category="x", nominees="a; b", closes="in 1 hour")
    assert "/filmclub setup polls:" in text


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"category": "   "}, "Give the award a category"),
        ({"category": " \n\t "}, "Give the award a category"),
        ({"nominees": " ;  ; "}, "Nominee 1 is empty"),
        ({"nominees": "   "}, "at least 2 nominees"),
        ({"nominees": "a;" + "b" * 5990}, "Nominee 2 is 5990 characters"),
        ({"film": "f" * 151}, "keep it to 150"),
        ({"closes": "now"}, ""),
        ({"closes": "whenever"}, ""),
    ],
)
async def test_more_bad_input_is_refused(club: Club, options: dict[str, str], fragment: str) -> None:
    args: dict[str, Any] = {"category": "Best Snacktor", "nominees": "Cheese pizza; Coke", "closes": "in 2 hours"}
    args.update(options)
    text = await error_of(club, "award open", **args)
    assert fragment in text and len(text) <= 2000
    assert "Something went wrong" not in text
    await club.fake.settle()
    assert club.fake.messages_in(club.polls) == []
    assert await repo.list_open(club.bot.store) == []


async def test_long_markdown_and_mentions_fit_every_limit_and_ping_nobody(club: Club) -> None:
    fake = club.fake
    names = [(f"{i} <@{club.g.alice.id}> @everyone " + "*_" * 50)[:100] for i in range(10)]
    assert all(len(n) == 100 for n in names)
    category = ("**Best** `snack` <@&1> " + "_" * 100)[:100]
    msg, poll_id = await open_poll(club, nominees="\n".join(names), category=category, film="@here " + "~" * 140)
    assert not msg.pings_anyone and "@everyone" not in msg.embeds[0]["description"].replace("@\u200beveryone", "")
    crowd = voters(club, 10)
    for i, member in enumerate(crowd):
        await fake.react(member, msg, K[i])  # a ten-way tie
    status = await (await club.slash(club.mod, club.g.general, "award status", id=poll_id)).reply()
    assert status.ephemeral and status.embeds
    await club.clock.advance(2 * HOUR + 1)
    result = results_posts(club)[0]
    assert "It's a tie!" in result.embeds[0]["description"]
    votes_text = "\n".join(f["value"] for f in result.embeds[0]["fields"] if f["name"].startswith("Votes"))
    assert votes_text.count("**1** (10.0%) 🏆") == 10  # no nominee cut off
    assert not result.pings_anyone
    for command, options in (("award list", {}), ("award history", {}), ("award status", {"id": poll_id})):
        reply = await (await club.slash(club.mod, club.g.general, command, **options)).reply()
        assert reply.ephemeral and reply.embeds and not reply.pings_anyone


# --------------------------------------------------------------------------- concurrency


async def test_concurrent_closes_post_once(club: Club) -> None:
    fake = club.fake
    msg, poll_id = await open_poll(club)
    await fake.react(club.g.alice, msg, K[0])
    handles = [await club.slash(club.mod, club.g.general, "award close", id=poll_id) for _ in range(3)]
    replies = [await h.reply() for h in handles]
    await fake.settle()
    assert len(results_posts(club)) == 1
    assert sum("Closed poll" in r.content for r in replies) == 1
    assert all(r.ephemeral for r in replies)


async def test_concurrent_runoffs_open_one(club: Club) -> None:
    fake = club.fake
    msg, poll_id = await open_poll(club)
    await fake.react(club.g.alice, msg, K[0])
    await fake.react(club.g.bob, msg, K[1])
    await (await club.slash(club.mod, club.g.general, "award close", id=poll_id)).reply()
    handles = [await club.slash(club.mod, club.g.general, "award runoff", id=poll_id) for _ in range(2)]
    replies = [await h.reply() for h in handles]
    await fake.settle()
    assert sum("Runoff poll #" in r.content for r in replies) == 1
    assert any("runoff" in r.content and "Runoff poll #" not in r.content for r in replies)
    assert len([p for p in await repo.list_open(club.bot.store) if p.runoff_of == poll_id]) == 1


async def test_runoff_refused_for_a_poll_without_votes(club: Club) -> None:
    _, poll_id = await open_poll(club)
    await club.clock.advance(2 * HOUR + 1)
    assert "No ballots were cast" in results_posts(club)[0].embeds[0]["description"]
    text = await error_of(club, "award runoff", id=poll_id)
    assert "Only a tied award can go to a runoff" in text
    assert await repo.list_open(club.bot.store) == []


async def test_reconnect_makes_room_for_missing_numbers_when_the_slots_are_full(
    club: Club, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Crash right after posting; while the bot is away members fill all 20 reaction slots with other
    emoji. On reconnecting it clears those (Manage Messages) and adds its numbers."""
    fake = club.fake

    async def crash(*args: Any) -> None:
        raise ConnectionError("process died")

    monkeypatch.setattr(repo, "set_message", crash)
    fake.expect_log_error("award open")
    h = await club.slash(club.mod, club.g.general, "award open", category="Best Bite", nominees="Nachos; Popcorn",
                         closes="in 2 hours")
    await h.reply()
    await fake.settle()
    monkeypatch.undo()
    msg = fake.bot_messages(club.polls)[-1]
    await club.stop()
    await fake.react(club.g.alice, msg, K[0])
    for i, e in enumerate("🍕🌭🍿🥨🧀🍫🍩🍪🍦🥤🍔🍟🌮🍗🥗🍣🍜🥞🍰"):
        await fake.react(voters(club, 1, f"fan{i}-")[0], msg, e, settle=False)
    assert len(msg.reactions) == 20
    await club.start()
    await fake.settle()
    assert set(msg.reactions) == {K[0], K[1]}
    assert fake.bot_user.id in msg.reaction_users(K[1])
    await club.clock.advance(2 * HOUR + 1)
    assert "Winner: 1️⃣ Nachos" in results_posts(club)[0].embeds[0]["description"]


# --------------------------------------------------------------------------- a real SIGKILL


def _db_rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.mark.process
async def test_sigkill_loses_no_acknowledged_ballot_and_the_reactions_restore_the_rest(
    fake: FakeDiscord, bot_process: Any, tmp_path: Path
) -> None:
    """The real `python -m bot`, killed with SIGKILL in the middle of a wave of changes of mind.

    The bot removes a member's old reaction only after their new ballot is committed, so each of those
    removals is an acknowledgement: every member acknowledged before the kill has the new ballot in the
    database file. The rest are still in the message's reactions, and reconnecting counts them."""
    g = fake.standard_guild()
    polls = fake.create_channel(g.guild, "polls")
    db = tmp_path / "club.db"
    proc = bot_process("bot", env={"FILMCLUB_DB": str(db), "FILMCLUB_DEV_GUILD": str(g.guild.id)}, commands=True)
    await proc.start()
    assert "award" in fake.command_names(g.guild)
    await (await fake.slash(g.admin, g.general, "filmclub setup", polls=polls, announcements=g.announcements)).reply()
    reply = await (await fake.slash(g.admin, g.general, "award open", category="Crash Test Snack",
                                    nominees="Popcorn; Nachos; Pretzels", closes="in 1 day")).reply()
    poll_id = int(re.search(r"Poll #(\d+) is open", reply.content).group(1))  # type: ignore[union-attr]
    msg = await fake.wait_for_message(polls, lambda m: bool(m.embeds))
    await fake.wait_until(lambda: len(msg.reactions) == 3, 10, "the number reactions")
    members = [fake.add_member(g.guild, f"voter{i}", [g.member_role]) for i in range(60)]
    late = [fake.add_member(g.guild, f"late{i}", [g.member_role]) for i in range(10)]
    for m in members:
        await fake.react(m, msg, K[0], settle=False)
    await fake.wait_until(
        lambda: _db_rows(db, f"SELECT COUNT(*) FROM award_ballots WHERE poll_id = {poll_id} AND choice = 0")
        == [(60,)], 15, "the first votes stored",
    )

    removals: list[int] = []

    def acknowledged(call: Any) -> None:
        removals.append(int(call.path.rsplit("/", 1)[1]))
        if len(removals) == 1:
            proc.kill()

    fake.after_request("DELETE", rf"/messages/{msg.id}/reactions/", acknowledged, count=1000)
    for m in members:  # everyone changes their mind to Nachos; the bot dies in the middle of it
        await fake.react(m, msg, K[1], settle=False)
    for m in late:  # and a few first votes arrive just as it dies
        await fake.react(m, msg, K[2], settle=False)
    await fake.wait_until(lambda: not proc.running, 15, "the SIGKILL")
    assert proc.returncode == -9
    assert len(removals) >= 1
    rows = dict(_db_rows(db, f"SELECT user_id, choice FROM award_ballots WHERE poll_id = {poll_id}"))
    lost = [uid for uid in removals if rows.get(uid) != 1]
    assert lost == []  # every acknowledged change of mind survived the SIGKILL
    assert len(rows) >= 60

    await proc.start(commands=False)
    closed = await (await fake.slash(g.admin, g.general, "award close", id=poll_id)).reply()
    assert closed.ephemeral and "Closed poll" in closed.content, closed.content
    result = await fake.wait_for_message(
        polls, lambda m: bool(m.embeds) and str(m.embeds[0].get("title", "")).startswith("🏆 Results")
    )
    votes = next(f["value"] for f in result.embeds[0]["fields"] if f["name"] == "Votes")
    assert "1️⃣ Popcorn: **0**" in votes
    assert "2️⃣ Nachos: **60**" in votes
    assert "3️⃣ Pretzels: **10**" in votes
    await asyncio.sleep(0.5)
    await proc.stop()
    assert proc.returncode == 0
    assert len([m for m in fake.bot_messages(polls) if m.embeds
                and str(m.embeds[0].get("title", "")).startswith("🏆 Results")]) == 1


async def test_cancel_asks_first_and_a_day_later_cannot_be_undone(club: Club) -> None:
    fake, g = club.fake, club.g
    msg, poll_id = await open_poll(club, closes="in 3 days")
    for who, key in ((g.alice, K[0]), (g.bob, K[1]), (g.carol, K[1])):
        await fake.react(who, msg, key)
    # The question, and "Keep it open" changes nothing.
    ask = await (await club.slash(club.mod, g.general, "award cancel", id=poll_id)).reply()
    assert ask.ephemeral and "with its 3 ballots" in ask.content and "within a day" in ask.content
    kept = await (await fake.click(club.mod, ask, "Keep it open")).reply()
    assert f"Poll #{poll_id} stays open" in kept.content
    assert (await repo.get(club.bot.store, poll_id)).status == "open"  # type: ignore[union-attr]
    # Nobody else can answer a moderator's confirmation (checked on the bot's side).
    ask = await (await club.slash(club.mod, g.general, "award cancel", id=poll_id)).reply()
    refused = await (await fake.click(g.alice, ask, f"Cancel poll #{poll_id}")).reply()
    assert refused.ephemeral and "Only moderators" in refused.content
    refused = await (await fake.click(g.admin, ask, f"Cancel poll #{poll_id}")).reply()
    assert refused.ephemeral and "Only the moderator who asked" in refused.content
    assert (await repo.get(club.bot.store, poll_id)).status == "open"  # type: ignore[union-attr]
    # Cancelled: then reopened within the day, with its ballots, and it closes with them counted.
    await cancel_confirmed(club, poll_id, votes=3)
    await club.clock.advance(2 * HOUR)
    back = await (await club.slash(club.mod, g.general, "award reopen", id=poll_id)).reply()
    assert back.ephemeral and f"Reopened poll #{poll_id} with its 3 ballots" in back.content, back.content
    assert "cancelled" not in fake.bot_messages(club.polls)[0].embeds[0]["description"]
    await fake.react(g.owner, msg, K[1])
    closed = await (await club.slash(club.mod, g.general, "award close", id=poll_id)).reply()
    assert closed.ephemeral
    [results] = results_posts(club)
    assert "Coke" in results.text() and "3 votes" in results.text()
    # A second poll cancelled more than a day ago stays cancelled.
    _, other = await open_poll(club, category="Best Crunch", nominees="Nachos; Popcorn", closes="in 5 days")
    await cancel_confirmed(club, other)
    await club.clock.advance(25 * HOUR)
    late = await error_of(club, "award reopen", id=other)
    assert "more than a day ago" in late
    assert "only a cancelled poll" in await error_of(club, "award reopen", id=poll_id)


async def test_a_restart_costs_one_request_per_open_poll_and_offline_votes_still_count(club: Club) -> None:
    """Reconnecting reads each open poll's message (1 request); a number's reactor list is read only when its
    count differs from what the bot recorded, so votes cast while it was away are still counted."""
    fake = club.fake
    polls = []
    for n in range(3):
        msg, poll_id = await open_poll(club, category=f"Best Bite {n}", nominees="Nachos; Popcorn; Pretzels",
                                       closes="in 3 days")
        for who, key in ((club.g.alice, K[0]), (club.g.bob, K[1]), (club.g.carol, K[1])):
            await fake.react(who, msg, key)
        polls.append((msg, poll_id))
    await club.stop()
    before = len(fake.rest_log)
    await club.start()
    await fake.settle()
    calls = fake.rest_log[before:]
    reads = [c for c in calls if c.method == "GET" and "/messages/" in c.path and "/reactions" not in c.path]
    reactor_lists = [c for c in calls if c.method == "GET" and "/reactions/" in c.path]
    assert len(reads) == 3 and reactor_lists == []
    assert not [c for c in calls if c.status == 429]

    # Votes while the bot is away: only the changed number of that poll is read in full, and it counts.
    msg, poll_id = polls[0]
    await club.stop()
    late = fake.add_member(club.g.guild, "late", [club.g.member_role])
    await fake.react(late, msg, K[2], settle=False)
    before = len(fake.rest_log)
    await club.start()
    await fake.settle()
    calls = fake.rest_log[before:]
    reactor_lists = [c for c in calls if c.method == "GET" and "/reactions/" in c.path]
    assert len(reactor_lists) == 1 and str(msg.id) in reactor_lists[0].path
    ballots = await repo.ballots(club.bot.store, poll_id)
    assert ballots[late.user.id].choice == 2
