"""Screenings, member side: `/film info`, `/remind me`, `/rate`, `/ratings board|mine`, the rating buttons.

A mixin of the ``Screenings`` cog (``cogs/screenings/cog.py``); discord.py collects its commands through the MRO.
"""

from __future__ import annotations

import io

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import require_guild, require_member_can_post
from bot.domain import screenings as rules
from bot.domain.films import (
    choice_value,
    load_catalogue,
    normalize_title,
    parse_title_year,
)
from bot.domain.offsets import format_offsets, parse_offsets
from bot.errors import UserError
from bot.render import clip, escape
from bot.transformers import catalogue_choices
from bot.ui import Paginator
from cogs.screenings.service import ScreeningService
from cogs.screenings.views import film_card, mine_pages
from db.screenings import ReminderPref

Interaction = discord.Interaction[FilmClubBot]


class MemberCommands(commands.Cog):
    """Not loaded on its own: ``Screenings`` inherits these commands."""

    bot: FilmClubBot
    service: ScreeningService

    # ------------------------------------------------------------------ /film
    film = app_commands.Group(name="film", description="The film catalogue")

    @film.command(name="info", description="A film's card: year, runtime, director, Best Picture, premise")
    @app_commands.describe(title="Start typing a title")
    async def film_info(self, interaction: Interaction, title: str) -> None:
        bare, year = parse_title_year(title)
        found = load_catalogue().find(bare, year)
        if found is None:
            matches = load_catalogue().matches(bare)
            if len(matches) > 1:
                years = ", ".join(str(f.year) for f in matches)
                raise UserError(f"Several films are called `{escape(bare)}` ({years}): pick one from the list.")
            raise UserError(f"`{escape(clip(bare, 80))}` isn't in my catalogue. Pick a film from the list.")
        await interaction.response.send_message(embed=film_card(found), ephemeral=True)

    @film_info.autocomplete("title")
    async def _film_info_ac(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return catalogue_choices(current)

    # ------------------------------------------------------------------ /remind me
    remind = app_commands.Group(name="remind", description="Your screening reminders", guild_only=True)

    @remind.command(name="me", description="Choose when and how you're reminded of screenings you're going to")
    @app_commands.describe(
        offsets="How long before, e.g. `1h,10m`; `off` for none; `default` for the server's",
        via="A DM, or a mention in the screening's thread",
    )
    @app_commands.choices(via=[app_commands.Choice(name="DM", value="dm"),
                               app_commands.Choice(name="Mention in the thread", value="thread")])
    async def remind_me(self, interaction: Interaction, offsets: str | None = None, via: str | None = None) -> None:
        guild_id = require_guild(interaction)
        uid = interaction.user.id
        settings = await self.bot.settings.get(guild_id)
        current = await self.service.reminder_pref(guild_id, uid)
        if offsets is None and via is None:
            await interaction.response.send_message(describe_pref(current, settings.reminder_offsets), ephemeral=True)
            return
        if via is not None and via not in ("dm", "thread"):
            raise UserError("Choose `dm` or `thread` for how you're reminded.")
        reset = offsets is not None and offsets.strip().lower() == "default"
        if reset:
            text_offsets = None
        elif offsets is not None:
            text_offsets = format_offsets(parse_offsets(offsets))
        else:
            text_offsets = current.offsets if current else settings.reminder_offsets
        new_via = via or (current.via if current else "dm")
        pref = await self.service.set_reminder_pref(guild_id, uid, text_offsets, new_via)
        await interaction.response.send_message("Saved. " + describe_pref(pref, settings.reminder_offsets),
                                                ephemeral=True)

    @remind_me.autocomplete("offsets")
    async def _offsets_ac(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        options = ["1h,10m", "1d,1h", "2h", "30m", "off", "default"]
        if current.strip():
            options.insert(0, current.strip()[:100])
        return [app_commands.Choice(name=o, value=o) for o in dict.fromkeys(options)][:25]

    # ------------------------------------------------------------------ /rate, /ratings
    @app_commands.command(name="rate", description="Rate a film the club has screened: 1 to 5 thumbs")
    @app_commands.describe(film="A film screened here", thumbs="1 to 5", review="A few words (optional)")
    @app_commands.guild_only()
    async def rate(
        self, interaction: Interaction, film: str, thumbs: app_commands.Range[int, 1, 5],
        review: app_commands.Range[str, 1, 1000] | None = None,
    ) -> None:
        guild_id = require_guild(interaction)
        thumbs, text = rules.validate_rating(thumbs, review)
        chosen = await self.service.screened_film(guild_id, film)
        rating, new = await self.service.rate(guild_id, chosen, interaction.user.id, thumbs, text)
        verb = "Thanks! You gave" if new else "Updated: you now give"
        said = f" and said: “{escape(clip(rating.review, 200))}”" if rating.review else ""
        await interaction.response.send_message(
            f"{verb} **{escape(rating.label)}** {rules.thumbs_text(thumbs)} ({thumbs}/5){said}.", ephemeral=True
        )

    @rate.autocomplete("film")
    async def _rate_film_ac(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        return film_key_choices(await self.service.screened_films(interaction.guild_id), current)

    ratings = app_commands.Group(name="ratings", description="The club's film ratings", guild_only=True)

    @ratings.command(name="board", description="Average thumbs per film, with a chart")
    @app_commands.describe(film="One film's distribution and reviews (optional)")
    async def board(self, interaction: Interaction, film: str | None = None) -> None:
        guild_id = require_guild(interaction)
        require_member_can_post(interaction)
        # Validate, defer, then count and draw (the chart off the event loop): the answer comes at once
        # however many ratings there are (docs/benchmarks.md, "Profile of the slowest path"). The pages and
        # the chart are kept until anything is written to the database (db/cache.py).
        chosen = await self.service.rated_film(guild_id, film) if film is not None else None
        if chosen is None and not await self.service.has_ratings(guild_id):
            raise UserError("No ratings yet. After a screening, rate it with the buttons or `/rate`.")
        await interaction.response.defer(thinking=True)
        board = await self.service.board(guild_id, chosen)
        file = discord.File(io.BytesIO(board.png), "ratings.png")
        if len(board.pages) > 1:
            await interaction.followup.send(
                embed=board.pages[0], file=file, view=Paginator(list(board.pages), interaction.user.id)
            )
        else:
            await interaction.followup.send(embed=board.pages[0], file=file)

    @board.autocomplete("film")
    async def _board_film_ac(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        return film_key_choices(await self.service.rated_films(interaction.guild_id), current)

    @ratings.command(name="mine", description="Your own ratings")
    async def mine(self, interaction: Interaction) -> None:
        guild_id = require_guild(interaction)
        ratings = await self.service.ratings_of(guild_id, interaction.user.id)
        pages = mine_pages(ratings)
        if len(pages) > 1:
            view = Paginator(pages, interaction.user.id)
            await interaction.response.send_message(embed=pages[0], view=view, ephemeral=True)
        else:
            await interaction.response.send_message(embed=pages[0], ephemeral=True)


def film_key_choices(films: list[tuple[str, str, int | None]], current: str) -> list[app_commands.Choice[str]]:
    needle = normalize_title(current) if current.strip() else ""
    return [
        app_commands.Choice(name=clip(rules.film_label(title, year), 100), value=choice_value(key))
        for key, title, year in films
        if not needle or needle in normalize_title(title)
    ][:25]


def describe_pref(pref: ReminderPref | None, server_default: str) -> str:
    if pref is None:
        return (f"You get the server's reminders ({server_default or 'off'}) as a mention in the screening's "
                "thread, for screenings you're Going to. Set your own with `/remind me offsets:1h,10m via:dm`.")
    if pref.offsets == "off":
        return "Your screening reminders are off. Turn them back on with `/remind me offsets:default`."
    how = "by DM" if pref.via == "dm" else "as a mention in the screening's thread"
    return (f"You're reminded {pref.offsets.replace(',', ', ')} before screenings you're Going to, {how} "
            "(instead of the server's reminders). `/remind me offsets:off` turns them off.")
