"""Movie trivia end to end: the real bot against the fake Discord, time moved by the fake clock."""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.domain.trivia import Question, TriviaPack, is_correct, load_shipped_packs
from db import trivia as repo
from tests.e2e.conftest import BACKENDS, Club
from tests.fakediscord.models import Channel, Member, Message
from tests.fakediscord.permissions import P

PACKS = load_shipped_packs()
QUESTION_TITLE = re.compile(r"^Question (\d+)/(\d+)$")
SECONDS = 20
GAP = 3  # cogs.trivia.session.GAP_SECONDS
GREEN = 3  # ButtonStyle.success

GOOD_PACK = """\
AUTHOR: Morgan
DESCRIPTION: Our own questions
Which 2013 film features an operating system called Samantha?:
- Her
What is Rocky Balboa's dog called?:
- Butkus
Who plays Adrian in Rocky?:
- Talia Shire
- Shire
In which city does Rocky live?:
- Philadelphia
- Philly
"""

BAD_PACK = """\
Which 2013 film features an operating system called Samantha?:
- Her
What is Rocky Balboa's dog called?:
- Butkus
Who plays Adrian in Rocky?: Talia Shire
In which city does Rocky live?:
- Philadelphia
"""


# -- helpers --------------------------------------------------------------------------------


def questions(club: Club, channel: Channel) -> list[Message]:
    return [
        m
        for m in club.fake.bot_messages(channel)
        if not m.ephemeral and m.embed and QUESTION_TITLE.match(str(m.embed.get("title", "")))
    ]


def results(club: Club, channel: Channel) -> list[Message]:
    return [
        m
        for m in club.fake.bot_messages(channel)
        if not m.ephemeral and m.embed and re.match(r"^Question \d+: ", str(m.embed.get("title", "")))
    ]


def finals(club: Club, channel: Channel) -> list[Message]:
    return [
        m
        for m in club.fake.bot_messages(channel)
        if not m.ephemeral and m.embed and str(m.embed.get("title", "")).startswith("Trivia over")
    ]


def find_question(message: Message, pack: TriviaPack) -> Question:
    assert message.embed is not None
    text = message.embed["description"]
    return next(q for q in pack.questions if q.text == text)


def right_label(message: Message, pack: TriviaPack) -> str:
    q = find_question(message, pack)
    labels = [str(b["label"]) for b in message.buttons()]
    right = [label for label in labels if is_correct(label, q.answers)]
    assert len(right) == 1, (q, labels)
    return right[0]


def wrong_label(message: Message, pack: TriviaPack) -> str:
    q = find_question(message, pack)
    return next(str(b["label"]) for b in message.buttons() if not is_correct(str(b["label"]), q.answers))


async def start(club: Club, member: Member, channel: Channel, **options: Any) -> Message:
    club.bot.trivia.rng = random.Random(8)
    handle = await club.slash(member, channel, "trivia start", **options)
    reply = await handle.reply()
    await club.fake.settle()
    return reply


async def ephemeral(handle: Any) -> str:
    reply = await handle.reply()
    assert reply.ephemeral, reply.text()
    return str(reply.text())


def assert_nobody_pinged(club: Club) -> None:
    pinged = [m.text()[:80] for m in club.fake.all_messages() if m.pings_anyone]
    assert pinged == []


# -- buttons mode -----------------------------------------------------------------------------


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_buttons_session_three_members_scores_and_leaderboard(club: Club) -> None:
    fake, g, clock, chan = club.fake, club.g, club.clock, club.trivia
    her = PACKS["her"]
    intro = await start(club, g.alice, chan, pack="her", rounds=3)
    assert not intro.ephemeral
    assert "3 questions" in intro.text() and "20 seconds" in intro.text()

    for number in (1, 2, 3):
        qs = questions(club, chan)
        assert len(qs) == number
        q = qs[-1]
        assert q.embed is not None and q.embed["title"] == f"Question {number}/3"
        assert len(q.buttons()) == 4
        right, wrong = right_label(q, her), wrong_label(q, her)

        first = await ephemeral(await fake.click(g.alice, q, right))  # instant: 1,000
        assert "right" in first and "+1,000" in first
        await clock.advance(10)
        assert "+750" in await ephemeral(await fake.click(g.bob, q, right))  # half time: 750
        again = await ephemeral(await fake.click(g.bob, q, wrong))
        assert "already answered" in again
        miss = await ephemeral(await fake.click(g.carol, q, wrong))
        assert "Not" in miss and right not in miss  # the answer stays hidden until time is up
        assert len(results(club, chan)) == number - 1  # still open

        await clock.advance(10)
        result = results(club, chan)[-1]
        answer = find_question(q, her).answer
        assert answer in result.text()
        assert f"<@{g.alice.user.id}> (+1,000)" in result.text()
        assert f"<@{g.bob.user.id}> (+750)" in result.text()
        assert f"<@{g.carol.user.id}>" not in result.text()
        # The question closed: every button disabled, the right one green.
        assert all(b.get("disabled") for b in q.buttons())
        assert [b["label"] for b in q.buttons() if b.get("style") == GREEN] == [right]
        await clock.advance(GAP)

    assert len(questions(club, chan)) == 3
    (final,) = finals(club, chan)
    text = final.text()
    assert "last of 3 questions" in text
    order = [text.index(f"<@{m.user.id}>") for m in (g.alice, g.bob, g.carol)]
    assert order == sorted(order)
    assert "3,000 points (3 right)" in text and "2,250 points (3 right)" in text and "0 points (0 right)" in text
    assert_nobody_pinged(club)

    board = await repo.leaderboard(club.bot.store, club.guild_id, "her")
    assert [(r.member_id, r.points, r.correct, r.games) for r in board] == [
        (g.alice.user.id, 3000, 3, 1),
        (g.bob.user.id, 2250, 3, 1),
        (g.carol.user.id, 0, 0, 1),
    ]
    shown = await (await club.slash(g.carol, g.general, "trivia leaderboard", pack="her")).reply()
    assert not shown.ephemeral
    lines = shown.text().splitlines()
    assert lines[1].startswith(f"**1.** <@{g.alice.user.id}>: 3,000 points")
    assert lines[2].startswith(f"**2.** <@{g.bob.user.id}>: 2,250 points")
    assert not shown.pings_anyone
    # The channel is free again.
    next_game = await start(club, g.bob, chan, pack="rocky", rounds=1)
    assert not next_game.ephemeral and "Trivia: rocky" in next_game.text()


