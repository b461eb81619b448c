"""/filmclub setup, settings, about; moderator checks; the one error handler."""

from __future__ import annotations

import logging

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.errors import UserError
from tests.e2e.conftest import Club
from tests.fakediscord.permissions import P


async def test_setup_saves_and_settings_shows(club: Club) -> None:
    g = club.g
    h = await club.slash(
        g.admin, g.general, "filmclub setup",
        announcements=g.announcements, timezone="America/New_York", reminders="2h, 1d,10m",
    )
    reply = await h.reply()
    assert reply.ephemeral
    assert reply.content.startswith("Saved.")
    settings = await club.bot.settings.get(club.guild_id)
    assert settings.timezone == "America/New_York"
    assert settings.reminder_offsets == "1d,2h,10m"

    reply = await (await club.slash(g.alice, g.general, "filmclub settings")).reply()
    assert reply.ephemeral
    text = reply.text()
    assert "America/New_York" in text and "1d,2h,10m" in text
    assert f"<#{g.announcements.id}>" in text


async def test_moderator_role_counts_as_moderator(club: Club) -> None:
    reply = await (await club.slash(club.mod, club.g.general, "filmclub setup", timezone="Europe/Paris")).reply()
    assert reply.content.startswith("Saved.")
    assert (await club.bot.settings.get(club.guild_id)).timezone == "Europe/Paris"


async def test_non_moderator_is_refused_and_nothing_changes(club: Club) -> None:
    before = await club.bot.settings.get(club.guild_id)
    reply = await (await club.slash(club.g.alice, club.g.general, "filmclub setup", timezone="Asia/Tokyo")).reply()
    assert reply.ephemeral
    assert "Only moderators" in reply.content
    assert "Manage Server" in reply.content and "Projectionist" in reply.content
    club.bot.settings._cache.clear()  # read what the database says
    assert await club.bot.settings.get(club.guild_id) == before


async def test_bad_time_zone_and_offsets_are_refused(club: Club) -> None:
    g = club.g
    reply = await (await club.slash(g.admin, g.general, "filmclub setup", timezone="Mars/Olympus")).reply()
    assert reply.ephemeral and "not a time zone I know" in reply.content and "Europe/London" in reply.content
    reply = await (await club.slash(g.admin, g.general, "filmclub setup", reminders="soon")).reply()
    assert reply.ephemeral and "1d,1h,10m" in reply.content
    # A bad value next to a good one: nothing is written at all.
    reply = await (
        await club.slash(g.admin, g.general, "filmclub setup", announcements=g.general, timezone="Nowhere/Land")
    ).reply()
    assert "not a time zone" in reply.content
    settings = await club.bot.settings.get(club.guild_id)
    assert settings.announcements_channel_id == g.announcements.id
    assert settings.timezone == "Europe/London"


async def test_time_zone_autocomplete(club: Club) -> None:
    choices = await club.fake.autocomplete(club.g.admin, club.g.general, "filmclub setup", "timezone", "lond")
    assert choices and choices[0]["value"] == "Europe/London"
    assert len(await club.fake.autocomplete(club.g.admin, club.g.general, "filmclub setup", "timezone", "")) == 25


async def test_missing_permissions_in_a_channel_are_named(club: Club) -> None:
    fake, g = club.fake, club.g
    locked = fake.create_channel(
        g.guild, "locked-polls",
        overwrites=[fake.overwrite(g.bot_role, deny=P.ADD_REACTIONS | P.EMBED_LINKS)],
    )
    reply = await (await club.slash(g.admin, g.general, "filmclub setup", polls=locked)).reply()
    assert reply.ephemeral
    assert "missing" in reply.content
    assert "Add Reactions" in reply.content and "Embed Links" in reply.content
    assert "Send Messages" not in reply.content


async def test_about(club: Club) -> None:
    await club.clock.advance(3 * 3600 + 120)
    reply = await (await club.slash(club.g.alice, club.g.general, "filmclub about")).reply()
    embed = reply.embeds[0]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Version"] == club.bot.version
    assert fields["Uptime"] == "0d 3h 2m"
    assert fields["Schema"] == str(club.bot.schema_version) and club.bot.schema_version >= 2
    assert fields["Servers"] == "1"


async def test_unexpected_exception_becomes_reference_code(
    club: Club, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(guild_id: int) -> None:
        raise RuntimeError("database exploded")

    monkeypatch.setattr(club.bot.settings, "get", broken)
    with caplog.at_level(logging.ERROR, logger="bot.handlers"):
        reply = await (await club.slash(club.g.alice, club.g.general, "filmclub settings")).reply()
    assert reply.ephemeral
    assert reply.content.startswith("Something went wrong (ref ")
    ref = reply.content.split("(ref ")[1][:6]
    assert len(ref) == 6
    logged = [r for r in caplog.records if ref in r.getMessage()]
    assert logged and logged[0].exc_info is not None
    assert "database exploded" not in reply.content


async def test_user_text_is_echoed_without_pinging(club: Club) -> None:
    g = club.g
    hostile = f"@everyone <@&{g.member_role.id}> <@{g.bob.id}>"
    reply = await (await club.slash(g.admin, g.general, "filmclub setup", timezone=hostile)).reply()
    assert reply.ephemeral
    assert "@everyone" in reply.content  # echoed (escaped), but:
    assert reply.allowed_mentions == {"parse": []}
    assert not reply.pings_anyone


async def test_public_post_with_mentions_in_user_text_pings_nobody(club: Club) -> None:
    g = club.g
    notes = f"@everyone @here <@&{g.member_role.id}> <@{g.bob.id}> bring snacks"
    reply = await (
        await club.slash(g.admin, g.general, "screening schedule", film="Her", when="fri 8pm", notes=notes)
    ).reply()
    assert not reply.pings_anyone
    announcement = await club.fake.wait_for_message(g.screenings, lambda m: "Her" in m.text())
    assert "bring snacks" in announcement.text()
    for message in club.fake.bot_messages():
        assert not message.pings_anyone, message.text()


class Boom(commands.Cog):
    """A test-only cog: errors raised after the interaction was deferred or answered."""

    boom = app_commands.Group(name="boom", description="errors on purpose")

    @boom.command(name="deferred", description="defer, then fail")
    async def deferred(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        raise UserError("That film is not on the shelf. Try `/theme show`.")

    @boom.command(name="answered", description="answer, then crash")
    async def answered(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Working on it…")
        raise RuntimeError("crash after answering")

    @boom.command(name="cooldown", description="rate limited")
    @app_commands.checks.cooldown(1, 600)
    async def cooldown(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok", ephemeral=True)


async def test_errors_after_defer_or_answer_still_reach_the_member(club: Club) -> None:
    await club.bot.add_cog(Boom())
    club.bot.tree.copy_global_to(guild=discord.Object(id=club.guild_id))
    await club.bot.tree.sync(guild=discord.Object(id=club.guild_id))
    g = club.g
    h = await club.slash(g.alice, g.general, "boom deferred")
    reply = await h.reply()
    assert reply.ephemeral and reply.content == "That film is not on the shelf. Try `/theme show`."

    h = await club.slash(g.alice, g.general, "boom answered")
    await h.reply()
    error = await h.followup(0)
    assert error.ephemeral and error.content.startswith("Something went wrong (ref ")

    first = await (await club.slash(g.alice, g.general, "boom cooldown")).reply()
    assert first.content == "ok"
    second = await (await club.slash(g.alice, g.general, "boom cooldown")).reply()
    assert second.ephemeral and second.content.startswith("Slow down") and "<t:" in second.content
