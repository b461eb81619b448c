"""Input parsed at the command boundary: ``app_commands.Transformer``s that turn a member's text into a domain
value, or raise the domain's user-facing error (the one error handler in :mod:`bot.handlers` shows it
privately). A command body then receives a ``datetime`` or a tuple of names, never raw text to parse.

* :class:`When`: a time in the server's zone, with the command's limits (``parse_when``).
* :class:`SemicolonList`: a ``;``-separated list, split and checked by a domain function.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import discord
from discord import app_commands

from bot.domain.timeparse import parse_when
from bot.errors import UserError


class When(app_commands.Transformer):
    """``closes: Transform[datetime, When(max_ahead=...)]``: read in the server's time zone, never in the past
    (unless ``allow_past``), at most ``max_ahead`` from now."""

    def __init__(self, *, max_ahead: timedelta | None = None, allow_past: bool = False) -> None:
        self.max_ahead = max_ahead
        self.allow_past = allow_past

    @property
    def max_value(self) -> int:
        return 100  # characters: longer is never a time

    async def transform(self, interaction: discord.Interaction[Any], value: str) -> datetime:
        client = interaction.client
        if interaction.guild_id is None:
            raise UserError("This command only works in a server.")
        settings = await client.settings.get(interaction.guild_id)  # type: ignore[attr-defined]
        return parse_when(
            value, client.clock.now(), settings.timezone,  # type: ignore[attr-defined]
            max_ahead=self.max_ahead, allow_past=self.allow_past,
        )


class SemicolonList(app_commands.Transformer):
    """``nominees: Transform[tuple[str, ...], SemicolonList(parse_nominees)]``: split and checked by ``parse``,
    which raises the domain's error naming the entry at fault."""

    def __init__(self, parse: Callable[[str], tuple[str, ...]]) -> None:
        self.parse = parse

    async def transform(self, interaction: discord.Interaction[Any], value: str) -> tuple[str, ...]:
        return self.parse(value)