# -- typed mode ------------------------------------------------------------------------------


async def test_typed_session_three_members(make_club: Callable[..., Awaitable[Club]]) -> None:
    club = await make_club(message_content=True)
    fake, g, clock, chan = club.fake, club.g, club.clock, club.trivia
    rocky = PACKS["rocky"]
    intro = await start(club, g.alice, chan, pack="rocky", rounds=4, mode="typed")
    assert "Type answers" in intro.text()

    winners = [g.bob, g.alice, g.carol]
    for number, winner in enumerate(winners, start=1):
        q = questions(club, chan)[-1]
        assert q.buttons() == []
        question = find_question(q, rocky)
        await fake.say(g.carol if winner is not g.carol else g.bob, chan, "no idea, Apollo Creed?")
        await clock.advance(SECONDS / 2)
        hint = club.fake.last_message(chan)
        assert hint is not None and hint.content.startswith("💡 Hint:")
        assert question.answer[0] in hint.content and question.answer not in hint.content
        # Typed loosely: lower case, no accents or punctuation required.
        await fake.say(winner, chan, question.answer.lower())
        result = results(club, chan)[-1]
        assert result.embed is not None and result.embed["title"].startswith(f"Question {number}: the answer was")
        assert f"<@{winner.user.id}> (+1,000)" in result.text()
        # Later answers to a closed question don't count.
        await fake.say(g.admin, chan, question.answer)
        await clock.advance(GAP)
        assert len(questions(club, chan)) == number + 1

    # Question 4: only wrong guesses; time runs out and the answer is revealed.
    q4 = questions(club, chan)[-1]
    await fake.say(g.bob, chan, "Mickey")
    await clock.advance(SECONDS)
    last = results(club, chan)[-1]
    assert "time's up" in last.text() and find_question(q4, rocky).answer in last.text()
    assert "Nobody got it." in last.text()

    (final,) = finals(club, chan)
    for member in winners:
        assert f"<@{member.user.id}>: 1,000 points (1 right)" in final.text()
    assert f"<@{g.admin.user.id}>" not in final.text()  # answered only after questions closed
    board = await repo.leaderboard(club.bot.store, club.guild_id, "rocky")
    assert sorted((r.member_id, r.points) for r in board) == sorted((m.user.id, 1000) for m in winners)
    assert_nobody_pinged(club)


async def test_typed_mode_refused_without_message_content(club: Club) -> None:
    fake, g, chan = club.fake, club.g, club.trivia
    handle = await club.slash(g.alice, chan, "trivia start", pack="her", mode="typed", rounds=2)
    offer = await handle.reply()
    assert offer.ephemeral
    assert "message-content" in offer.text() and "Buttons mode works" in offer.text()
    await fake.settle()
    assert questions(club, chan) == []
    assert [b["label"] for b in offer.buttons()] == ["Play with buttons instead"]

    other = await ephemeral(await fake.click(g.bob, offer, "Play with buttons instead"))
    assert "Only the member who asked" in other
    assert questions(club, chan) == []

    intro = await (await fake.click(g.alice, offer, "Play with buttons instead")).reply()
    await fake.settle()
    assert not intro.ephemeral and "2 questions" in intro.text()
    (q,) = questions(club, chan)
    assert len(q.buttons()) == 4


# -- stop, channels, silence -------------------------------------------------------------------


