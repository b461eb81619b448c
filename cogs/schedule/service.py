"""The scheduled-posts overview moderators see, and the plain "message" kind of post.

The timing itself belongs to :mod:`bot.scheduler`; this service reads the server's posts for
`/schedule list` and cancels one for `/schedule cancel`, never another server's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.domain import posts
from bot.errors import UserError
from bot.scheduler import PostObsolete
from db import scheduled_posts as posts_repo
from db.scheduled_posts import ScheduledPost

if TYPE_CHECKING:
    from bot.app import FilmClubBot

RECENT = 14 * 86400
NOT_CANCELLABLE = ("sent", "cancelled", "sending")


class ScheduleService:
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        # The plain kind: post ``payload.content`` / ``payload.embeds`` in the target channel.
        bot.scheduler.register(posts.MESSAGE, self.send_message_post)

    async def load(self) -> None:
        return None

    async def close(self) -> None:
        return None

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

    async def overview(self, guild_id: int, limit: int = 20) -> tuple[list[ScheduledPost], list[ScheduledPost]]:
        """(upcoming, failed or missed in the last 14 days) of the server."""
        return await posts_repo.list_for_guild(self.bot.store, guild_id, since=self.bot.now_ts() - RECENT, limit=limit)

    async def cancel(self, guild_id: int, post_id: int) -> ScheduledPost:
        """Cancel the server's pending post ``post_id``; a UserError says why not."""
        post = await posts_repo.get(self.bot.store, post_id)
        if post is None or post.guild_id != guild_id:
            raise UserError(f"There is no scheduled post #{post_id} on this server. See `/schedule list`.")
        if post.status in NOT_CANCELLABLE:
            raise UserError(f"Post #{post_id} is already {post.status}; there is nothing to cancel.")
        await self.bot.scheduler.cancel(post_id, guild_id)
        return post
