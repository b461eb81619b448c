"""The test-only bot driven in-process through the fake: commands, buttons, modals, reactions, messages."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.fakediscord.interactions import FakeDiscordUsageError
from tests.fakediscord.server import FakeDiscord, StandardGuild
from tests.fakediscord.testbot import TestBot


@pytest_asyncio.fixture
async def club(fake: FakeDiscord, tmp_path: Path) -> AsyncIterator[tuple[StandardGuild, TestBot]]:
    g = fake.standard_guild()
    bot = TestBot(str(tmp_path / "t.db"), g.guild.id)
    await fake.run_bot(bot, wait_commands=True)
    yield g, bot


async def test_commands_registered_with_ids(fake: FakeDiscord, club: tuple[StandardGuild, TestBot]) -> None:
    g, _ = club
    assert fake.command_names(g.guild) == ["counter", "feedback", "film", "note", "ping", "poster", "rate", "slow"]
    assert all(c["id"].isdigit() for c in fake.commands(g.guild))


async def test_ephemeral_reply_and_deferred_edit(fake: FakeDiscord, club: tuple[StandardGuild, TestBot]) -> None:
    g, _ = club
    h = await fake.slash(g.alice, g.general, "note add", text="Watch Her on Friday")
    msg = await h.reply()
    assert msg.content == "Saved note #1"
    assert msg.ephemeral
    assert fake.last_message(g.general) is None  # ephemeral messages are not in the channel
    h2 = await fake.slash(g.bob, g.general, "note list")
    assert await h2.response() == 5
    shown = await h2.reply()
    assert shown.content == "1. Watch Her on Friday"
    assert not shown.ephemeral and not shown.loading
    assert shown.pinged_user_ids == set()


async def test_followup_after_thinking_defer_replaces_loading_message(
    fake: FakeDiscord, club: tuple[StandardGuild, TestBot]
) -> None:
    g, _ = club
    h = await fake.slash(g.alice, g.general, "slow")
    msg = await h.reply()
    assert msg.content == "done slowly"
    assert msg is h.original
    assert len(fake.bot_messages(g.general)) == 1


async def test_button_persists_count(fake: FakeDiscord, club: tuple[StandardGuild, TestBot]) -> None:
    g, _ = club
    msg = await (await fake.slash(g.alice, g.general, "counter")).reply()
    assert msg.content == "Count: 0"
    assert [b["label"] for b in msg.buttons()] == ["Count"]
    click = await fake.click(g.bob, msg, "Count")
    assert await click.response() == 7
    assert (await click.reply()).content == "Count: 1"
    await (await fake.click(g.carol, msg, "testbot:count")).reply()
    assert msg.content == "Count: 2"
    with pytest.raises(FakeDiscordUsageError):
        await fake.click(g.bob, msg, "Nope")


async def test_modal_in_action_row(fake: FakeDiscord, club: tuple[StandardGuild, TestBot]) -> None:
    g, bot = club
    h = await fake.slash(g.alice, g.general, "feedback")
    modal = await h.wait_modal()
    assert modal["title"] == "Feedback"
    sub = await fake.submit_modal(g.alice, h, {"Your thoughts": "More noir please"})
    reply = await sub.reply()
    assert reply.content == "Thanks: More noir please"
    assert bot.db.execute("SELECT text FROM notes").fetchall() == [("More noir please",)]


async def test_modal_with_label_component(fake: FakeDiscord, club: tuple[StandardGuild, TestBot]) -> None:
    g, _ = club
    h = await fake.slash(g.alice, g.general, "rate")
    modal = await h.wait_modal()
    assert modal["components"][0]["type"] == 18
    sub = await fake.submit_modal(g.alice, h, {"Score (1-10)": "9"})
    assert (await sub.reply()).content == "Rated 9/10"
    with pytest.raises(FakeDiscordUsageError):
        await fake.submit_modal(g.alice, h, {"nope": "1"})


async def test_options_coercion_and_autocomplete(fake: FakeDiscord, club: tuple[StandardGuild, TestBot]) -> None:
    g, _ = club
    choices = await fake.autocomplete(g.alice, g.general, "film info", "title", "he")
    assert [c["name"] for c in choices] == ["Her", "Heat", "Hereditary"]
    h = await fake.slash(g.alice, g.general, "film info", title="Her", year=2013, rating=8.5, spoilers=True)
    msg = await h.reply()
    assert msg.content == "Her (2013) rated 8.5 spoilers=True"
    assert msg.embeds[0]["title"] == "Her"
    with pytest.raises(FakeDiscordUsageError):
        await fake.slash(g.alice, g.general, "film info", title="Her", year="2013")
    with pytest.raises(FakeDiscordUsageError):
        await fake.slash(g.alice, g.general, "film info", title="Her", year=1500)
    with pytest.raises(FakeDiscordUsageError):
        await fake.slash(g.alice, g.general, "film info", title="Her", director="Jonze")
    with pytest.raises(FakeDiscordUsageError):
        await fake.slash(g.alice, g.general, "film")
    with pytest.raises(FakeDiscordUsageError):
        await fake.slash(g.alice, g.general, "nonexistent")


async def test_attachment_user_channel_options(fake: FakeDiscord, club: tuple[StandardGuild, TestBot]) -> None:
    g, _ = club
    data = b"\x89PNGfake-bytes"
    photo = fake.attachment("a.png", data, "image/png")
    h = await fake.slash(g.alice, g.general, "poster", image=photo, who=g.bob, where=g.screenings)
    msg = await h.reply()
    assert msg.content == f"a.png {len(data)} bytes for Bob in screenings"
    assert msg.file_names() == ["reversed.bin"]
    assert msg.attachments[0].data == data[::-1]
    call = fake.calls("POST", r"/callback$")[-1]
    assert call.files[0].filename == "reversed.bin" and call.files[0].size == len(data)


async def test_raw_reactions_and_messages(fake: FakeDiscord, club: tuple[StandardGuild, TestBot]) -> None:
    g, bot = club
    said = await fake.say(g.alice, g.general, "!hello")
    reply = await fake.wait_for_message(g.general, lambda m: m.content.startswith("hi"))
    assert reply.content == "hi Alice"
    assert reply.message_reference is not None and reply.message_reference["message_id"] == str(said.id)
    # AllowedMentions.none() on the bot: the reply does not ping alice.
    assert not reply.pings_anyone
    await fake.react(g.bob, said, "🍿")
    await fake.react(g.carol, said, "🍿")
    rows = bot.db.execute("SELECT user_id, emoji FROM reactions ORDER BY user_id").fetchall()
    assert rows == [(g.bob.id, "🍿"), (g.carol.id, "🍿")]
    await fake.unreact(g.bob, said, "🍿")
    rows = bot.db.execute("SELECT user_id FROM reactions").fetchall()
    assert rows == [(g.carol.id,)]
    assert said.reaction_users("🍿") == [g.carol.id]


def test_sqlite_available() -> None:
    assert sqlite3.sqlite_version