async def test_stop_keeps_closed_questions_and_only_starter_or_moderator(club: Club) -> None:
    fake, g, clock, chan = club.fake, club.g, club.clock, club.trivia
    her = PACKS["her"]
    await start(club, g.alice, chan, pack="her", rounds=5)
    q1 = questions(club, chan)[0]
    await fake.click(g.bob, q1, right_label(q1, her))
    await clock.advance(SECONDS + GAP)
    q2 = questions(club, chan)[1]
    await fake.click(g.carol, q2, right_label(q2, her))  # question 2 is still open: it won't count

    refused = await ephemeral(await club.slash(g.bob, chan, "trivia stop"))
    assert "Only" in refused and f"<@{g.alice.user.id}>" in refused
    assert finals(club, chan) == []

    nothing = await ephemeral(await club.slash(g.alice, g.general, "trivia stop"))
    assert "No trivia game is running in this channel" in nothing

    stopped = await (await club.slash(club.mod, chan, "trivia stop")).reply()
    assert not stopped.ephemeral and "stopped the game" in stopped.text()
    await fake.settle()
    (final,) = finals(club, chan)
    assert f"Stopped by <@{club.mod.user.id}>" in final.text()
    assert f"<@{g.bob.user.id}>: 1,000 points (1 right)" in final.text()
    assert f"<@{g.carol.user.id}>" not in final.text()
    assert all(b.get("disabled") for b in q2.buttons())
    assert len(questions(club, chan)) == 2
    board = await repo.leaderboard(club.bot.store, club.guild_id, "her")
    assert [(r.member_id, r.points) for r in board] == [(g.bob.user.id, 1000)]
    await clock.advance(120)
    assert len(questions(club, chan)) == 2  # nothing more is asked

    # The starter can stop their own game.
    await start(club, g.carol, chan, pack="rocky", rounds=3)
    await (await club.slash(g.carol, chan, "trivia stop")).reply()
    await fake.settle()
    assert f"Stopped by <@{g.carol.user.id}>" in finals(club, chan)[-1].text()


async def test_two_channels_at_once_and_one_game_per_channel(club: Club) -> None:
    fake, g, clock = club.fake, club.g, club.clock
    a, b = club.trivia, g.general
    await start(club, g.alice, a, pack="her", rounds=1)
    await start(club, g.bob, b, pack="best-picture", rounds=1, seconds=30)

    refused = await ephemeral(await club.slash(g.carol, a, "trivia start", pack="rocky"))
    assert "already running in this channel" in refused and f"<@{g.alice.user.id}>" in refused
    await fake.settle()
    assert len(questions(club, a)) == 1 and len(questions(club, b)) == 1

    qa, qb = questions(club, a)[0], questions(club, b)[0]
    await fake.click(g.carol, qa, right_label(qa, PACKS["her"]))
    await fake.click(g.alice, qb, right_label(qb, PACKS["best-picture"]))
    await clock.advance(SECONDS)
    assert len(finals(club, a)) == 1 and finals(club, b) == []  # b has 30 seconds
    await clock.advance(10)
    assert len(finals(club, b)) == 1
    assert f"<@{g.carol.user.id}>" in finals(club, a)[0].text()
    assert f"<@{g.alice.user.id}>" in finals(club, b)[0].text()
    assert f"<@{g.alice.user.id}>" not in finals(club, a)[0].text()
    her = await repo.leaderboard(club.bot.store, club.guild_id, "her")
    bp = await repo.leaderboard(club.bot.store, club.guild_id, "best-picture")
    assert [r.member_id for r in her] == [g.carol.user.id]
    assert [r.member_id for r in bp] == [g.alice.user.id]


async def test_three_unanswered_questions_end_the_game(club: Club) -> None:
    g, clock, chan = club.g, club.clock, club.trivia
    await start(club, g.alice, chan, pack="best-picture", rounds=10)
    for _ in range(3):
        await clock.advance(SECONDS + GAP)
    assert len(questions(club, chan)) == 3
    (final,) = finals(club, chan)
    assert "Nobody answered three questions in a row" in final.text()
    assert "Nobody scored" in final.text()
    await clock.advance(300)
    assert len(questions(club, chan)) == 3
    assert await repo.leaderboard(club.bot.store, club.guild_id) == []


# -- the server's own pack --------------------------------------------------------------------


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_import_good_file_then_bad_file(club: Club) -> None:
    fake, g, chan = club.fake, club.g, club.trivia
    good = fake.attachment("ours.yaml", GOOD_PACK.encode())
    done = await ephemeral(await club.slash(club.mod, chan, "trivia import", file=good))
    assert "Imported 4 questions" in done and "4 new" in done
    assert await repo.count_questions(club.bot.store, club.guild_id) == 4

    bad = fake.attachment("broken.yaml", BAD_PACK.encode())
    error = await ephemeral(await club.slash(club.mod, chan, "trivia import", file=bad))
    assert "broken.yaml" in error and "Line 5" in error and "must be a list" in error
    assert "Nothing was imported" in error
    latin = fake.attachment("latin1.yaml", "Qui a réalisé Amélie ?:\n- Jeunet\n".encode("latin-1"))
    error = await ephemeral(await club.slash(club.mod, chan, "trivia import", file=latin))
    assert "not UTF-8" in error
    huge = fake.attachment("huge.yaml", b"#" * (300 * 1024))
    error = await ephemeral(await club.slash(club.mod, chan, "trivia import", file=huge))
    assert "the limit is 256 KB" in error
    refused = await ephemeral(await club.slash(g.alice, chan, "trivia import", file=good))
    assert "Only moderators" in refused
    assert await repo.count_questions(club.bot.store, club.guild_id) == 4  # nothing changed

    # Importing the same file again updates rather than duplicates.
    again = await ephemeral(await club.slash(club.mod, chan, "trivia import", file=good))
    assert "0 new, 4 updated" in again
    assert await repo.count_questions(club.bot.store, club.guild_id) == 4

    packs = await ephemeral(await club.slash(g.alice, chan, "trivia packs"))
    assert "server · 4 questions" in packs
    for key, pack in PACKS.items():
        assert f"{key} · {len(pack.questions)} questions" in packs
    choices = await fake.autocomplete(g.alice, chan, "trivia start", "pack", "")
    assert "server" in [c["value"] for c in choices]

    # The imported questions can be played.
    await start(club, g.alice, chan, pack="server", rounds=1)
    ours = TriviaPack("server", None, None, [Question(q.question, q.answers) for q in
                                             await repo.list_questions(club.bot.store, club.guild_id)])
    q = questions(club, chan)[0]
    await fake.click(g.bob, q, right_label(q, ours))
    await club.clock.advance(SECONDS)
    assert f"<@{g.bob.user.id}>: 1,000 points" in finals(club, chan)[0].text()
    assert [r.points for r in await repo.leaderboard(club.bot.store, club.guild_id, "server")] == [1000]
    assert_nobody_pinged(club)


