"""One running trivia game in one channel: asks the questions, takes answers, keeps time.

Sessions live in memory only (a restart ends them); each closed question's points are written to
the store at once (one transaction per question), so a crash loses at most the open question.
Choice buttons are ``DynamicItem``s named by the session's token, so a leftover button of a game
that is gone still gets a clear answer. All waiting goes through ``bot.clock`` so tests can drive it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord

from bot.domain.trivia import AlreadyAnswered, QuestionResult, RoundQuestion, TriviaError, TriviaGame
from bot.errors import UserError
from bot.handlers import guarded
from bot.render import CLUB_COLOUR, clip, plural
from db import trivia as repo
from db.store import StoreError

if TYPE_CHECKING:
    from bot.app import FilmClubBot

log = logging.getLogger(__name__)

GAP_SECONDS = 3.0
"""Pause between a question's result and the next question."""
NO_PINGS = discord.AllowedMentions.none()
RIGHT_COLOUR = discord.Colour(0x2ECC71)
MISSED_COLOUR = discord.Colour(0x95A5A6)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


WINNERS_SHOWN = 40
"""Result embeds name at most this many winners (then "and N more"), well inside 4,096 characters."""


def winners_text(awarded: Sequence[tuple[int, int]]) -> str:
    shown = ", ".join(f"<@{user}> (+{points:,})" for user, points in awarded[:WINNERS_SHOWN])
    extra = len(awarded) - WINNERS_SHOWN
    return f"{shown} and {plural(extra, 'more member')}" if extra > 0 else shown


class ChoiceButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"trivia:(?P<token>\d+):(?P<number>\d+):(?P<index>\d+)",
):
    """One choice of a buttons-mode question: ``trivia:<session token>:<question number>:<index>``.

    A ``DynamicItem`` so a click on a question left over from a game that ended without tidying
    up (a crash, a refused edit) still gets a clear answer instead of "This interaction failed".
    """

    def __init__(self, token: int, number: int, index: int, label: str = "?", *, disabled: bool = False,
                 right: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=clip(label, 80),
                style=discord.ButtonStyle.success if right else discord.ButtonStyle.secondary,
                custom_id=f"trivia:{token}:{number}:{index}",
                disabled=disabled,
            )
        )
        self.token = token
        self.number = number
        self.index = index

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ChoiceButton:
        return cls(int(match["token"]), int(match["number"]), int(match["index"]))

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        client: FilmClubBot = interaction.client
        session = client.trivia.session_by_token(self.token)
        if session is None:
            raise UserError(
                "This trivia question is closed: its game has ended. Start a new one with `/trivia start`."
            )
        if interaction.channel_id != session.channel_id or interaction.guild_id != session.guild_id:
            # Discord only sends a click from the message's own channel; a forged one from elsewhere scores nothing.
            raise UserError("This button belongs to a trivia game in another channel. Nothing was counted.")
        await session.on_click(interaction, self.number, self.index)


def question_view(token: int, question: RoundQuestion, *, closed: bool = False) -> discord.ui.View:
    """The choices of one question; once ``closed``, all disabled and the right one green."""
    assert question.choices is not None
    view = discord.ui.View(timeout=None)
    for i, label in enumerate(question.choices):
        view.add_item(
            ChoiceButton(token, question.number, i, label, disabled=closed,
                         right=closed and i == question.correct_index)
        )
    return view


