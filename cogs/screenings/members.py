"""Screenings, member side: `/film info`, `/remind me`, `/rate`, `/ratings board|mine`, the rating buttons.

A mixin of the ``Screenings`` cog (``cogs/screenings/cog.py``); discord.py collects its commands through the MRO.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.charts import bar_chart_png
from bot.checks import require_guild, require_member_can_post
from bot.domain import screenings as rules
from bot.domain.films import (
    choice_value,
    format_choice,
    is_choice_for,
    load_catalogue,
    normalize_title,
    parse_title_year,
)
from bot.domain.offsets import format_offsets, parse_offsets
from bot.errors import UserError
from bot.render import clip, escape
from bot.ui import Paginator
from bot.worker import Worker
from cogs.screenings.service import ScreeningService, personal_prefix
from cogs.screenings.views import CHART_FILMS, board_pages, film_board_embed, film_card, mine_pages
from db import dm_channels as dm_repo
from db import screenings as repo
from db.cache import ReadCache

Interaction = discord.Interaction[FilmClubBot]


async def screening_or_error(bot: FilmClubBot, guild_id: int, screening_id: int) -> repo.Screening:
    s = await repo.get_screening(bot.store, screening_id, guild_id)
    if s is None:
        raise UserError(f"There is no screening #{screening_id} on this server. `/screening list` shows them.")
    return s


@dataclass(frozen=True)
class Board:
    """A drawn ratings board: its pages (each showing the chart) and the chart's PNG."""

    pages: tuple[discord.Embed, ...]
    png: bytes


async def _draw_board(
    worker: Worker, pages: list[discord.Embed], title: str, labels: list[str], values: list[float],
    highlight: set[int],
) -> Board:
    png = await worker.run(bar_chart_png, title, labels, values, highlight=highlight)
    for page in pages:
        page.set_image(url="attachment://ratings.png")
    return Board(tuple(pages), png)