async def test_add_question_with_the_modal(club: Club) -> None:
    fake, g, chan = club.fake, club.g, club.trivia
    refused = await ephemeral(await club.slash(g.alice, chan, "trivia add"))
    assert "Only moderators" in refused

    handle = await club.slash(club.mod, chan, "trivia add")
    submitted = await fake.submit_modal(
        club.mod, handle, {"Question": "Who composed the score of Her?", "Answers, one per line (the first is shown)":
                           "Arcade Fire\n\narcade fire\nWin Butler"}
    )
    text = await ephemeral(submitted)
    assert "Added" in text and "Arcade Fire" in text and "1 question" in text
    (stored,) = await repo.list_questions(club.bot.store, club.guild_id)
    assert stored.answers == ("Arcade Fire", "Win Butler")
    assert stored.added_by == club.mod.user.id

    handle = await club.slash(club.mod, chan, "trivia add")
    blank = await fake.submit_modal(
        club.mod, handle, {"Question": "Who edited Her?", "Answers, one per line (the first is shown)": " \n "}
    )
    assert "at least one answer" in await ephemeral(blank)
    assert await repo.count_questions(club.bot.store, club.guild_id) == 1

    # Buttons mode needs enough questions for four choices; typed mode is offered.
    refused = await ephemeral(await club.slash(g.alice, chan, "trivia start", pack="server"))
    assert "at least 4 questions" in refused
    unknown = await ephemeral(await club.slash(g.alice, chan, "trivia start", pack="jaws"))
    assert "no trivia pack called `jaws`" in unknown
    await fake.settle()
    assert questions(club, chan) == []


async def test_leaderboard_pages_and_empty(club: Club) -> None:
    fake, g = club.fake, club.g
    empty = await ephemeral(await club.slash(g.alice, g.general, "trivia leaderboard"))
    assert "No trivia scores yet" in empty
    async with club.bot.store.transaction() as tx:
        await repo.record_results(
            tx, club.guild_id, "her", [repo.MemberResult(1000 + i, 100 * i, i) for i in range(1, 16)], now=1
        )
    board = await (await club.slash(g.alice, g.general, "trivia leaderboard")).reply()
    assert board.text().splitlines()[1].startswith("**1.** <@1015>: 1,500 points")
    assert "**11.**" not in board.text()
    assert [b["label"] for b in board.buttons()] == ["◀ Previous", "1/2", "Next ▶"]
    page2 = await (await fake.click(g.alice, board, "Next ▶")).reply()
    assert "**11.** <@1005>: 500 points" in page2.text()


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_restart_ends_the_game_but_keeps_its_scores(club: Club) -> None:
    fake, g, clock, chan = club.fake, club.g, club.clock, club.trivia
    await start(club, g.alice, chan, pack="her", rounds=5)
    q1 = questions(club, chan)[0]
    await fake.click(g.bob, q1, right_label(q1, PACKS["her"]))
    await clock.advance(SECONDS + GAP)
    await club.restart()
    (final,) = finals(club, chan)
    assert "restarting" in final.text() and f"<@{g.bob.user.id}>: 1,000 points" in final.text()
    board = await repo.leaderboard(club.bot.store, club.guild_id, "her")
    assert [(r.member_id, r.points) for r in board] == [(g.bob.user.id, 1000)]
    # Sessions are in memory: the new bot has none, so the channel is free.
    none = await ephemeral(await club.slash(g.alice, chan, "trivia stop"))
    assert "No trivia game is running" in none
    await start(club, g.alice, chan, pack="her", rounds=1)
    assert len(questions(club, chan)) == 3


async def test_refused_where_the_bot_cannot_post(club: Club) -> None:
    fake, g = club.fake, club.g
    quiet = fake.create_channel(
        g.guild, "quiet", overwrites=[fake.overwrite(fake.bot_role(g.guild), deny=P.SEND_MESSAGES)]
    )
    refused = await ephemeral(await club.slash(g.alice, quiet, "trivia start", pack="her"))
    assert "missing Send Messages" in refused
    await fake.settle()
    assert questions(club, quiet) == []
    # Nothing is left running there.
    assert "No trivia game is running" in await ephemeral(await club.slash(club.mod, quiet, "trivia stop"))


