"""The trivia feature's work: the packs, the games running now, and the server's own questions.

The cog asks; this service keeps the running :class:`~cogs.trivia.session.TriviaSession`s (one per channel,
in memory: a restart ends them), enforces how many may run at once, and reads and writes the server's pack
and scores through ``db.trivia``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import discord

from bot.domain.trivia import Question, TriviaError, TriviaGame, TriviaPack, load_shipped_packs
from bot.errors import UserError
from bot.render import clip
from cogs.trivia.session import TriviaSession
from db import trivia as repo
from db.trivia import SERVER_PACK, ScoreRow

if TYPE_CHECKING:
    from bot.app import FilmClubBot

# Games at once: one per member, three per server (each posts a question every few seconds for minutes).
MAX_GAMES_PER_MEMBER = 1
MAX_GAMES_PER_SERVER = 3
MAX_SERVER_QUESTIONS = 2000
MIN_BUTTON_QUESTIONS = 4
SERVER_PACK_NAMES = (SERVER_PACK, "custom", "own", "this server")

Mode = Literal["buttons", "typed"]


def pack_title(key: str) -> str:
    return "this server's own pack" if key == SERVER_PACK else key


class TriviaService:
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        self.shipped: dict[str, TriviaPack] = load_shipped_packs()
        self.sessions: dict[int, TriviaSession] = {}  # channel id -> its running game
        # The randomness of new games; tests set a seeded one for fixed choices.
        self.rng: random.Random | None = None

    async def load(self) -> None:
        return None

    async def close(self) -> None:
        """A restart ends running games; their finished questions still count."""
        sessions = list(self.sessions.values())
        for session in sessions:
            session.stop(None)
        tasks = [s.task for s in sessions if s.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=10)
            for task in pending:
                task.cancel()

    # -- packs ----------------------------------------------------------------------------

    def known_pack_names(self) -> str:
        return ", ".join(f"`{k}`" for k in [*self.shipped, SERVER_PACK])

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
        if key in SERVER_PACK_NAMES:
            pack = await self.server_pack(guild_id)
            if not pack.questions:
                raise UserError(
                    "This server has no questions of its own yet. A moderator can add some with "
                    "`/trivia add` or `/trivia import`."
                )
            return SERVER_PACK, pack
        raise UserError(f"There's no trivia pack called `{clip(name, 40)}`. Pick one of {self.known_pack_names()}.")

    async def server_question_count(self, guild_id: int) -> int:
        return await repo.count_questions(self.bot.store, guild_id)

    async def pack_sizes(self, guild_id: int | None) -> list[tuple[str, int]]:
        """Every pack a member can pick here, with its number of questions (the server's own if it has any)."""
        sizes = [(key, len(pack.questions)) for key, pack in self.shipped.items()]
        if guild_id is not None:
            count = await self.server_question_count(guild_id)
            if count:
                sizes.append((SERVER_PACK, count))
        return sizes

    # -- games ----------------------------------------------------------------------------

    def session_by_token(self, token: int) -> TriviaSession | None:
        return next((s for s in self.sessions.values() if s.token == token), None)

    def session_in(self, channel_id: int) -> TriviaSession | None:
        return self.sessions.get(channel_id)

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

    async def new_session(
        self,
        *,
        token: int,
        channel: discord.abc.Messageable,
        channel_id: int,
        guild_id: int,
        starter_id: int,
        pack_name: str,
        rounds: int,
        mode: Mode,
        seconds: float,
    ) -> TriviaSession:
        """A game ready to start in ``channel`` and counted as running there; :meth:`begin` starts it and
        :meth:`forget` drops it if the announcement could not be posted."""
        self.refuse_if_running(channel_id, guild_id, starter_id)
        key, pack = await self.resolve_pack(guild_id, pack_name)
        if mode == "buttons" and len(pack.questions) < MIN_BUTTON_QUESTIONS:
            raise UserError(
                f"Buttons mode needs at least {MIN_BUTTON_QUESTIONS} questions in the pack to make choices; "
                f"{pack_title(key)} has {len(pack.questions)}. Try `mode: typed`, or add more questions."
            )
        rng = self.rng or random.Random()
        try:
            # Picking four choices per question is quick for the shipped packs but can take a
            # moment for a server pack of thousands of look-alike answers: keep the loop free.
            game = await self.bot.worker.run(TriviaGame, pack, rounds=rounds, mode=mode, seconds=seconds, rng=rng)
        except TriviaError as exc:
            raise UserError(exc.message) from exc
        self.refuse_if_running(channel_id, guild_id, starter_id)  # again: the lookup and setup awaited
        session = TriviaSession(
            self.bot, token=token, channel=channel, channel_id=channel_id, guild_id=guild_id,
            starter_id=starter_id, pack_key=key, game=game, on_end=self._ended,
        )
        self.sessions[channel_id] = session
        return session

    def begin(self, session: TriviaSession) -> None:
        session.task = asyncio.create_task(session.run(), name=f"trivia:{session.channel_id}")

    def forget(self, session: TriviaSession) -> None:
        if self.sessions.get(session.channel_id) is session:
            del self.sessions[session.channel_id]

    async def _ended(self, session: TriviaSession) -> None:
        self.forget(session)

    def on_message(self, message: discord.Message) -> None:
        session = self.sessions.get(message.channel.id)
        if session is not None:
            session.on_message(message)

    # -- scores and the server's own pack -------------------------------------------------

    async def leaderboard(self, guild_id: int, pack: str | None, limit: int = 500) -> list[ScoreRow]:
        return await repo.leaderboard(self.bot.store, guild_id, pack, limit=limit)

    async def add_questions(
        self, guild_id: int, questions: Sequence[tuple[str, Sequence[str]]], added_by: int
    ) -> tuple[int, int]:
        """Add (or update the answers of) questions in the server's pack, all or none; (new, total)."""
        now = self.bot.now_ts()
        async with self.bot.store.transaction() as tx:
            keys = [repo.question_key(text) for text, _ in questions]
            known = await repo.existing_keys(tx, guild_id, keys)
            before = await repo.count_questions(tx, guild_id)
            fresh = len(set(keys) - known)
            if before + fresh > MAX_SERVER_QUESTIONS:
                if len(questions) == 1:
                    raise UserError(
                        f"This server's pack is full ({MAX_SERVER_QUESTIONS:,} questions). "
                        "That's a lot of trivia; nothing was added."
                    )
                raise UserError(
                    f"That would give this server's pack {before + fresh:,} questions; the limit is "
                    f"{MAX_SERVER_QUESTIONS:,}. Nothing was imported."
                )
            for text, answers in questions:
                await repo.upsert_question(tx, guild_id, text, list(answers), added_by, now)
            total = await repo.count_questions(tx, guild_id)
        return fresh, total
