"""`/filmclub setup`, `/filmclub settings`, `/filmclub about`."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import moderator_only, require_guild
from bot.domain.offsets import format_offsets, parse_offsets
from bot.errors import UserError
from bot.render import CLUB_COLOUR, missing_permissions
from db.settings import GuildSettings

# What the bot needs in each configured channel.
BASE = ("view_channel", "send_messages", "embed_links")
CHANNEL_NEEDS: dict[str, tuple[str, ...]] = {
    "announcements": (*BASE, "attach_files"),
    "screenings": (*BASE, "read_message_history", "create_public_threads", "send_messages_in_threads"),
    "polls": (*BASE, "attach_files", "add_reactions", "read_message_history"),
    "trivia": (*BASE, "read_message_history"),
    "basil": (*BASE, "add_reactions", "read_message_history", "create_public_threads", "send_messages_in_threads"),
}
CHANNEL_FIELDS = {
    "announcements": "announcements_channel_id",
    "screenings": "screenings_channel_id",
    "polls": "polls_channel_id",
    "trivia": "trivia_channel_id",
    "basil": "basil_channel_id",
}
NICE_TO_HAVE = {"polls": ("manage_messages",)}


@lru_cache(maxsize=1)
def all_zones() -> tuple[str, ...]:
    return tuple(sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC"))


def check_zone(name: str) -> str:
    name = name.strip()
    lookup = {z.lower(): z for z in all_zones()}
    if name.lower() not in lookup:
        raise UserError(
            f"`{discord.utils.escape_markdown(name[:60])}` is not a time zone I know. "
            "Pick one from the list, like `Europe/London` or `America/New_York`."
        )
    return lookup[name.lower()]


def settings_embed(guild: discord.Guild, settings: GuildSettings) -> discord.Embed:
    def chan(cid: int | None) -> str:
        return f"<#{cid}>" if cid else "not set"

    role = guild.get_role(settings.moderator_role_id) if settings.moderator_role_id else None
    embed = discord.Embed(title="Film club settings", colour=CLUB_COLOUR)
    embed.add_field(name="Announcements", value=chan(settings.announcements_channel_id))
    embed.add_field(name="Screenings", value=chan(settings.screenings_channel_id))
    embed.add_field(name="Polls", value=chan(settings.polls_channel_id))
    embed.add_field(name="Trivia", value=chan(settings.trivia_channel_id))
    embed.add_field(name="Basil's Corner", value=chan(settings.basil_channel_id))
    embed.add_field(
        name="Moderators", value=f"{role.mention} and Manage Server" if role else "members with Manage Server"
    )
    embed.add_field(name="Time zone", value=settings.timezone)
    embed.add_field(name="Reminders", value=settings.reminder_offsets or "off")
    embed.add_field(name="Memorial approval", value="on" if settings.basil_approval else "off")
    return embed


class Admin(commands.Cog):
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot

    filmclub = app_commands.Group(name="filmclub", description="Set up and inspect the film club bot", guild_only=True)

    @filmclub.command(name="setup", description="Moderators: choose channels, moderator role, time zone, reminders")
    @app_commands.describe(
        announcements="Where teasers, newsletters and notices go",
        screenings="Where watch parties are announced",
        polls="Where snack-award polls are posted",
        trivia="Where trivia is played",
        basil="Basil's Corner: memorials for the club's pets",
        moderator_role="Members with this role count as moderators (besides Manage Server)",
        timezone="The server's IANA time zone, e.g. Europe/London",
        reminders="Default screening reminders, e.g. 1d,1h,10m (or off)",
        memorial_approval="Memorials from non-moderators wait for approval",
    )
    @moderator_only()
    async def setup(
        self,
        interaction: discord.Interaction[FilmClubBot],
        announcements: discord.TextChannel | None = None,
        screenings: discord.TextChannel | None = None,
        polls: discord.TextChannel | None = None,
        trivia: discord.TextChannel | None = None,
        basil: discord.TextChannel | None = None,
        moderator_role: discord.Role | None = None,
        timezone: str | None = None,
        reminders: str | None = None,
        memorial_approval: bool | None = None,
    ) -> None:
        guild_id = require_guild(interaction)
        guild = interaction.guild
        assert guild is not None
        changes: dict[str, Any] = {}
        warnings: list[str] = []
        # Validate everything before writing anything.
        if timezone is not None:
            changes["timezone"] = check_zone(timezone)
        if reminders is not None:
            changes["reminder_offsets"] = format_offsets(parse_offsets(reminders))
        if moderator_role is not None:
            if moderator_role.is_default():
                raise UserError("@everyone can't be the moderator role. Pick a role only moderators have.")
            changes["moderator_role_id"] = moderator_role.id
        if memorial_approval is not None:
            changes["basil_approval"] = memorial_approval
        chosen = {
            "announcements": announcements, "screenings": screenings, "polls": polls,
            "trivia": trivia, "basil": basil,
        }
        for purpose, channel in chosen.items():
            if channel is None:
                continue
            resolved = guild.get_channel(channel.id)
            if not isinstance(resolved, discord.TextChannel):
                raise UserError(f"I can't see {channel.mention}. Pick a text channel I can read.")
            perms = resolved.permissions_for(guild.me)
            lacking = missing_permissions(perms, CHANNEL_NEEDS[purpose])
            if lacking:
                warnings.append(f"In {resolved.mention} ({purpose}) I'm missing: {', '.join(lacking)}.")
            optional = missing_permissions(perms, NICE_TO_HAVE.get(purpose, ()))
            if optional and not lacking:
                warnings.append(
                    f"In {resolved.mention} I lack {', '.join(optional)}: polls still work, but I can't "
                    "tidy up old votes."
                )
            changes[CHANNEL_FIELDS[purpose]] = resolved.id
        if not changes:
            settings = await self.bot.settings.get(guild_id)
            await interaction.response.send_message(
                "Nothing to change: pick at least one option. Current settings:",
                embed=settings_embed(guild, settings), ephemeral=True,
            )
            return
        settings = await self.bot.settings.update(guild_id, self.bot.now_ts(), **changes)
        text = "Saved. " + (" ".join(["⚠️", *warnings]) if warnings else "Everything looks good.")
        if warnings:
            text += " Grant those permissions to my role, or pick another channel."
        await interaction.response.send_message(text, embed=settings_embed(guild, settings), ephemeral=True)

    @setup.autocomplete("timezone")
    async def timezone_autocomplete(
        self, interaction: discord.Interaction[FilmClubBot], current: str
    ) -> list[app_commands.Choice[str]]:
        needle = current.strip().lower().replace(" ", "_")
        zones = all_zones()
        if needle:
            starts = [z for z in zones if z.lower().startswith(needle) or z.lower().split("/")[-1].startswith(needle)]
            contains = [z for z in zones if needle in z.lower() and z not in starts]
            zones = tuple(starts + contains)
        return [app_commands.Choice(name=z, value=z) for z in zones[:25]]

    @filmclub.command(name="settings", description="Show this server's film club settings")
    async def settings(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        assert interaction.guild is not None
        settings = await self.bot.settings.get(guild_id)
        await interaction.response.send_message(embed=settings_embed(interaction.guild, settings), ephemeral=True)

    @filmclub.command(name="about", description="Version, uptime and health of the bot")
    async def about(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        uptime = int((self.bot.clock.now() - self.bot.started_at).total_seconds())
        days, rest = divmod(uptime, 86400)
        hours, rest = divmod(rest, 3600)
        minutes = rest // 60
        latency = self.bot.latency
        latency_text = f"{latency * 1000:.0f} ms" if latency == latency and latency != float("inf") else "n/a"
        embed = discord.Embed(
            title="filmclub", description="Watch parties, snack awards, trivia, Basil's Corner and teasers.",
            colour=CLUB_COLOUR,
        )
        embed.add_field(name="Version", value=self.bot.version)
        embed.add_field(name="Uptime", value=f"{days}d {hours}h {minutes}m")
        embed.add_field(name="Schema", value=str(self.bot.schema_version))
        embed.add_field(name="Gateway latency", value=latency_text)
        embed.add_field(name="Servers", value=str(len(self.bot.guilds)))
        embed.add_field(name="Scheduled posts pending", value=str(self.bot.scheduler.pending_count))
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(Admin(bot))