# -- audit: defaults, races, typed-mode hygiene ----------------------------------------------------


async def test_start_defaults_ten_buttons_questions_of_twenty_seconds(club: Club) -> None:
    fake, g, clock, chan = club.fake, club.g, club.clock, club.trivia
    intro = await start(club, g.alice, chan, pack="rocky")
    assert not intro.ephemeral and "10 questions, 20 seconds each" in intro.text()
    assert "Four choices per question" in intro.text()
    (q,) = questions(club, chan)
    assert q.embed is not None and q.embed["title"] == "Question 1/10"
    assert len(q.buttons()) == 4 and len({b["label"] for b in q.buttons()}) == 4
    await clock.advance(SECONDS - 1)
    assert results(club, chan) == []  # still open at 19 s
    await clock.advance(1)
    assert len(results(club, chan)) == 1
    await fake.settle()


async def test_two_starts_at_once_in_one_channel_make_one_game(club: Club) -> None:
    fake, g, chan = club.fake, club.g, club.trivia
    club.bot.trivia.rng = random.Random(3)
    first = await fake.slash(g.alice, chan, "trivia start", pack="her")
    second = await fake.slash(g.bob, chan, "trivia start", pack="rocky")
    replies = [await first.reply(), await second.reply()]
    await fake.settle()
    public = [r for r in replies if not r.ephemeral]
    refused = [r for r in replies if r.ephemeral]
    assert len(public) == 1 and len(refused) == 1
    assert "already running in this channel" in refused[0].text()
    assert len(questions(club, chan)) == 1
    assert_nobody_pinged(club)


async def test_typed_mode_ignores_bots_other_channels_and_threads(
    make_club: Callable[..., Awaitable[Club]],
) -> None:
    club = await make_club(message_content=True)
    fake, g, clock, chan = club.fake, club.g, club.clock, club.trivia
    robot = fake.add_member(g.guild, fake.create_user("quizbot", bot=True), [g.member_role])
    thread = fake.create_thread(g.alice, chan, "side chat")
    await start(club, g.alice, chan, pack="her", rounds=1, mode="typed", seconds=30)
    q = questions(club, chan)[0]
    answer = find_question(q, PACKS["her"]).answer

    await fake.say(robot, chan, answer)  # another bot knows everything: it doesn't play
    await fake.say(g.bob, g.general, answer)  # right answer, wrong channel
    await fake.say(g.carol, thread, answer)  # a thread of the trivia channel is another channel
    await clock.advance(10)
    assert results(club, chan) == []  # still open: none of those counted
    await fake.say(g.alice, chan, answer)
    (result,) = results(club, chan)
    assert f"<@{g.alice.user.id}> (+1,000)" in result.text()
    for outsider in (robot, g.bob, g.carol):
        assert f"<@{outsider.user.id}>" not in result.text()
    await clock.advance(GAP)
    (final,) = finals(club, chan)
    assert f"<@{robot.user.id}>" not in final.text() and f"<@{g.bob.user.id}>" not in final.text()
    board = await repo.leaderboard(club.bot.store, club.guild_id, "her")
    assert [(r.member_id, r.points) for r in board] == [(g.alice.user.id, 1000)]


async def test_stop_refused_for_a_member_who_did_not_start_it(club: Club) -> None:
    fake, g, clock, chan = club.fake, club.g, club.clock, club.trivia
    await start(club, g.alice, chan, pack="rocky", rounds=2)
    refused = await ephemeral(await club.slash(g.carol, chan, "trivia stop"))
    assert f"Only <@{g.alice.user.id}>, who started this game, or a moderator can stop it." == refused
    await clock.advance(SECONDS + GAP)
    assert len(questions(club, chan)) == 2 and finals(club, chan) == []  # the game went on
    await fake.settle()


async def test_leaderboard_pages_belong_to_whoever_asked(club: Club) -> None:
    fake, g = club.fake, club.g
    async with club.bot.store.transaction() as tx:
        await repo.record_results(
            tx, club.guild_id, "rocky", [repo.MemberResult(5000 + i, 10 * i, 1) for i in range(1, 13)], now=1
        )
    board = await (await club.slash(g.alice, g.general, "trivia leaderboard", pack="rocky")).reply()
    first_page = board.text()
    assert "Trivia leaderboard (pack rocky)" in first_page and "**10.**" in first_page
    other = await ephemeral(await fake.click(g.bob, board, "Next ▶"))
    assert "run it yourself" in other
    assert board.text() == first_page  # unchanged
    mine = await (await fake.click(g.alice, board, "Next ▶")).reply()
    assert "**11.** <@5002>: 20 points" in mine.text() and "**12.** <@5001>" in mine.text()
    unknown = await ephemeral(await club.slash(g.alice, g.general, "trivia leaderboard", pack="jaws"))
    assert "no trivia pack called `jaws`" in unknown


# -- audit: imports --------------------------------------------------------------------------------