class MemberCommands(commands.Cog):
    """Not loaded on its own: ``Screenings`` inherits these commands."""

    bot: FilmClubBot
    service: ScreeningService
    board_cache: ReadCache[tuple[int, str | None, str | None, int | None], Board]

    async def handle_rate_button(self, interaction: Interaction, screening_id: int, thumbs: int) -> None:
        guild_id = require_guild(interaction)
        s = await screening_or_error(self.bot, guild_id, screening_id)
        if s.status == repo.CANCELLED:
            raise UserError(f"The screening of **{escape(s.label)}** was cancelled, so there's nothing to rate here.")
        if s.status != repo.FINISHED:
            raise UserError(f"You can rate **{escape(s.label)}** once its screening has finished.")
        thumbs, _ = rules.validate_rating(thumbs, None)
        rating, new = await repo.set_rating(
            self.bot.store, guild_id, s.film_key, interaction.user.id, thumbs, None, self.bot.now_ts(),
            title=s.title, year=s.year, screening_id=s.id,
        )
        verb = "Thanks! You gave" if new else "Changed: you now give"
        extra = "" if rating.review else " Add a few words with `/rate`."
        await interaction.response.send_message(
            f"{verb} **{escape(s.label)}** {rules.thumbs_text(thumbs)} ({thumbs}/5).{extra}", ephemeral=True
        )

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
        current = await repo.get_reminder_pref(self.bot.store, guild_id, uid)
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
        async with self.bot.store.transaction() as tx:
            await dm_repo.forget_closed(tx, uid)  # changed settings: the next DM reminder tries their DMs again
            if reset:
                await repo.clear_reminder_pref(tx, guild_id, uid)
            else:
                assert text_offsets is not None
                await repo.set_reminder_pref(tx, guild_id, uid, text_offsets, new_via, self.bot.now_ts())
            pref = await repo.get_reminder_pref(tx, guild_id, uid)
            for s in await repo.upcoming_going_for_member(tx, guild_id, uid):
                await self.bot.scheduler.cancel_prefix(guild_id, personal_prefix(s.id, uid), db=tx)
                await self.service.queue_personal(tx, s, uid, pref)
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
        film_key, title, year = await self._screened_film(guild_id, film)
        rating, new = await repo.set_rating(
            self.bot.store, guild_id, film_key, interaction.user.id, thumbs, text, self.bot.now_ts(),
            title=title, year=year,
        )
        verb = "Thanks! You gave" if new else "Updated: you now give"
        said = f" and said: “{escape(clip(rating.review, 200))}”" if rating.review else ""
        await interaction.response.send_message(
            f"{verb} **{escape(rating.label)}** {rules.thumbs_text(thumbs)} ({thumbs}/5){said}.", ephemeral=True
        )

    async def _screened_film(self, guild_id: int, text: str) -> tuple[str, str, int | None]:
        films = await repo.screened_films(self.bot.store, guild_id)
        for key, title, year in films:
            if is_choice_for(key, text):
                return key, title, year
        bare, year_given = parse_title_year(text)
        wanted = normalize_title(bare)
        hits = [f for f in films if normalize_title(f[1]) == wanted and (year_given is None or f[2] == year_given)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise UserError(f"Several screened films are called `{escape(bare)}`: pick one from the list.")
        upcoming = await repo.list_upcoming(self.bot.store, guild_id, limit=100)
        if any(normalize_title(s.title) == wanted for s in upcoming):
            raise UserError(f"You can rate `{escape(bare)}` once its screening has finished.")
        raise UserError(
            f"`{escape(clip(bare, 80))}` hasn't been screened on this server yet. Pick a film from the list."
        )

    @rate.autocomplete("film")
    async def _rate_film_ac(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        films = await repo.screened_films(self.bot.store, interaction.guild_id)
        return film_key_choices(films, current)

    ratings = app_commands.Group(name="ratings", description="The club's film ratings", guild_only=True)

    @ratings.command(name="board", description="Average thumbs per film, with a chart")
    @app_commands.describe(film="One film's distribution and reviews (optional)")
    async def board(self, interaction: Interaction, film: str | None = None) -> None:
        guild_id = require_guild(interaction)
        require_member_can_post(interaction)
        # Validate, defer, then count and draw (the chart off the event loop): the answer comes at once
        # however many ratings there are (docs/benchmarks.md, "Profile of the slowest path"). The pages and
        # the chart are kept until anything is written to the database (db/cache.py).
        if film is not None:
            key, title, year = await self._rated_film(guild_id, film)
            # The title shown is part of the key, so a board is only ever served with the title it was drawn for.
            cache_key: tuple[int, str | None, str | None, int | None] = (guild_id, key, title, year)
            compute = functools.partial(self._film_board, guild_id, key, title, year)
        else:
            if not await repo.has_ratings(self.bot.store, guild_id):
                raise UserError("No ratings yet. After a screening, rate it with the buttons or `/rate`.")
            cache_key = (guild_id, None, None, None)
            compute = functools.partial(self._club_board, guild_id)
        await interaction.response.defer(thinking=True)
        board = await self.board_cache.get(cache_key, compute)
        file = discord.File(io.BytesIO(board.png), "ratings.png")
        if len(board.pages) > 1:
            await interaction.followup.send(
                embed=board.pages[0], file=file, view=Paginator(list(board.pages), interaction.user.id)
            )
        else:
            await interaction.followup.send(embed=board.pages[0], file=file)

    async def _film_board(self, guild_id: int, key: str, title: str, year: int | None) -> Board:
        ratings = await repo.ratings_for_film(self.bot.store, guild_id, key)
        summary = rules.summarize(r.thumbs for r in ratings)
        label = rules.film_label(title, year)
        labels = [f"{i} thumb{'s' if i > 1 else ''}" for i in range(1, 6)]
        most = max(summary.distribution)
        return await _draw_board(
            self.bot.worker,
            [film_board_embed(label, summary, ratings)],
            f"{clip(label, 60)}: {summary.count} ratings, {summary.average_text} average", labels,
            list(summary.distribution), {i for i, n in enumerate(summary.distribution) if n == most and n},
        )

    async def _club_board(self, guild_id: int) -> Board:
        films = await repo.rating_distributions(self.bot.store, guild_id)
        if not films:
            raise UserError("No ratings yet. After a screening, rate it with the buttons or `/rate`.")
        rows = sorted(
            ((rules.film_label(title, year),
              rules.summarize(thumbs for thumbs, n in enumerate(dist, start=1) for _ in range(n)))
             for _, title, year, dist in films),
            key=lambda row: (-row[1].average, -row[1].count, row[0].lower()),
        )
        leaders = rows[:CHART_FILMS]
        best = leaders[0][1].average
        title = "Average thumbs per film" if len(rows) <= CHART_FILMS else f"Average thumbs: top {CHART_FILMS}"
        return await _draw_board(
            self.bot.worker,
            board_pages(rows), title, [clip(label, 40) for label, _ in leaders],
            [round(s.average, 2) for _, s in leaders], {i for i, (_, s) in enumerate(leaders) if s.average == best},
        )

    async def _rated_film(self, guild_id: int, text: str) -> tuple[str, str, int | None]:
        films = await repo.rated_films(self.bot.store, guild_id)
        bare, year_given = parse_title_year(text)
        wanted = normalize_title(bare)
        for f in films:
            if is_choice_for(f[0], text):
                return f
        hits = [f for f in films if normalize_title(f[1]) == wanted and (year_given is None or f[2] == year_given)]
        if len(hits) == 1:
            return hits[0]
        raise UserError(f"Nobody has rated `{escape(clip(bare, 80))}` here yet. Pick a film from the list.")

    @board.autocomplete("film")
    async def _board_film_ac(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        return film_key_choices(await repo.rated_films(self.bot.store, interaction.guild_id), current)

    @ratings.command(name="mine", description="Your own ratings")
    async def mine(self, interaction: Interaction) -> None:
        guild_id = require_guild(interaction)
        ratings = await repo.ratings_for_member(self.bot.store, guild_id, interaction.user.id)
        pages = mine_pages(ratings)
        if len(pages) > 1:
            view = Paginator(pages, interaction.user.id)
            await interaction.response.send_message(embed=pages[0], view=view, ephemeral=True)
        else:
            await interaction.response.send_message(embed=pages[0], ephemeral=True)


def catalogue_choices(current: str) -> list[app_commands.Choice[str]]:
    films = load_catalogue().search(current)
    return [app_commands.Choice(name=format_choice(f), value=format_choice(f)) for f in films]


def film_key_choices(films: list[tuple[str, str, int | None]], current: str) -> list[app_commands.Choice[str]]:
    needle = normalize_title(current) if current.strip() else ""
    return [
        app_commands.Choice(name=clip(rules.film_label(title, year), 100), value=choice_value(key))
        for key, title, year in films
        if not needle or needle in normalize_title(title)
    ][:25]


def describe_pref(pref: repo.ReminderPref | None, server_default: str) -> str:
    if pref is None:
        return (f"You get the server's reminders ({server_default or 'off'}) as a mention in the screening's "
                "thread, for screenings you're Going to. Set your own with `/remind me offsets:1h,10m via:dm`.")
    if pref.offsets == "off":
        return "Your screening reminders are off. Turn them back on with `/remind me offsets:default`."
    how = "by DM" if pref.via == "dm" else "as a mention in the screening's thread"
    return (f"You're reminded {pref.offsets.replace(',', ', ')} before screenings you're Going to, {how} "
            "(instead of the server's reminders). `/remind me offsets:off` turns them off.")
