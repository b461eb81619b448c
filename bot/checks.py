"""The shared moderator check, enforced on the server side for every moderator command."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands

from bot.errors import NotModerator, UserError
from bot.handlers import CheckFailed

if TYPE_CHECKING:
    from bot.app import FilmClubBot

T = TypeVar("T")


def club_bot(interaction: discord.Interaction[Any]) -> FilmClubBot:
    return interaction.client  # type: ignore[no-any-return]


async def is_moderator(interaction: discord.Interaction[Any]) -> bool:
    """Manage Server, or the moderator role set in `/filmclub setup`."""
    member = interaction.user
    if interaction.guild is None or not isinstance(member, discord.Member):
        return False
    if member.guild_permissions.manage_guild or member.guild_permissions.administrator:
        return True
    settings = await club_bot(interaction).settings.get(interaction.guild.id)
    role_id = settings.moderator_role_id
    return role_id is not None and any(role.id == role_id for role in member.roles)


async def require_moderator(interaction: discord.Interaction[Any]) -> None:
    """Raise :class:`NotModerator` unless the member is a moderator (for buttons and modals)."""
    if await is_moderator(interaction):
        return
    role_name: str | None = None
    if interaction.guild is not None:
        settings = await club_bot(interaction).settings.get(interaction.guild.id)
        role = interaction.guild.get_role(settings.moderator_role_id or 0)
        role_name = role.name if role else None
    raise NotModerator(role_name)


def require_guild(interaction: discord.Interaction[Any]) -> int:
    if interaction.guild_id is None:
        raise UserError("This command only works in a server.")
    return interaction.guild_id


def moderator_only() -> Callable[[T], T]:
    """App command check: moderators only; the failure says which role or permission is needed."""

    async def predicate(interaction: discord.Interaction[Any]) -> bool:
        try:
            await require_moderator(interaction)
        except NotModerator as exc:
            raise CheckFailed(exc.message) from exc
        return True

    return app_commands.check(predicate)


POST_NEEDS = ("view_channel", "send_messages", "embed_links")


def configured_channel(
    guild: discord.Guild,
    channel_id: int | None,
    *,
    what: str,
    setting: str,
    doing: str,
    needs: tuple[str, ...] = POST_NEEDS,
) -> discord.TextChannel:
    """A channel the server configured (``what``, set with ``/filmclub setup <setting>:``), once it is sure the
    bot can ``doing`` there; else a UserError saying how to fix it. One wording for every feature.

    ``doing`` completes "I can't ... in #channel", e.g. "post teasers".
    """
    from bot.errors import NotSetUp
    from bot.render import missing_permissions

    if channel_id is None:
        raise NotSetUp(what, setting)
    channel = guild.get_channel(channel_id)
    if not isinstance(channel, discord.TextChannel):
        raise UserError(
            f"I can't find the {what} any more (was it deleted?). A moderator can pick "
            f"another with `/filmclub setup {setting}:`. Nothing was changed."
        )
    lacking = missing_permissions(channel.permissions_for(guild.me), needs)
    if lacking:
        raise UserError(
            f"I can't {doing} in {channel.mention}: I need {', '.join(lacking)} there. A moderator can give "
            f"my role those permissions in that channel, or pick another with `/filmclub setup {setting}:`. "
            "Nothing was changed."
        )
    return channel


async def announcements_channel(
    interaction_or_bot: Any, guild: discord.Guild, *, doing: str, needs: tuple[str, ...] = POST_NEEDS
) -> discord.TextChannel:
    """The announcements channel, once it is sure the bot can post there (:func:`configured_channel`)."""
    bot = interaction_or_bot.client if isinstance(interaction_or_bot, discord.Interaction) else interaction_or_bot
    settings = await bot.settings.get(guild.id)
    return configured_channel(
        guild, settings.announcements_channel_id, what="announcements channel", setting="announcements",
        doing=doing, needs=needs,
    )


def require_member_can_post(interaction: discord.Interaction[Any]) -> None:
    """Refuse to post publicly on a member's behalf where the member may not post themselves.

    A slash command can be run in a read-only channel (announcements), and only the bot's own permissions
    would otherwise be checked: the member would make the bot post a game or a sheet there. The member's
    permissions in the channel (with overwrites) come with the interaction.
    """
    perms = interaction.permissions
    in_thread = isinstance(interaction.channel, discord.Thread)
    allowed = perms.send_messages_in_threads if in_thread else perms.send_messages
    if not (allowed and perms.view_channel):
        raise UserError(
            "You can't post in this channel, so I won't post this here for you. Run the command in a channel "
            "where you can write, or ask a moderator."
        )