async def import_error(club: Club, filename: str, data: bytes) -> str:
    text = await ephemeral(await club.slash(club.mod, club.trivia, "trivia import", file=club.fake.attachment(
        filename, data)))
    assert "Nothing was imported" in text or "limit is" in text, text
    return text


async def test_import_refuses_bad_files_and_names_the_line(club: Club) -> None:
    dup = "Who plays Rocky?:\n- Sylvester Stallone\nWho directed Her?:\n- Spike Jonze\nwho plays  ROCKY?:\n- Sly\n"
    text = await import_error(club, "dup.yaml", dup.encode())
    assert "Line 5: the question `who plays ROCKY?` is already asked on line 1." in text

    empty = "Who plays Rocky?:\n- Sylvester Stallone\nWho directed Her?:\n- Spike Jonze\n- ''\n"
    assert "Line 3: `Who directed Her?` has an empty answer." in await import_error(club, "empty.yaml", empty.encode())
    no_answers = "Who plays Rocky?:\n- Stallone\nWho directed Her?: []\n"
    assert "Line 3: `Who directed Her?` needs at least one answer" in await import_error(
        club, "none.yaml", no_answers.encode()
    )

    complex_key = "Who plays Rocky?:\n- Stallone\n? [Who, directed, Her]\n: - Spike Jonze\n"
    assert "Line 3: each question must be plain text." in await import_error(club, "key.yaml", complex_key.encode())
    null_key = "Who plays Rocky?:\n- Stallone\n~:\n- Spike Jonze\n"
    assert "Line 3: a question is empty." in await import_error(club, "null.yaml", null_key.encode())

    # YAML only notices an unclosed quote, or a missing colon, lines later: the error names the line to fix.
    quote = 'Who plays Rocky?:\n- "Stallone\nWho directed Her?:\n- Spike Jonze\n'
    text = await import_error(club, "quote.yaml", quote.encode())
    assert "Line 2: this is not valid YAML: a quote opened on this line is never closed" in text
    colon = "Who plays Rocky?:\n- Stallone\nWho directed Her?\n- Spike Jonze\nWho plays Adrian?:\n- Talia Shire\n"
    text = await import_error(club, "colon.yaml", colon.encode())
    assert "Line 3: this is not valid YAML: this line is neither `question:` nor `- answer`" in text

    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    assert "not UTF-8 text" in await import_error(club, "poster.yaml", png)
    nul = b"Who plays Rocky?:\n- Stal\x00lone\n"
    assert "Line 2: this file contains a character YAML does not allow (U+0000)" in await import_error(
        club, "nul.yaml", nul
    )
    deep = ("Q?: " + "[" * 20_000 + "]" * 20_000 + "\n").encode()
    assert "far too deeply" in await import_error(club, "deep.yaml", deep)
    huge = ("Q?:\n- a\n" * 40_000).encode()
    text = await import_error(club, "huge.yaml", huge)
    assert "the limit is 256 KB" in text and "huge.yaml" in text
    too_many = "".join(f"Question number {i}?:\n- answer {i}\n" for i in range(2001)).encode()
    assert "the limit is 2,000" in await import_error(club, "many.yaml", too_many)
    assert await repo.count_questions(club.bot.store, club.guild_id) == 0  # nothing at all was imported

    # Keys YAML would read as numbers, dates or booleans are kept as the text that was typed.
    odd = "1976:\n- Rocky\n2013-12-18:\n- Her\nyes:\n- No\nWhat is 007?:\n- 007\n"
    done = await ephemeral(await club.slash(club.mod, club.trivia, "trivia import", file=club.fake.attachment(
        "odd.yaml", odd.encode())))
    assert "Imported 4 questions" in done
    stored = await repo.list_questions(club.bot.store, club.guild_id)
    assert [(q.question, q.answers) for q in stored] == [
        ("1976", ("Rocky",)), ("2013-12-18", ("Her",)), ("yes", ("No",)), ("What is 007?", ("007",))
    ]
    assert_nobody_pinged(club)


async def test_buttons_need_four_distinct_answers_typed_still_plays(
    make_club: Callable[..., Awaitable[Club]],
) -> None:
    club = await make_club(message_content=True)
    fake, g, chan = club.fake, club.g, club.trivia
    alike = "".join(f"Which film, clue {i}?:\n- {a}\n" for i, a in enumerate(["Her", "her!", "HER", "Her.", "“her”"]))
    await ephemeral(await club.slash(club.mod, chan, "trivia import", file=fake.attachment("alike.yaml",
                                                                                           alike.encode())))
    refused = await ephemeral(await club.slash(g.alice, chan, "trivia start", pack="server"))
    assert "Buttons mode needs 4 different answers" in refused and "mode: typed" in refused
    await fake.settle()
    assert questions(club, chan) == []
    assert "No trivia game is running" in await ephemeral(await club.slash(g.alice, chan, "trivia stop"))
    intro = await start(club, g.alice, chan, pack="server", mode="typed", rounds=1)
    assert not intro.ephemeral
    await fake.say(g.bob, chan, "HER")
    assert f"<@{g.bob.user.id}> (+1,000)" in results(club, chan)[0].text()


