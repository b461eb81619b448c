"""A tiny bot used to test the fake Discord itself, in-process and as ``python -m tests.fakediscord.testbot``.

Env: DISCORD_TOKEN, TESTBOT_DB (sqlite file), TESTBOT_GUILD (sync commands to this guild; else global),
LOG_LEVEL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

FILMS = ["Her", "Heat", "Hereditary", "Alien", "Amelie", "Paris, Texas", "Harold and Maude"]


class CounterView(discord.ui.View):
    """A persistent view: its button keeps working after a restart."""

    def __init__(self, bot: TestBot) -> None:
        super().__init__(timeout=None)
        self.bot = bot

    @discord.ui.button(label="Count", style=discord.ButtonStyle.primary, custom_id="testbot:count")
    async def count(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        n = self.bot.bump_counter()
        await interaction.response.edit_message(content=f"Count: {n}", view=self)


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    thoughts: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Your thoughts", custom_id="feedback:text", max_length=200
    )

    def __init__(self, bot: TestBot) -> None:
        super().__init__(custom_id="feedback:modal")
        self.bot = bot

    async def on_submit(self, interaction: discord.Interaction) -> None:
        self.bot.db.execute(
            "INSERT INTO notes(user_id, text) VALUES (?, ?)", (interaction.user.id, self.thoughts.value)
        )
        self.bot.db.commit()
        await interaction.response.send_message(f"Thanks: {self.thoughts.value}", ephemeral=True)


class LabelModal(discord.ui.Modal, title="Rate"):
    """A modal using the 2.6+ Label component around the text input."""

    def __init__(self) -> None:
        super().__init__(custom_id="rate:modal")
        self.score: discord.ui.TextInput[Any] = discord.ui.TextInput(custom_id="rate:score", max_length=2)
        self.add_item(discord.ui.Label(text="Score (1-10)", component=self.score))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"Rated {self.score.value}/10")


class TestBot(commands.Bot):
    __test__ = False

    def __init__(self, db_path: str, guild_id: int | None = None) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        intents.members = True
        super().__init__(command_prefix="!", intents=intents, allowed_mentions=discord.AllowedMentions.none())
        self.db_path = db_path
        self.guild_id = guild_id
        self.db = sqlite3.connect(db_path)
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS reactions(message_id INTEGER, user_id INTEGER, emoji TEXT,
                                                 PRIMARY KEY(message_id, user_id, emoji));
            CREATE TABLE IF NOT EXISTS notes(id INTEGER PRIMARY KEY, user_id INTEGER, text TEXT);
            CREATE TABLE IF NOT EXISTS counter(id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
            INSERT OR IGNORE INTO counter(id, n) VALUES (1, 0);
            """
        )
        self.db.commit()
        self._register()

    def bump_counter(self) -> int:
        self.db.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
        self.db.commit()
        return int(self.db.execute("SELECT n FROM counter").fetchone()[0])

    def _register(self) -> None:
        tree = self.tree

        @tree.command(name="ping", description="Check the bot is alive")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong")

        note = app_commands.Group(name="note", description="Notes")

        @note.command(name="add", description="Save a note")
        @app_commands.describe(text="What to remember")
        async def note_add(interaction: discord.Interaction, text: str) -> None:
            cur = self.db.execute("INSERT INTO notes(user_id, text) VALUES (?, ?)", (interaction.user.id, text))
            self.db.commit()
            await interaction.response.send_message(f"Saved note #{cur.lastrowid}", ephemeral=True)

        @note.command(name="list", description="List notes")
        async def note_list(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            rows = self.db.execute("SELECT id, text FROM notes ORDER BY id").fetchall()
            body = "\n".join(f"{i}. {t}" for i, t in rows) or "No notes."
            await interaction.edit_original_response(content=body)

        tree.add_command(note)

        @tree.command(name="counter", description="Post a counter button")
        async def counter(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("Count: 0", view=CounterView(self))

        @tree.command(name="feedback", description="Tell us something")
        async def feedback(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(FeedbackModal(self))

        @tree.command(name="rate", description="Rate the film")
        async def rate(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(LabelModal())

        @tree.command(name="slow", description="Deferred answer")
        async def slow(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            await asyncio.sleep(0.01)
            await interaction.followup.send("done slowly")

        film = app_commands.Group(name="film", description="Films")

        @film.command(name="info", description="About a film")
        @app_commands.describe(title="Film title", year="Release year", rating="Out of 10", spoilers="Show spoilers")
        async def film_info(
            interaction: discord.Interaction,
            title: str,
            year: app_commands.Range[int, 1888, 2100] | None = None,
            rating: float | None = None,
            spoilers: bool = False,
        ) -> None:
            await interaction.response.send_message(
                f"{title} ({year}) rated {rating} spoilers={spoilers}",
                embed=discord.Embed(title=title, description=f"year={year}"),
            )

        @film_info.autocomplete("title")
        async def film_title_ac(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            cur = current.lower()
            return [app_commands.Choice(name=f, value=f) for f in FILMS if f.lower().startswith(cur)][:25]

        tree.add_command(film)

        @tree.command(name="poster", description="Upload a poster")
        async def poster(
            interaction: discord.Interaction, image: discord.Attachment, who: discord.Member, where: discord.TextChannel
        ) -> None:
            data = await image.read()
            await interaction.response.send_message(
                f"{image.filename} {len(data)} bytes for {who.display_name} in {where.name}",
                file=discord.File(__import__("io").BytesIO(data[::-1]), filename="reversed.bin"),
            )

    async def setup_hook(self) -> None:
        self.add_view(CounterView(self))
        if self.guild_id:
            guild = discord.Object(id=self.guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if self.user is not None and payload.user_id == self.user.id:
            return
        self.db.execute(
            "INSERT OR IGNORE INTO reactions(message_id, user_id, emoji) VALUES (?, ?, ?)",
            (payload.message_id, payload.user_id, str(payload.emoji)),
        )
        self.db.commit()

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        self.db.execute(
            "DELETE FROM reactions WHERE message_id = ? AND user_id = ? AND emoji = ?",
            (payload.message_id, payload.user_id, str(payload.emoji)),
        )
        self.db.commit()

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        if message.content == "!hello":
            await message.reply(f"hi {message.author.display_name}")

    async def close(self) -> None:
        await super().close()
        self.db.close()


async def _main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    guild = os.environ.get("TESTBOT_GUILD")
    bot = TestBot(os.environ.get("TESTBOT_DB", "testbot.db"), int(guild) if guild else None)
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []
    loop.add_signal_handler(signal.SIGTERM, lambda: stopping.append(loop.create_task(bot.close())))
    async with bot:
        await bot.start(os.environ["DISCORD_TOKEN"])


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
