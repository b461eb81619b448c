"""Input parsed at the command boundary: ``app_commands.Transformer``s that turn a member's text into a domain
value, or raise the domain's user-facing error (the one error handler in :mod:`bot.handlers` shows it
privately). A command body then receives a ``datetime`` or a tuple of names, never raw text to parse.

* :class:`When`: a time in the server's zone, with the command's limits (``parse_when``).
* :class:`SemicolonList`: a ``;``-separated list, split and checked by a domain function.
* :class:`FilmOption`: a film, with the catalogue's autocomplete, resolved with the command's ``year`` and
  ``runtime`` options (:func:`catalogue_choices` is the same autocomplete for a free-text film option).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import discord
from discord import app_commands

from bot.domain.films import CHOICE_LIMIT, Film, format_choice, load_catalogue, resolve_film
from bot.domain.screenings import MAX_TITLE, check_title
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


def catalogue_choices(current: str, limit: int = CHOICE_LIMIT) -> list[app_commands.Choice[str]]:
    """Autocomplete from the film catalogue: ``Title (Year)`` as both name and value (at most 100 characters)."""
    films = load_catalogue().search(current, limit)
    return [app_commands.Choice(name=format_choice(f), value=format_choice(f)) for f in films]


class FilmOption(app_commands.Transformer):
    """``film: Transform[Film, FilmOption]``: autocomplete from the catalogue; the value is resolved to a
    :class:`~bot.domain.films.Film`, with the command's own ``year`` (and ``runtime``) options when it has them,
    so a film outside the catalogue is taken with its year. Errors say how to pick or add the film."""

    @property
    def max_value(self) -> int:
        return MAX_TITLE

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction[Any], value: str
    ) -> list[app_commands.Choice[str]]:
        return catalogue_choices(value)

    async def transform(self, interaction: discord.Interaction[Any], value: str) -> Film:
        options = interaction.namespace
        year = getattr(options, "year", None)
        runtime = getattr(options, "runtime", None)
        return resolve_film(check_title(value), year if isinstance(year, int) else None,
                            runtime if isinstance(runtime, int) else None)