async def test_imported_mentions_and_markdown_never_ping(club: Club) -> None:
    fake, g, clock, chan = club.fake, club.g, club.clock, club.trivia
    role = fake.create_role(g.guild, "Everyone-ish", mentionable=True)
    alice = g.alice.user.id
    pack = (
        f"'@everyone who directed Her? <@{alice}> <@&{role.id}>':\n- '@everyone'\n"
        f"'@here which film has Apollo Creed?':\n- '<@{alice}>'\n"
        f"'**Bold** question, <@&{role.id}>?':\n- '<@&{role.id}>'\n"
        "'Plain one?':\n- '`tick` *star* @here'\n"
    )
    await ephemeral(await club.slash(club.mod, chan, "trivia import", file=fake.attachment("ping.yaml", pack.encode())))
    await start(club, g.alice, chan, pack="server", rounds=4)
    for _ in range(4):
        q = questions(club, chan)[-1]
        labels = [str(b["label"]) for b in q.buttons()]
        assert len(labels) == 4
        await fake.click(g.bob, q, labels[0])
        await clock.advance(SECONDS + GAP)
    assert len(finals(club, chan)) == 1
    texts = " ".join(m.text() for m in fake.bot_messages(chan))
    assert "@everyone" in texts and f"<@&{role.id}>" in texts  # shown as written...
    assert_nobody_pinged(club)  # ...and nobody was pinged


# -- audit: Discord limits -------------------------------------------------------------------------


async def test_a_thousand_character_question_and_long_answers_fit(
    make_club: Callable[..., Awaitable[Club]],
) -> None:
    club = await make_club(message_content=True)
    fake, g, clock, chan = club.fake, club.g, club.clock, club.trivia
    entries = []
    for i, letter in enumerate("ABCDE"):
        question = f"Question {letter} " + ("why " * 300)[: 1000 - 12] + "?"
        answer = f"{letter}{i} " + ("*_`x" * 60)[:197]
        assert len(question) == 1000 and len(answer) == 200
        entries.append((question, answer))
    body = "".join(f"'{q}':\n- '{a}'\n" for q, a in entries)
    await ephemeral(await club.slash(club.mod, chan, "trivia import", file=fake.attachment("long.yaml", body.encode())))
    await start(club, g.alice, chan, pack="server", rounds=1)
    (q,) = questions(club, chan)
    assert q.embed is not None and len(q.embed["description"]) == 1000
    labels = [str(b["label"]) for b in q.buttons()]
    assert len(labels) == 4 and all(len(label) == 80 and label.endswith("…") for label in labels)
    answer = next(a for question, a in entries if question == q.embed["description"])
    right = next(label for label in labels if label[:-1] == answer[:79])
    reply = await ephemeral(await fake.click(g.bob, q, right))
    assert "is right" in reply
    await clock.advance(SECONDS)
    (result,) = results(club, chan)
    assert result.embed is not None and len(result.embed["title"]) <= 256
    assert f"<@{g.bob.user.id}>" in result.text()
    await clock.advance(GAP)

    # Typed mode: the hint of a 200-character answer, and a typed 200-character answer.
    await start(club, g.alice, chan, pack="server", rounds=1, mode="typed")
    q = questions(club, chan)[-1]
    answer = next(a for question, a in entries if q.embed and question == q.embed["description"])
    await clock.advance(SECONDS / 2)
    hint = fake.last_message(chan)
    assert hint is not None and hint.content.startswith("💡 Hint: `") and "`" not in hint.content[10:-1]
    await fake.say(g.carol, chan, answer)
    assert f"<@{g.carol.user.id}> (+1,000)" in results(club, chan)[-1].text()


# -- audit: durability and leftovers -----------------------------------------------------------------


async def test_scores_are_saved_after_every_question(club: Club) -> None:
    fake, g, clock, chan = club.fake, club.g, club.clock, club.trivia
    her = PACKS["her"]
    await start(club, g.alice, chan, pack="her", rounds=3)
    q1 = questions(club, chan)[0]
    await fake.click(g.bob, q1, right_label(q1, her))
    await fake.click(g.carol, q1, wrong_label(q1, her))
    await clock.advance(SECONDS)
    # The game is still on, and question 1 already counts (a crash now would keep it).
    assert finals(club, chan) == []
    board = await repo.leaderboard(club.bot.store, club.guild_id, "her")
    assert [(r.member_id, r.points, r.correct, r.games) for r in board] == [
        (g.bob.user.id, 1000, 1, 1), (g.carol.user.id, 0, 0, 1)
    ]
    await clock.advance(GAP)
    q2 = questions(club, chan)[1]
    await fake.click(g.bob, q2, right_label(q2, her))
    await clock.advance(SECONDS + GAP + SECONDS)
    (final,) = finals(club, chan)
    assert f"<@{g.bob.user.id}>: 2,000 points (2 right)" in final.text()
    board = await repo.leaderboard(club.bot.store, club.guild_id, "her")
    assert [(r.member_id, r.points, r.correct, r.games) for r in board] == [
        (g.bob.user.id, 2000, 2, 1), (g.carol.user.id, 0, 0, 1)  # one game each, not one per question
    ]


