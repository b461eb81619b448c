"""What trivia looks like outside a running game: the intro, the packs, the leaderboard, the add modal and
the offer to play with buttons. (A running game's questions and buttons are drawn in ``session.py``.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import discord

from bot.checks import require_guild, require_moderator
from bot.domain.trivia import MAX_QUESTION_LENGTH, TriviaPack, check_question
from bot.errors import UserError
from bot.render import CLUB_COLOUR, clip, plural
from bot.ui import FilmClubModal, FilmClubView
from cogs.trivia.service import pack_title
from cogs.trivia.session import NO_PINGS, TriviaSession
from db.trivia import SERVER_PACK, ScoreRow

if TYPE_CHECKING:
    from bot.app import FilmClubBot

BOARD_PAGE = 10


class PlayWithButtons(FilmClubView):
    """Offered when typed mode is asked for but the bot can't read messages."""

    def __init__(self, owner_id: int, start: Callable[[discord.Interaction[Any]], Awaitable[None]]) -> None:
        super().__init__(timeout=300)
        self.owner_id = owner_id
        self.start = start

    @discord.ui.button(label="Play with buttons instead", style=discord.ButtonStyle.primary)
    async def buttons(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        if interaction.user.id != self.owner_id:
            raise UserError("Only the member who asked can use this button; run `/trivia start` yourself.")
        await self.start(interaction)
        self.stop()  # only once the game started: after an error (a game already running) it can be retried


class AddQuestionModal(FilmClubModal, title="Add a trivia question"):
    question: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Question",
        style=discord.TextStyle.paragraph,
        placeholder="Who wrote and directed Her?",
        max_length=MAX_QUESTION_LENGTH,
    )
    answers: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Answers, one per line (the first is shown)",
        style=discord.TextStyle.paragraph,
        placeholder="Spike Jonze\nJonze",
        max_length=2000,
    )

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await require_moderator(interaction)  # checked again: the modal may be submitted long after it opened
        guild_id = require_guild(interaction)
        question, answers = check_question(self.question.value, self.answers.value)
        client: FilmClubBot = interaction.client
        fresh, total = await client.trivia.add_questions(guild_id, [(question, answers)], interaction.user.id)
        verb = "Added" if fresh else "Updated the answers of"
        await interaction.response.send_message(
            f"{verb} “{discord.utils.escape_markdown(clip(question, 100))}” "
            f"(answer: **{discord.utils.escape_markdown(answers[0])}**). "
            f"This server's pack now has {plural(total, 'question')}; play it with `/trivia start pack: server`.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )


def intro_embed(session: TriviaSession) -> discord.Embed:
    game = session.game
    if game.mode == "buttons":
        how = (
            "Four choices per question, one pick each. Every right answer scores, "
            "and faster answers score more (1,000 down to 500)."
        )
    else:
        how = "Type answers in this channel. The first right answer takes 1,000 points; a hint comes at half time."
    return discord.Embed(
        title=f"🎬 Trivia: {pack_title(session.pack_key)}",
        description=(
            f"<@{session.starter_id}> started a game of {plural(game.rounds, 'question')}, "
            f"{game.seconds:g} seconds each.\n{how}\n"
            "Three questions in a row with no answers end the game; the starter or a moderator "
            "can end it with `/trivia stop`."
        ),
        colour=CLUB_COLOUR,
    )


def packs_embed(shipped: dict[str, TriviaPack], server_count: int) -> discord.Embed:
    embed = discord.Embed(title="Trivia packs", colour=CLUB_COLOUR)
    for key, pack in shipped.items():
        embed.add_field(
            name=f"{key} · {plural(len(pack.questions), 'question')}",
            value=clip(pack.description or "No description.", 1000),
            inline=False,
        )
    embed.add_field(
        name=f"{SERVER_PACK} · {plural(server_count, 'question')}",
        value=(
            "This server's own questions."
            if server_count
            else "None yet: moderators add questions with `/trivia add` or `/trivia import`."
        ),
        inline=False,
    )
    embed.set_footer(text="Start one with /trivia start pack: <name>")
    return embed


def leaderboard_pages(rows: Sequence[ScoreRow], scope: str) -> list[discord.Embed]:
    pages: list[discord.Embed] = []
    for start in range(0, len(rows), BOARD_PAGE):
        lines = [
            f"**{start + i + 1}.** <@{row.member_id}>: {plural(row.points, 'point')} · "
            f"{row.correct} right · {plural(row.games, 'game')}"
            for i, row in enumerate(rows[start : start + BOARD_PAGE])
        ]
        pages.append(
            discord.Embed(title=f"Trivia leaderboard ({scope})", description="\n".join(lines), colour=CLUB_COLOUR)
        )
    return pages
