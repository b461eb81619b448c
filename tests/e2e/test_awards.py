"""Snack-award polls end to end, through the fake Discord with a fake clock."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.domain.awards import KEYCAPS
from db import awards as repo
from tests.e2e.conftest import Club
from tests.fakediscord.models import Member, Message
from tests.fakediscord.permissions import P

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
    h = await club.slash(club.mod, club.g.general, "award open", category=category, nominees=nominees,
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


async def error_of(club: Club, command: str, member: Member | None = None, **options: Any) -> str:
    h = await club.slash(member or club.mod, club.g.general, command, **options)
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


async def test_restart_after_close_before_results_posts_them_once(club: Club) -> None:
    """A crash between storing the tally and posting: the results still go out, exactly once."""
    msg, poll_id = await open_poll(club)
    await club.fake.react(club.g.alice, msg, K[0])
    cog: Any = club.bot.get_cog("Awards")
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
    await club.fake.settle()
    assert len(results_posts(club)) == 1
    await club.clock.advance(3 * HOUR)  # the scheduled close is cancelled: nothing more
    await club.restart()
    await club.fake.settle()
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
    msg, _ = await open_poll(club, show_counts=True)
    assert "1️⃣ Cheese pizza · **0**" in msg.embeds[0]["description"]
    edits_before = len(fake.calls("PATCH", rf"/messages/{msg.id}$"))
    for member in voters(club, 6):
        await fake.react(member, msg, K[1], settle=False)
    await fake.settle()
    await club.clock.advance(5)
    edits = fake.calls("PATCH", rf"/messages/{msg.id}$")
    assert len(edits) - edits_before == 1  # six votes, one edit
    assert "2️⃣ Coke · **6**" in msg.embeds[0]["description"]


# --------------------------------------------------------------------------- list, history, status, cancel


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

    # Cancel: the poll post says so; no results ever come.
    reply = await (await club.slash(club.mod, club.g.general, "award cancel", id=second)).reply()
    assert reply.ephemeral and "Cancelled poll" in reply.content
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
    assert "missing Add Reactions" in text
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
    assert (await poll_row(club, other.id)).is_open