async def test_leftover_buttons_of_an_ended_game_say_so(club: Club) -> None:
    fake, g, clock, chan = club.fake, club.g, club.clock, club.trivia
    await start(club, g.alice, chan, pack="rocky", rounds=1)
    (q,) = questions(club, chan)
    fake.inject("PATCH", rf"/channels/{chan.id}/messages/{q.id}$", 503)  # closing the buttons fails
    await clock.advance(SECONDS)
    assert len(finals(club, chan)) == 1
    assert not any(b.get("disabled") for b in q.buttons())  # still clickable on Discord
    text = await ephemeral(await fake.click(g.bob, q, str(q.buttons()[0]["label"])))
    assert "This trivia question is closed: its game has ended" in text
    assert [r.member_id for r in await repo.leaderboard(club.bot.store, club.guild_id)] == []


async def test_a_deleted_channel_ends_its_game_and_frees_it(club: Club) -> None:
    fake, g, clock = club.fake, club.g, club.clock
    side = fake.create_channel(g.guild, "side-trivia")
    await start(club, g.alice, side, pack="her", rounds=5)
    q1 = questions(club, side)[0]
    await fake.click(g.bob, q1, right_label(q1, PACKS["her"]))
    fake.delete_channel(side)
    await clock.advance(SECONDS + GAP + SECONDS)
    cog: Any = club.bot.trivia
    assert cog.sessions == {}
    board = await repo.leaderboard(club.bot.store, club.guild_id, "her")
    assert [(r.member_id, r.points) for r in board] == [(g.bob.user.id, 1000)]
    await club.clock.advance(120)
    assert len(questions(club, side)) == 1  # nothing more was tried
    notice = fake.last_message(g.announcements)
    assert notice is not None and f"trivia game in <#{side.id}> ended early because the channel" in notice.text()
    assert not notice.pings_anyone


async def test_losing_send_permission_mid_game_ends_it_and_tells_moderators(club: Club) -> None:
    fake, g, clock, chan = club.fake, club.g, club.clock, club.trivia
    await start(club, g.alice, chan, pack="her", rounds=3)
    q1 = questions(club, chan)[0]
    await fake.click(g.bob, q1, right_label(q1, PACKS["her"]))
    fake.set_overwrites(chan, [fake.overwrite(fake.bot_role(g.guild), deny=P.SEND_MESSAGES)])
    await clock.advance(SECONDS + GAP)
    cog: Any = club.bot.trivia
    assert cog.sessions == {}
    notice = fake.last_message(g.announcements)
    assert notice is not None and "I'm no longer allowed to post there" in notice.text()
    assert [(r.member_id, r.points) for r in await repo.leaderboard(club.bot.store, club.guild_id, "her")] == [
        (g.bob.user.id, 1000)
    ]
    # Once it can post again, a new game starts there.
    fake.set_overwrites(chan, [])
    assert not (await start(club, g.carol, chan, pack="rocky", rounds=1)).ephemeral


async def test_games_per_member_and_server_are_limited_and_members_post_only_where_they_may(club: Club) -> None:
    g = club.g
    await start(club, g.alice, club.trivia, pack="her", rounds=5)
    refused = await ephemeral(await club.slash(g.alice, g.general, "trivia start", pack="rocky"))
    assert "You already have a trivia game running" in refused and f"<#{club.trivia.id}>" in refused
    await start(club, g.bob, g.general, pack="rocky", rounds=5)
    await start(club, g.carol, g.screenings, pack="best-picture", rounds=5)
    refused = await ephemeral(await club.slash(g.admin, club.polls, "trivia start", pack="her"))
    assert "already has 3 trivia games running" in refused
    posted = [m for m in club.fake.messages_in(club.polls) if m.author.id == club.fake.bot_user.id]
    assert not [m for m in posted if not m.ephemeral]
    # A read-only channel: members may not post there, so the bot does not post there for them.
    for command, options in (("trivia start", {"pack": "her"}), ("spreadsheet view", {}),
                             ("ratings board", {}), ("installment list", {}), ("trivia leaderboard", {})):
        refused = await ephemeral(await club.slash(g.bob, g.announcements, command, **options))
        assert "You can't post in this channel" in refused, (command, refused)
    assert not [m for m in club.fake.messages_in(g.announcements) if not m.ephemeral and "Trivia" in m.text()]


async def test_a_forged_click_from_another_server_scores_nothing(club: Club) -> None:
    fake, g = club.fake, club.g
    other = fake.standard_guild("Someone Else's Server")
    await start(club, g.alice, club.trivia, pack="her", rounds=2)
    [question] = questions(club, club.trivia)
    right = right_label(question, PACKS["her"])
    button = next(b for b in question.buttons() if b["label"] == right)
    data = {"custom_id": button["custom_id"], "component_type": 2}
    forged = fake._interaction(3, other.alice, other.general, data, message=question, name=button["custom_id"])
    fake._send_interaction(forged)
    refused = await ephemeral(forged)
    assert "belongs to a trivia game in another channel" in refused
    await club.clock.advance(60)
    rows = await club.bot.store.fetchall("SELECT member_id FROM trivia_scores")
    assert int(other.alice.user.id) not in {int(r["member_id"]) for r in rows}
