"""`/schedule list` and `/schedule cancel`: what the bot will post, and what went wrong."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import moderator_only, require_guild
from bot.render import CLUB_COLOUR, clip, ts_full
from cogs.schedule.service import ScheduleService
from db.scheduled_posts import ScheduledPost


def describe_post(post: ScheduledPost) -> str:
    where = f" in <#{post.thread_id or post.channel_id}>" if (post.thread_id or post.channel_id) else ""
    label = post.payload.get("label") if isinstance(post.payload, dict) else None
    text = f"`#{post.id}` **{post.kind}**{where} · {ts_full(post.due_at)}"
    if label:
        text += f" · {clip(str(label), 60)}"
    if post.status in ("failed", "missed"):
        text += f"\n  ↳ {post.status}: {clip(post.last_error or 'no reason recorded', 120)}"
    return text


class Schedule(commands.Cog):
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        self.service: ScheduleService = bot.schedule

    schedule = app_commands.Group(
        name="schedule", description="Moderators: the bot's scheduled posts", guild_only=True
    )

    @schedule.command(name="list", description="Upcoming scheduled posts, and recently failed or missed ones")
    @moderator_only()
    async def list_posts(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        upcoming, trouble = await self.service.overview(guild_id)
        embed = discord.Embed(title="Scheduled posts", colour=CLUB_COLOUR)
        embed.add_field(
            name=f"Upcoming ({len(upcoming)})",
            value=clip("\n".join(describe_post(p) for p in upcoming) or "Nothing scheduled.", 1024),
            inline=False,
        )
        if trouble:
            embed.add_field(
                name="Failed or missed (last 14 days)",
                value=clip("\n".join(describe_post(p) for p in trouble), 1024),
                inline=False,
            )
        embed.set_footer(text="Cancel one with /schedule cancel id")
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @schedule.command(name="cancel", description="Cancel a scheduled post by its id")
    @app_commands.describe(id="The post's id, from /schedule list")
    @moderator_only()
    async def cancel(self, interaction: discord.Interaction[FilmClubBot], id: app_commands.Range[int, 1]) -> None:
        guild_id = require_guild(interaction)
        post = await self.service.cancel(guild_id, id)
        await interaction.response.send_message(f"Cancelled scheduled post #{id} ({post.kind}).", ephemeral=True)


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(Schedule(bot))
