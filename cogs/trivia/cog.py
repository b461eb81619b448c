"""Movie trivia: `/trivia start|stop|packs|leaderboard|add|import`.

Parse, ask :class:`cogs.trivia.service.TriviaService` (``bot.trivia``), reply. The rules of the game are in
``bot.domain.trivia``; a running game is a ``cogs.trivia.session.TriviaSession``.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.attachments import check_size, read_attachment
from bot.checks import is_moderator, moderator_only, require_guild, require_member_can_post
from bot.domain.trivia import MAX_ROUNDS, MAX_SECONDS, MIN_ROUNDS, MIN_SECONDS, PackError, parse_pack
from bot.errors import UserError
from bot.render import clip, missing_permissions, plural
from bot.ui import send_pages
from cogs.trivia import views
from cogs.trivia.service import Mode, TriviaService
from cogs.trivia.session import NO_PINGS, ChoiceButton
from db.trivia import SERVER_PACK

MAX_IMPORT_BYTES = 256 * 1024
NEEDS = ("view_channel", "send_messages", "embed_links")
THREAD_NEEDS = ("view_channel", "send_messages_in_threads", "embed_links")


class Trivia(commands.Cog):
    trivia = app_commands.Group(name="trivia", description="Movie trivia games", guild_only=True)

    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        self.service: TriviaService = bot.trivia

    async def cog_load(self) -> None:
        # Choice buttons answer even when their game is gone (after a crash or a refused edit).
        self.bot.add_dynamic_items(ChoiceButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ChoiceButton)

    async def pack_choices(self, interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
        needle = current.strip().lower()
        return [
            app_commands.Choice(name=f"{key} ({plural(n, 'question')})", value=key)
            for key, n in await self.service.pack_sizes(interaction.guild_id)
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

            async def with_buttons(clicked: discord.Interaction[Any]) -> None:
                await self.start_session(clicked, pack, rounds, "buttons", seconds)

            await interaction.response.send_message(
                "Typed mode needs me to read messages, and this bot runs without the message-content "
                "intent (the host can turn it on with `FILMCLUB_MESSAGE_CONTENT=1` and the switch in the "
                "Discord developer portal). Buttons mode works right now:",
                view=views.PlayWithButtons(interaction.user.id, with_buttons),
                ephemeral=True,
            )
            return
        await self.start_session(interaction, pack, rounds, mode, seconds)

    @start.autocomplete("pack")
    async def start_pack_autocomplete(
        self, interaction: discord.Interaction[FilmClubBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self.pack_choices(interaction, current)

    async def start_session(
        self, interaction: discord.Interaction[Any], pack_name: str, rounds: int, mode: Mode, seconds: float
    ) -> None:
        guild_id = require_guild(interaction)
        require_member_can_post(interaction)
        channel = interaction.channel
        channel_id = interaction.channel_id
        if channel is None or channel_id is None or not isinstance(channel, discord.abc.Messageable):
            raise UserError("I can't run a game here; try a text channel.")
        self.service.refuse_if_running(channel_id, guild_id, interaction.user.id)
        needs = THREAD_NEEDS if isinstance(channel, discord.Thread) else NEEDS
        lacking = missing_permissions(interaction.app_permissions, needs)
        if lacking:
            raise UserError(
                f"I can't run a game in this channel: I'm missing {', '.join(lacking)}. "
                "A moderator can grant those to my role here."
            )
        session = await self.service.new_session(
            token=interaction.id, channel=channel, channel_id=channel_id, guild_id=guild_id,
            starter_id=interaction.user.id, pack_name=pack_name, rounds=rounds, mode=mode, seconds=float(seconds),
        )
        try:
            await interaction.response.send_message(embed=views.intro_embed(session), allowed_mentions=NO_PINGS)
        except BaseException:
            self.service.forget(session)
            raise
        self.service.begin(session)

    @trivia.command(name="stop", description="End the trivia game in this channel (starter or moderator)")
    async def stop(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        require_guild(interaction)
        session = self.service.session_in(interaction.channel_id or 0)
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
        self.service.on_message(message)

    # -- information ----------------------------------------------------------------------

    @trivia.command(name="packs", description="The trivia packs and how many questions each has")
    async def packs(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        count = await self.service.server_question_count(require_guild(interaction))
        await interaction.response.send_message(embed=views.packs_embed(self.service.shipped, count), ephemeral=True)

    @trivia.command(name="leaderboard", description="This server's trivia scores")
    @app_commands.describe(pack="Only this pack (all packs added up when left out)")
    async def leaderboard(self, interaction: discord.Interaction[FilmClubBot], pack: str | None = None) -> None:
        guild_id = require_guild(interaction)
        require_member_can_post(interaction)
        key: str | None = None
        if pack is not None and pack.strip():
            key = pack.strip().lower()
            if key not in self.service.shipped and key != SERVER_PACK:
                raise UserError(
                    f"There's no trivia pack called `{clip(pack, 40)}`. Pick one of {self.service.known_pack_names()}."
                )
        rows = await self.service.leaderboard(guild_id, key)
        scope = f"pack {key}" if key else "all packs"
        if not rows:
            raise UserError(f"No trivia scores yet for {scope}. Start a game with `/trivia start`.")
        await send_pages(interaction, views.leaderboard_pages(rows, scope), ephemeral=False)

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
        await interaction.response.send_modal(views.AddQuestionModal())

    @trivia.command(name="import", description="Moderators: add questions from a YAML trivia file")
    @app_commands.describe(file="A UTF-8 YAML file: `Question?:` then `- answer` lines (max 256 KB)")
    @moderator_only()
    async def import_(self, interaction: discord.Interaction[FilmClubBot], file: discord.Attachment) -> None:
        guild_id = require_guild(interaction)
        name = discord.utils.escape_markdown(clip(file.filename, 60))
        split = "Split it into smaller files."
        check_size(file, MAX_IMPORT_BYTES, split)
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await read_attachment(file, MAX_IMPORT_BYTES, split)
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
        fresh, total = await self.service.add_questions(
            guild_id, [(q.text, q.answers) for q in parsed.questions], interaction.user.id
        )
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
