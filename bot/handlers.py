"""The one error handler for slash commands, buttons, selects and modals.

Order of handling:
1. ``UserError`` (and moderator/permission check failures): its message, as is.
2. Cooldowns: when to try again, as a Discord timestamp.
3. Storage unavailable (disk full, read-only): a plain apology; nothing was changed.
4. Discord failing (5xx, or a 429 discord.py gave up on): try again in a minute.
   Discord refusing an action of the bot (403): which permission the bot lacks.
5. Anything else: "Something went wrong (ref XXXXXX)", with that code logged beside the traceback.

Every reply is ephemeral and pings nobody, whether or not the interaction was already answered.
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import discord
from discord import app_commands

from bot.errors import UserError
from db.store import StorageUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")


class CheckFailed(app_commands.CheckFailure):
    """A check failure that carries a message for the member."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def unwrap(error: BaseException) -> BaseException:
    while isinstance(error, (app_commands.CommandInvokeError, app_commands.TransformerError)):
        inner = getattr(error, "original", None) or error.__cause__
        if inner is None:
            break
        error = inner
    return error


def describe(error: BaseException) -> tuple[str, bool]:
    """(message for the member, whether this was unexpected)."""
    error = unwrap(error)
    if isinstance(error, UserError):
        return error.message, False
    if isinstance(error, CheckFailed):
        return error.message, False
    if isinstance(error, app_commands.CommandOnCooldown):
        when = int(time.time() + error.retry_after) + 1
        return f"Slow down a little: you can use this again <t:{when}:R>.", False
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server.", False
    if isinstance(error, app_commands.BotMissingPermissions):
        return f"I need these permissions here first: {', '.join(error.missing_permissions)}.", False
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here.", False
    if isinstance(error, StorageUnavailable):
        log.error("storage unavailable: %s", error)
        return (
            "I can't save anything right now (the bot's storage is unavailable). Nothing was changed; "
            "please try again in a few minutes, and tell a moderator if it keeps happening."
        ), False
    if isinstance(error, discord.DiscordServerError) or (
        isinstance(error, discord.HTTPException) and error.status == 429
    ):
        # Discord itself failed (5xx after discord.py's own retries, or a rate limit it gave up on).
        log.warning("discord server error: %s", error)
        return (
            f"Discord is having trouble right now (error {error.status}), so I couldn't finish that. "
            "Please try again in a minute."
        ), False
    if isinstance(error, discord.Forbidden):
        log.warning("discord refused an action: %s", error)
        return (
            "Discord refused that because I'm missing a permission in this channel "
            f"({error.text or 'Missing Permissions'}). A moderator can check my role's permissions."
        ), False
    return "", True


async def reply_ephemeral(interaction: discord.Interaction[Any], message: str) -> None:
    """Send ``message`` privately to the member, whatever state the interaction is in."""
    none = discord.AllowedMentions.none()
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(message, ephemeral=True, allowed_mentions=none)
        else:
            await interaction.followup.send(message, ephemeral=True, allowed_mentions=none)
    except discord.HTTPException:
        log.warning("could not deliver an error reply to interaction %s", interaction.id)


async def report_error(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """Turn any exception raised while serving an interaction into an ephemeral answer."""
    message, unexpected = describe(error)
    if unexpected:
        ref = secrets.token_hex(3).upper()
        original = unwrap(error)
        command = interaction.command.qualified_name if interaction.command else interaction.data
        log.error(
            "unexpected error ref=%s serving %s for user %s",
            ref, command, interaction.user.id if interaction.user else "?",
            exc_info=(type(original), original, original.__traceback__),
        )
        message = f"Something went wrong (ref {ref}). Nothing more was done; a moderator can quote that reference."
    await reply_ephemeral(interaction, message)


def guarded(
    func: Callable[..., Awaitable[T]],
) -> Callable[..., Awaitable[T | None]]:
    """Route exceptions of a component callback (e.g. a DynamicItem's) to :func:`report_error`."""

    @functools.wraps(func)
    async def wrapper(self: Any, interaction: discord.Interaction[Any], *args: Any) -> T | None:
        try:
            return await func(self, interaction, *args)
        except Exception as exc:
            await report_error(interaction, exc)
            return None

    return wrapper