class TriviaSession:
    """A game in a channel. ``run()`` is the loop; the cog feeds it clicks, messages and stops."""

    def __init__(
        self,
        bot: FilmClubBot,
        *,
        token: int,
        channel: discord.abc.Messageable,
        channel_id: int,
        guild_id: int,
        starter_id: int,
        pack_key: str,
        game: TriviaGame,
        on_end: Callable[[TriviaSession], Awaitable[None] | None] | None = None,
    ) -> None:
        self.token = token
        """Unique across restarts (the id of the /trivia start interaction): it names the buttons."""
        self.bot = bot
        self.channel = channel
        self.channel_id = channel_id
        self.guild_id = guild_id
        self.starter_id = starter_id
        self.pack_key = pack_key
        self.game = game
        self.on_end = on_end
        self.started_at: datetime = bot.clock.now()
        self.asked_at: datetime = self.started_at
        self.stopped_by: int | None = None
        self.shutting_down = False
        self.save_failed = False
        self._counted: set[int] = set()
        """Members whose game this session already added to their `games` count."""
        self.task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    # -- inputs ---------------------------------------------------------------------------

    def elapsed(self) -> float:
        return (self.bot.clock.now() - self.asked_at).total_seconds()

    def stop(self, by: int | None) -> None:
        """End the game after the current step; closed questions keep their points."""
        if self.game.is_over:
            return
        self.stopped_by = by
        self.shutting_down = by is None
        self.game.stop()
        self._wake.set()

    def on_message(self, message: discord.Message) -> bool:
        """A chat message in the channel (typed mode). True if it won the question."""
        if self.game.mode != "typed" or not self.game.is_open:
            return False
        won = self.game.answer_typed(message.author.id, message.content, self.elapsed())
        if won:
            self._wake.set()
        return won

    async def on_click(self, interaction: discord.Interaction[Any], number: int, index: int) -> None:
        current = self.game.current
        if current is None or current.number != number or not self.game.is_open:
            raise UserError("Too late: this question is closed.")
        if current.choices is None or not 0 <= index < len(current.choices):
            raise UserError("That choice is not one of the options; pick one of the buttons under the question.")
        label = current.choices[index]
        try:
            result = self.game.answer_button(interaction.user.id, index, self.elapsed())
        except AlreadyAnswered as exc:
            raise UserError("You already answered this question; one pick per question.") from exc
        except TriviaError as exc:
            raise UserError(exc.message) from exc
        if result.correct:
            text = f"✅ **{discord.utils.escape_markdown(label)}** is right: +{result.points:,} points."
        else:
            text = (
                f"❌ Not **{discord.utils.escape_markdown(label)}**, sorry. "
                "The answer is shown when time is up."
            )
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)

    # -- waiting --------------------------------------------------------------------------

    async def _wait_until(self, when: datetime) -> bool:
        """Wait on the bot clock until ``when`` or until woken. True if woken."""
        if self._wake.is_set():
            return True
        sleeper = asyncio.ensure_future(self.bot.scheduler.sleep_until(when))  # the one timer: APScheduler
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                if not task.done():
                    task.cancel()
        return self._wake.is_set()

    # -- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            while not self.game.is_over:
                await self._play_question()
                if self.game.is_over:
                    break
                self._wake.clear()  # a typed win woke us; only a stop should cut the pause short
                await self._wait_until(self.bot.clock.now() + timedelta(seconds=GAP_SECONDS))
        except discord.HTTPException as exc:
            log.warning("trivia in channel %s ended: Discord refused a message: %s", self.channel_id, exc)
            self.game.stop()
            await self._tell_moderators(exc)
        finally:
            try:
                await self._finish()
            finally:
                if self.on_end is not None:
                    maybe = self.on_end(self)
                    if maybe is not None:
                        await maybe

    async def _tell_moderators(self, exc: discord.HTTPException) -> None:
        """The channel went away or the bot lost its permissions there: say so where moderators look."""
        if isinstance(exc, discord.NotFound):
            why = "the channel (or thread) was deleted"
        elif isinstance(exc, discord.Forbidden):
            why = "I'm no longer allowed to post there (check Send Messages and Embed Links for my role)"
        else:
            why = "Discord refused my messages there"
        try:
            await self.bot.tell_moderators(
                self.guild_id,
                f"⚠️ Moderators: the trivia game in <#{self.channel_id}> ended early because {why}. "
                "Scores from the questions already played are kept.",
                key=f"trivia:{self.token}:refused",
            )
        except StoreError as err:
            log.warning("could not tell moderators about trivia in %s: %s", self.channel_id, err)

    async def _play_question(self) -> None:
        self._wake.clear()
        question = self.game.next_question()
        self.asked_at = self.bot.clock.now()
        deadline = self.asked_at + timedelta(seconds=self.game.seconds)
        embed = self._question_embed(question)
        if self.game.mode == "buttons":
            view = question_view(self.token, question)
            message = await self.channel.send(embed=embed, view=view, allowed_mentions=NO_PINGS)
            await self._wait_until(deadline)
            result = None if self.game.is_over else self.game.close_question()
            try:
                await message.edit(view=question_view(self.token, question, closed=True))
            except discord.HTTPException as exc:
                log.info("could not close the buttons of question %s: %s", question.number, exc)
        else:
            await self.channel.send(embed=embed, allowed_mentions=NO_PINGS)
            halfway = self.asked_at + timedelta(seconds=self.game.seconds / 2)
            woken = await self._wait_until(halfway)
            if not woken and self.game.is_open:
                shown = question.hint.replace("`", "'")
                await self.channel.send(f"💡 Hint: `{shown}`", allowed_mentions=NO_PINGS)
                woken = await self._wait_until(deadline)
            result = None if self.game.is_over else self.game.close_question()
        if result is not None:
            await self._save(result)
            await self.channel.send(embed=self._result_embed(result), allowed_mentions=NO_PINGS)

    # -- the end --------------------------------------------------------------------------

    def results(self) -> list[repo.MemberResult]:
        correct: dict[int, int] = {}
        for past in self.game.history:
            for user_id in past.winners:
                correct[user_id] = correct.get(user_id, 0) + 1
        return [
            repo.MemberResult(member_id=user_id, points=points, correct=correct.get(user_id, 0))
            for user_id, points in self.game.standings()
        ]

    async def _save(self, result: QuestionResult) -> None:
        """Add one closed question's points to the leaderboard right away (a crash keeps them)."""
        points = dict.fromkeys(result.answered_by, 0)
        for user_id, gained in result.awarded:
            points[user_id] = points.get(user_id, 0) + gained
        winners = set(result.winners)
        rows = [
            repo.MemberResult(
                member_id=user_id,
                points=gained,
                correct=1 if user_id in winners else 0,
                games=0 if user_id in self._counted else 1,
            )
            for user_id, gained in points.items()
        ]
        if not rows:
            return
        try:
            async with self.bot.store.transaction() as tx:
                await repo.record_results(tx, self.guild_id, self.pack_key, rows, self.bot.now_ts())
        except StoreError as exc:
            log.error("could not save trivia scores for channel %s: %s", self.channel_id, exc)
            self.save_failed = True
            return
        self._counted.update(points)

    async def _finish(self) -> None:
        results = self.results()
        embed = self._final_embed(results)
        if self.save_failed:
            embed.description = (embed.description or "") + (
                "\n⚠️ I couldn't save some of these scores: the bot's storage was unavailable."
            )
        try:
            await self.channel.send(embed=embed, allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            log.warning("could not post final trivia standings in %s: %s", self.channel_id, exc)

    # -- rendering ------------------------------------------------------------------------

    def _question_embed(self, question: RoundQuestion) -> discord.Embed:
        seconds = f"{self.game.seconds:g}"
        if self.game.mode == "buttons":
            how = f"Pick an answer within {seconds} seconds; faster right answers score more."
        else:
            how = f"Type your answer in this channel within {seconds} seconds; the first right answer scores."
        embed = discord.Embed(
            title=f"Question {question.number}/{question.total}",
            description=clip(question.question.text, 4000),
            colour=CLUB_COLOUR,
        )
        embed.set_footer(text=f"{self.pack_key} · {how}")
        return embed

    def _result_embed(self, result: QuestionResult) -> discord.Embed:
        answer = discord.utils.escape_markdown(result.answer)
        if result.awarded:
            embed = discord.Embed(
                title=f"Question {result.number}: the answer was {clip(result.answer, 200)}",
                colour=RIGHT_COLOUR,
            )
            embed.description = f"**{answer}**\nGot it: {winners_text(result.awarded)}"
        else:
            embed = discord.Embed(
                title=f"Question {result.number}: time's up", colour=MISSED_COLOUR,
            )
            tried = "Nobody answered." if not result.anybody_answered else "Nobody got it."
            embed.description = f"The answer was **{answer}**.\n{tried}"
        return embed

    def _final_embed(self, results: list[repo.MemberResult]) -> discord.Embed:
        reason = self.game.end_reason
        if self.shutting_down:
            why = "The bot is restarting, so the game ended early."
        elif reason == "stopped":
            why = f"Stopped by <@{self.stopped_by}>." if self.stopped_by else "The game was stopped."
        elif reason == "silence":
            why = "Nobody answered three questions in a row, so the game ended."
        else:
            why = f"That was the last of {plural(self.game.rounds, 'question')}."
        lines = [why, ""]
        medals = {0: "🥇", 1: "🥈", 2: "🥉"}
        for place, result in enumerate(results[:20]):
            mark = medals.get(place, f"{place + 1}.")
            lines.append(
                f"{mark} <@{result.member_id}>: {plural(result.points, 'point')} "
                f"({result.correct} right)"
            )
        if not results:
            lines.append("Nobody scored this time.")
        elif len(results) > 20:
            lines.append(f"…and {len(results) - 20} more.")
        if results:
            lines.append("")
            lines.append("Scores are added to `/trivia leaderboard`.")
        return discord.Embed(
            title=f"Trivia over: final standings ({self.pack_key})",
            description="\n".join(lines),
            colour=CLUB_COLOUR,
        )
