"""Movie trivia: `/trivia start|stop|packs|leaderboard|add|import`.

Thin glue over ``bot.domain.trivia`` (packs, matching, choices, the game) and ``db.trivia``
(scores, the server's own pack). The running game itself lives in ``cogs.trivia.session``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import is_moderator, moderator_only, require_guild, require_member_can_post, require_moderator
from bot.domain.trivia import (
    MAX_ANSWER_LENGTH,
    MAX_QUESTION_LENGTH,
    MAX_ROUNDS,
    MAX_SECONDS,
    MIN_ROUNDS,
    MIN_SECONDS,
    PackError,
    Question,
    TriviaError,
    TriviaGame,
    TriviaPack,
    load_shipped_packs,
    normalize_answer,
    parse_pack,
)
from bot.errors import UserError
from bot.render import CLUB_COLOUR, clip, missing_permissions
from bot.ui import FilmClubModal, FilmClubView, Paginator
from cogs.trivia.session import NO_PINGS, ChoiceButton, TriviaSession, plural
from db import trivia as repo
from db.trivia import SERVER_PACK

log = logging.getLogger(__name__)

# Games at once: one per member, three per server (each posts a question every few seconds for minutes).
MAX_GAMES_PER_MEMBER = 1
MAX_GAMES_PER_SERVER = 3
MAX_IMPORT_BYTES = 256 * 1024
MAX_SERVER_QUESTIONS = 2000
MAX_ANSWERS = 20
BOARD_PAGE = 10
MIN_BUTTON_QUESTIONS = 4
NEEDS = ("view_channel", "send_messages", "embed_links")
THREAD_NEEDS = ("view_channel", "send_messages_in_threads", "embed_links")

Mode = Literal["buttons", "typed"]


def make_rng() -> random.Random:
    """The randomness of a new game. Tests patch this (or set ``bot.trivia_rng``) for fixed choices."""
    return random.Random()


def pack_title(key: str) -> str:
    return "this server's own pack" if key == SERVER_PACK else key


class PlayWithButtons(FilmClubView):
    """Offered when typed mode is asked for but the bot can't read messages."""

    def __init__(self, cog: Trivia, owner_id: int, pack: str, rounds: int, seconds: float) -> None:
        super().__init__(timeout=300)
        self.cog = cog
        self.owner_id = owner_id
        self.pack = pack
        self.rounds = rounds
        self.seconds = seconds

    @discord.ui.button(label="Play with buttons instead", style=discord.ButtonStyle.primary)
    async def buttons(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        if interaction.user.id != self.owner_id:
            raise UserError("Only the member who asked can use this button; run `/trivia start` yourself.")
        await self.cog.start_session(interaction, self.pack, self.rounds, "buttons", self.seconds)
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

    def __init__(self, cog: Trivia) -> None:
        super().__init__()
        self.cog = cog

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await require_moderator(interaction)
        guild_id = require_guild(interaction)
        question, answers = check_question(self.question.value, self.answers.value)
        bot = self.cog.bot
        async with bot.store.transaction() as tx:
            count = await repo.count_questions(tx, guild_id)
            known = await repo.existing_keys(tx, guild_id, [repo.question_key(question)])
            if not known and count >= MAX_SERVER_QUESTIONS:
                raise UserError(
                    f"This server's pack is full ({MAX_SERVER_QUESTIONS:,} questions). "
                    "That's a lot of trivia; nothing was added."
                )
            new = await repo.upsert_question(tx, guild_id, question, answers, interaction.user.id, bot.now_ts())
            total = await repo.count_questions(tx, guild_id)
        verb = "Added" if new else "Updated the answers of"
        await interaction.response.send_message(
            f"{verb} “{discord.utils.escape_markdown(clip(question, 100))}” "
            f"(answer: **{discord.utils.escape_markdown(answers[0])}**). "
            f"This server's pack now has {plural(total, 'question')}; play it with `/trivia start pack: server`.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )


def check_question(question_text: str, answers_text: str) -> tuple[str, list[str]]:
    """Validate what a moderator typed into the add modal."""
    question = " ".join(question_text.split())
    if not question:
        raise UserError("The question is empty. Type a question, then its answers one per line.")
    if len(question) > MAX_QUESTION_LENGTH:
        raise UserError(f"The question is too long: the limit is {MAX_QUESTION_LENGTH:,} characters.")
    answers: list[str] = []
    seen: set[str] = set()
    for line in answers_text.splitlines():
        answer = line.strip()
        if not answer:
            continue
        if len(answer) > MAX_ANSWER_LENGTH:
            raise UserError(
                f"The answer `{clip(answer, 40)}` is too long: the limit is {MAX_ANSWER_LENGTH} characters."
            )
        norm = normalize_answer(answer)
        if not norm:
            raise UserError(f"The answer `{clip(answer, 40)}` has no letters or digits; nobody could type it.")
        if norm in seen:
            continue
        seen.add(norm)
        answers.append(answer)
    if not answers:
        raise UserError("Give at least one answer (one per line; the first is the one shown).")
    if len(answers) > MAX_ANSWERS:
        raise UserError(f"That's {len(answers)} answers; keep it to {MAX_ANSWERS} per question.")
    return question, answers


class Trivia(commands.Cog):
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        self.shipped: dict[str, TriviaPack] = load_shipped_packs()
        self.sessions: dict[int, TriviaSession] = {}

    async def cog_load(self) -> None:
        # Choice buttons answer even when their game is gone (after a crash or a refused edit).
        self.bot.add_dynamic_items(ChoiceButton)

    def session_by_token(self, token: int) -> TriviaSession | None:
        return next((s for s in self.sessions.values() if s.token == token), None)

    async def cog_unload(self) -> None:
        """A restart ends running games; their finished questions still count."""
        sessions = list(self.sessions.values())
        for session in sessions:
            session.stop(None)
        tasks = [s.task for s in sessions if s.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=10)
            for task in pending:
                task.cancel()
        self.bot.remove_dynamic_items(ChoiceButton)

    def rng(self) -> random.Random:
        injected = getattr(self.bot, "trivia_rng", None)
        return injected if isinstance(injected, random.Random) else make_rng()

    trivia = app_commands.Group(name="trivia", description="Movie trivia games", guild_only=True)

    # -- packs ----------------------------------------------------------------------------

    async def server_pack(self, guild_id: int) -> TriviaPack:
        rows = await repo.list_questions_bulk(self.bot.store, guild_id)
        return TriviaPack(
            name=SERVER_PACK,
            author=None,
            description="Questions this server added with /trivia add and /trivia import.",
            questions=[Question(text=r.question, answers=r.answers) for r in rows],
        )

    async def resolve_pack(self, guild_id: int, name: str) -> tuple[str, TriviaPack]:
        key = name.strip().lower()
        if key in self.shipped:
            return key, self.shipped[key]
        if key in (SERVER_PACK, "custom", "own", "this server"):
            pack = await self.server_pack(guild_id)
            if not pack.questions:
                raise UserError(
                    "This server has no questions of its own yet. A moderator can add some with "
                    "`/trivia add` or `/trivia import`."
                )
            return SERVER_PACK, pack
        known = ", ".join(f"`{k}`" for k in [*self.shipped, SERVER_PACK])
        raise UserError(f"There's no trivia pack called `{clip(name, 40)}`. Pick one of {known}.")

    async def pack_choices(self, interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
        options = [(key, len(pack.questions)) for key, pack in self.shipped.items()]
        if interaction.guild_id is not None:
            count = await repo.count_questions(self.bot.store, interaction.guild_id)
            if count:
                options.append((SERVER_PACK, count))
        needle = current.strip().lower()
        return [
            app_commands.Choice(name=f"{key} ({plural(n, 'question')})", value=key)
            for key, n in options
            if needle in key
        ][:25]

    # -- start / stop ---------------------------------------------------------------------

    @trivia.command(name="start", description="Start a trivia game in this channel")
    @app_commands.describe(
        pack="Which questions (see /trivia packs)",
        rounds="How many questions (default 10)",
        mode="buttons: pick one of four; typed: the first to type the answer scores",
        seconds="Seconds per question (default 20)",
    )
    async def start(
        self,
        interaction: discord.Interaction[FilmClubBot],
        pack: str,
        rounds: app_commands.Range[int, MIN_ROUNDS, MAX_ROUNDS] = 10,
        mode: Mode = "buttons",
        seconds: app_commands.Range[int, int(MIN_SECONDS), int(MAX_SECONDS)] = 20,
    ) -> None:
        if mode == "typed" and not (self.bot.config.message_content and self.bot.intents.message_content):
            await interaction.response.send_message(
                "Typed mode needs me to read messages, and this bot runs without the message-content "
                "intent (the host can turn it on with `FILMCLUB_MESSAGE_CONTENT=1` and the switch in the "
                "Discord developer portal). Buttons mode works right now:",
                view=PlayWithButtons(self, interaction.user.id, pack, rounds, seconds),
                ephemeral=True,
            )
            return
        await self.start_session(interaction, pack, rounds, mode, seconds)

    @start.autocomplete("pack")
    async def start_pack_autocomplete(
        self, interaction: discord.Interaction[FilmClubBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self.pack_choices(interaction, current)

    def refuse_if_running(self, channel_id: int, guild_id: int, member_id: int) -> None:
        running = self.sessions.get(channel_id)
        if running is not None:
            raise UserError(
                f"A trivia game is already running in this channel (started by <@{running.starter_id}>). "
                "Play along, wait for it to end, or start one in another channel."
            )
        mine = [s for s in self.sessions.values() if s.starter_id == member_id and s.guild_id == guild_id]
        if len(mine) >= MAX_GAMES_PER_MEMBER:
            raise UserError(
                f"You already have a trivia game running in <#{mine[0].channel_id}>. Finish it (or `/trivia stop` "
                "there) before starting another."
            )
        here = sum(1 for s in self.sessions.values() if s.guild_id == guild_id)
        if here >= MAX_GAMES_PER_SERVER:
            raise UserError(
                f"This server already has {here} trivia games running, the most at once. Join one, or start yours "
                "when one ends."
            )

    async def start_session(
        self, interaction: discord.Interaction[Any], pack_name: str, rounds: int, mode: Mode, seconds: float
    ) -> None:
        guild_id = require_guild(interaction)
        require_member_can_post(interaction)
        channel = interaction.channel
        channel_id = interaction.channel_id
        if channel is None or channel_id is None or not isinstance(channel, discord.abc.Messageable):
            raise UserError("I can't run a game here; try a text channel.")
        self.refuse_if_running(channel_id, guild_id, interaction.user.id)
        needs = THREAD_NEEDS if isinstance(channel, discord.Thread) else NEEDS
        lacking = missing_permissions(interaction.app_permissions, needs)
        if lacking:
            raise UserError(
                f"I can't run a game in this channel: I'm missing {', '.join(lacking)}. "
                "A moderator can grant those to my role here."
            )
        key, pack = await self.resolve_pack(guild_id, pack_name)
        if mode == "buttons" and len(pack.questions) < MIN_BUTTON_QUESTIONS:
            raise UserError(
                f"Buttons mode needs at least {MIN_BUTTON_QUESTIONS} questions in the pack to make choices; "
                f"{pack_title(key)} has {len(pack.questions)}. Try `mode: typed`, or add more questions."
            )
        rng = self.rng()
        try:
            # Picking four choices per question is quick for the shipped packs but can take a
            # moment for a server pack of thousands of look-alike answers: keep the loop free.
            game = await self.bot.worker.run(
                TriviaGame, pack, rounds=rounds, mode=mode, seconds=float(seconds), rng=rng
            )
        except TriviaError as exc:
            raise UserError(exc.message) from exc
        self.refuse_if_running(channel_id, guild_id, interaction.user.id)  # again: the lookup and setup awaited
        session = TriviaSession(
            self.bot,
            token=interaction.id,
            channel=channel,
            channel_id=channel_id,
            guild_id=guild_id,
            starter_id=interaction.user.id,
            pack_key=key,
            game=game,
            on_end=self._ended,
        )
        self.sessions[channel_id] = session
        try:
            await interaction.response.send_message(embed=self.intro_embed(session), allowed_mentions=NO_PINGS)
        except BaseException:
            self.sessions.pop(channel_id, None)
            raise
        session.task = asyncio.create_task(session.run(), name=f"trivia:{channel_id}")

    def intro_embed(self, session: TriviaSession) -> discord.Embed:
        game = session.game
        if game.mode == "buttons":
            how = (
                "Four choices per question, one pick each. Every right answer scores, "
                "and faster answers score more (1,000 down to 500)."
            )
        else:
            how = "Type answers in this channel. The first right answer takes 1,000 points; a hint comes at half time."
        embed = discord.Embed(
            title=f"🎬 Trivia: {pack_title(session.pack_key)}",
            description=(
                f"<@{session.starter_id}> started a game of {plural(game.rounds, 'question')}, "
                f"{game.seconds:g} seconds each.\n{how}\n"
                "Three questions in a row with no answers end the game; the starter or a moderator "
                "can end it with `/trivia stop`."
            ),
            colour=CLUB_COLOUR,
        )
        return embed

    async def _ended(self, session: TriviaSession) -> None:
        if self.sessions.get(session.channel_id) is session:
            del self.sessions[session.channel_id]

    @trivia.command(name="stop", description="End the trivia game in this channel (starter or moderator)")
    async def stop(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        require_guild(interaction)
        session = self.sessions.get(interaction.channel_id or 0)
        if session is None or session.game.is_over:
            raise UserError("No trivia game is running in this channel.")
        if interaction.user.id != session.starter_id and not await is_moderator(interaction):
            raise UserError(
                f"Only <@{session.starter_id}>, who started this game, or a moderator can stop it."
            )
        session.stop(interaction.user.id)
        await interaction.response.send_message(
            f"⏹️ <@{interaction.user.id}> stopped the game. Final standings coming up; "
            "questions already closed keep their points.",
            allowed_mentions=NO_PINGS,
        )

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.guild is None:
            return
        session = self.sessions.get(message.channel.id)
        if session is not None:
            session.on_message(message)

    # -- information ----------------------------------------------------------------------

    @trivia.command(name="packs", description="The trivia packs and how many questions each has")
    async def packs(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        embed = discord.Embed(title="Trivia packs", colour=CLUB_COLOUR)
        for key, pack in self.shipped.items():
            embed.add_field(
                name=f"{key} · {plural(len(pack.questions), 'question')}",
                value=clip(pack.description or "No description.", 1000),
                inline=False,
            )
        count = await repo.count_questions(self.bot.store, guild_id)
        embed.add_field(
            name=f"{SERVER_PACK} · {plural(count, 'question')}",
            value=(
                "This server's own questions."
                if count
                else "None yet: moderators add questions with `/trivia add` or `/trivia import`."
            ),
            inline=False,
        )
        embed.set_footer(text="Start one with /trivia start pack: <name>")
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @trivia.command(name="leaderboard", description="This server's trivia scores")
    @app_commands.describe(pack="Only this pack (all packs added up when left out)")
    async def leaderboard(self, interaction: discord.Interaction[FilmClubBot], pack: str | None = None) -> None:
        guild_id = require_guild(interaction)
        require_member_can_post(interaction)
        key: str | None = None
        if pack is not None and pack.strip():
            key = pack.strip().lower()
            if key not in self.shipped and key != SERVER_PACK:
                known = ", ".join(f"`{k}`" for k in [*self.shipped, SERVER_PACK])
                raise UserError(f"There's no trivia pack called `{clip(pack, 40)}`. Pick one of {known}.")
        rows = await repo.leaderboard(self.bot.store, guild_id, key, limit=500)
        scope = f"pack {key}" if key else "all packs"
        if not rows:
            raise UserError(f"No trivia scores yet for {scope}. Start a game with `/trivia start`.")
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
        if len(pages) == 1:
            await interaction.response.send_message(embed=pages[0], allowed_mentions=NO_PINGS)
        else:
            await interaction.response.send_message(
                embed=pages[0], view=Paginator(pages, interaction.user.id), allowed_mentions=NO_PINGS
            )

    @leaderboard.autocomplete("pack")
    async def leaderboard_pack_autocomplete(
        self, interaction: discord.Interaction[FilmClubBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self.pack_choices(interaction, current)

    # -- the server's own pack ------------------------------------------------------------

    @trivia.command(name="add", description="Moderators: add a question to this server's own pack")
    @moderator_only()
    async def add(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        require_guild(interaction)
        await interaction.response.send_modal(AddQuestionModal(self))

    @trivia.command(name="import", description="Moderators: add questions from a YAML trivia file")
    @app_commands.describe(file="A UTF-8 YAML file: `Question?:` then `- answer` lines (max 256 KB)")
    @moderator_only()
    async def import_(self, interaction: discord.Interaction[FilmClubBot], file: discord.Attachment) -> None:
        guild_id = require_guild(interaction)
        name = discord.utils.escape_markdown(clip(file.filename, 60))
        if file.size > MAX_IMPORT_BYTES:
            raise UserError(
                f"`{name}` is {file.size / 1024:,.0f} KB; the limit is {MAX_IMPORT_BYTES // 1024} KB. "
                "Split it into smaller files."
            )
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            data = await file.read()
        except discord.HTTPException as exc:
            raise UserError(f"I couldn't download `{name}` from Discord; please try again.") from exc
        if len(data) > MAX_IMPORT_BYTES:
            raise UserError(f"`{name}` is larger than {MAX_IMPORT_BYTES // 1024} KB; split it into smaller files.")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UserError(
                f"`{name}` is not UTF-8 text. Save it as UTF-8 (most editors offer this under "
                "“Save as” / “Encoding”) and import it again. Nothing was imported."
            ) from exc
        try:
            parsed = await self.bot.worker.run(parse_pack, text, SERVER_PACK)  # up to a second for 256 KB
        except PackError as exc:
            raise UserError(f"I couldn't import `{name}`. {exc.message} Nothing was imported.") from exc
        now = self.bot.now_ts()
        async with self.bot.store.transaction() as tx:
            keys = [repo.question_key(q.text) for q in parsed.questions]
            known = await repo.existing_keys(tx, guild_id, keys)
            before = await repo.count_questions(tx, guild_id)
            fresh = len(set(keys) - known)
            if before + fresh > MAX_SERVER_QUESTIONS:
                raise UserError(
                    f"That would give this server's pack {before + fresh:,} questions; the limit is "
                    f"{MAX_SERVER_QUESTIONS:,}. Nothing was imported."
                )
            for q in parsed.questions:
                await repo.upsert_question(tx, guild_id, q.text, list(q.answers), interaction.user.id, now)
            total = await repo.count_questions(tx, guild_id)
        updated = len(parsed.questions) - fresh
        extra = f", {updated} updated" if updated else ""
        await interaction.followup.send(
            f"Imported {plural(len(parsed.questions), 'question')} from `{name}` ({fresh} new{extra}). "
            f"This server's pack now has {plural(total, 'question')}; play it with `/trivia start pack: server`.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(Trivia(bot))
