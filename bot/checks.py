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
