"""`/schedule list` and `/schedule cancel`: what the bot will post, and what went wrong."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import moderator_only, require_guild
from bot.domain import posts
from bot.errors import UserError
from bot.render import CLUB_COLOUR, clip, ts_full
from bot.scheduler import PostObsolete
from db import scheduled_posts as posts_repo
from db.scheduled_posts import ScheduledPost

RECENT = 14 * 86400


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
        # The plain kind: post ``payload.content`` / ``payload.embeds`` in the target channel.
        bot.scheduler.register(posts.MESSAGE, self.send_message_post)

    async def send_message_post(self, post: ScheduledPost) -> int | None:
        target = post.thread_id or post.channel_id
        if target is None:
            raise PostObsolete("no channel")
        channel = await self.bot.resolve_messageable(target)
        embeds = [discord.Embed.from_dict(e) for e in post.payload.get("embeds", [])]
        message = await channel.send(
            content=post.payload.get("content") or None,
            embeds=embeds,
            nonce=post.nonce,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        return message.id

    schedule = app_commands.Group(
        name="schedule", description="Moderators: the bot's scheduled posts", guild_only=True
    )

    @schedule.command(name="list", description="Upcoming scheduled posts, and recently failed or missed ones")
    @moderator_only()
    async def list_posts(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        guild_id = require_guild(interaction)
        upcoming, trouble = await posts_repo.list_for_guild(
            self.bot.store, guild_id, since=self.bot.now_ts() - RECENT, limit=20
        )
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
        post = await posts_repo.get(self.bot.store, id)
        if post is None or post.guild_id != guild_id:
            raise UserError(f"There is no scheduled post #{id} on this server. See `/schedule list`.")
        if post.status in ("sent", "cancelled", "sending"):
            raise UserError(f"Post #{id} is already {post.status}; there is nothing to cancel.")
        await self.bot.scheduler.cancel(id, guild_id)
        await interaction.response.send_message(f"Cancelled scheduled post #{id} ({post.kind}).", ephemeral=True)


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(Schedule(bot))
