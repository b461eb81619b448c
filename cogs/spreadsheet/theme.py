"""The theme shelf: `/theme set title films`, `/theme show`, `/theme clear`.

A moderator shelves a few films under a title (films separated by ``;``). The shelf is posted in
the announcements channel (pinned when the bot may pin) and shown by `/theme show`. Each film
shows whether the club watched it and its next screening (with a link to the announcement); the
select menu under the shelf opens a film's catalogue card (a ``DynamicItem``, so it keeps
working after a restart). The shelf message is refreshed when a screening of a shelved film is
scheduled, moved, cancelled or finishes.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import announcements_channel, moderator_only, require_guild
from bot.domain.films import Film, choice_value, format_choice, is_choice_for, load_catalogue
from bot.domain.spreadsheet import average, format_average
from bot.domain.theme import check_title, complete_shelf, parse_shelf
from bot.errors import UserError
from bot.handlers import guarded
from bot.render import CLUB_COLOUR, clip, escape, ts, ts_full
from cogs.screenings.views import film_card
from cogs.spreadsheet.cog import club_watched_dates
from db import screenings as screenings_repo
from db import theme as repo
from db.screenings import Screening
from db.theme import ShelfFilm, Theme

log = logging.getLogger(__name__)

Interaction = discord.Interaction[FilmClubBot]
CARD_ID = "theme:card"
VALUE_MAX = 100


def _film_of(item: ShelfFilm) -> Film:
    return load_catalogue().get(item.film_key) or Film(key=item.film_key, title=item.title, year=item.year or 0)


def _upcoming_by_film(upcoming: list[Screening]) -> dict[str, list[Screening]]:
    found: dict[str, list[Screening]] = {}
    for s in upcoming:
        found.setdefault(s.film_key, []).append(s)
    return found


def shelf_embed(theme: Theme, watched: dict[str, int], upcoming: list[Screening]) -> discord.Embed:
    embed = discord.Embed(title=clip(f"📚 Theme shelf: {theme.title}", 256), colour=CLUB_COLOUR)
    by_film = _upcoming_by_film(upcoming)
    lines = [f"Shelved by <@{theme.set_by}> {ts(theme.set_at, 'R')}.", ""]
    for number, item in enumerate(theme.films, start=1):
        film = _film_of(item)
        bits = [f"**{number}. {escape(film.title)}**" + (f" ({film.year})" if film.year else "")]
        if film.director:
            bits.append(escape(film.director))
        if film.runtime:
            bits.append(f"{film.runtime} min")
        if film.is_winner:
            bits.append("🏆 Best Picture")
        elif film.is_nominee:
            bits.append("Best Picture nominee")
        if item.film_key in watched:
            bits.append(f"✅ watched {ts(watched[item.film_key], 'd')}")
        lines.append(" · ".join(bits))
        nexts = by_film.get(item.film_key, [])
        if nexts:
            s = nexts[0]
            link = f" · [announcement]({s.jump_url})" if s.jump_url else ""
            lines.append(f"\u2003🎟️ Screening #{s.id} {ts_full(s.starts_at)}{link}")
    embed.description = clip("\n".join(lines), 4000)
    embed.set_footer(text="Pick a film below for its catalogue card.")
    return embed


class ShelfCardSelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=re.escape(CARD_ID)):
    """The select menu under a shelf: the chosen film's card, privately."""

    def __init__(self, options: list[discord.SelectOption] | None = None) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=CARD_ID,
                placeholder="A film's catalogue card…",
                options=options or [discord.SelectOption(label="…", value="-")],
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ShelfCardSelect:
        return cls()

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        cog = interaction.client.get_cog("ThemeShelf")
        assert isinstance(cog, ThemeShelf)
        values = self.item.values
        if not values:
            raise UserError("Pick a film from the menu.")
        await cog.send_card(interaction, values[0])


def shelf_view(theme: Theme) -> discord.ui.View:
    options = [
        discord.SelectOption(label=clip(item.label, 100), value=choice_value(item.film_key))
        for item in theme.films
        if len(item.film_key) <= VALUE_MAX
    ]
    view = discord.ui.View(timeout=None)
    if options:
        view.add_item(ShelfCardSelect(options[:25]))
    return view


class ThemeShelf(commands.Cog):
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ShelfCardSelect)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ShelfCardSelect)

    theme = app_commands.Group(name="theme", description="The club's theme shelf", guild_only=True)

    # -- rendering

    async def render(self, theme: Theme) -> discord.Embed:
        watched = await club_watched_dates(self.bot, theme.guild_id)
        upcoming = await screenings_repo.list_upcoming(self.bot.store, theme.guild_id, limit=100)
        return shelf_embed(theme, watched, upcoming)

    async def send_card(self, interaction: discord.Interaction[Any], film_key: str) -> None:
        guild_id = require_guild(interaction)
        film = load_catalogue().get(film_key)
        if film is None:
            theme = await repo.get_theme(self.bot.store, guild_id)
            shelved = next((f for f in (theme.films if theme else ()) if is_choice_for(f.film_key, film_key)), None)
            if shelved is None:
                raise UserError("That film is no longer on the shelf.")
            film = _film_of(shelved)
        embed = film_card(film)
        watched = (await club_watched_dates(self.bot, guild_id)).get(film.key)
        ratings = await screenings_repo.ratings_for_film(self.bot.store, guild_id, film.key)
        club = f"✅ Watched {ts(watched, 'D')}" if watched is not None else "Not watched yet"
        if ratings:
            club += f" · {format_average(average(r.thumbs for r in ratings))}👍 average from {len(ratings)}"
        embed.add_field(name="At the club", value=club, inline=False)
        scheduled = await screenings_repo.list_upcoming(self.bot.store, guild_id, limit=100)
        upcoming = [s for s in scheduled if s.film_key == film.key]
        if upcoming:
            embed.add_field(
                name="Upcoming screenings",
                value=clip(
                    "\n".join(
                        f"#{s.id} {ts_full(s.starts_at)}" + (f" · [announcement]({s.jump_url})" if s.jump_url else "")
                        for s in upcoming[:5]
                    ),
                    1024,
                ),
                inline=False,
            )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    async def retire(self, old: Theme, note: str, *, delete: bool = False) -> None:
        """Unpin the old shelf message (if we pinned it) and mark it as over (or delete it). Best effort."""
        if old.channel_id is None or old.message_id is None:
            return
        channel = self.bot.get_channel(old.channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            return
        message = channel.get_partial_message(old.message_id)  # type: ignore[attr-defined]
        try:
            if delete:
                await message.delete()
                return
            if old.pinned:
                await message.unpin(reason="theme shelf replaced or cleared")
            await message.edit(content=note, view=None)
        except discord.HTTPException as exc:
            log.info("could not retire shelf message %s: %s", old.message_id, exc)

    async def refresh(self, guild_id: int) -> None:
        theme = await repo.get_theme(self.bot.store, guild_id)
        if theme is None or theme.channel_id is None or theme.message_id is None:
            return
        channel = self.bot.get_channel(theme.channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            return
        message = channel.get_partial_message(theme.message_id)  # type: ignore[attr-defined]
        try:
            await message.edit(embed=await self.render(theme), view=shelf_view(theme))
        except discord.NotFound:
            await self._forget(guild_id, theme.message_id)
        except discord.HTTPException as exc:
            log.info("could not refresh shelf message %s: %s", theme.message_id, exc)

    # -- screening events

    async def _on_screening(self, screening: Screening) -> None:
        theme = await repo.get_theme(self.bot.store, screening.guild_id)
        if theme is not None and any(f.film_key == screening.film_key for f in theme.films):
            await self.refresh(screening.guild_id)

    @commands.Cog.listener()
    async def on_screening_finished(self, screening: Screening) -> None:
        await self._on_screening(screening)

    @commands.Cog.listener()
    async def on_screening_scheduled(self, screening: Screening) -> None:
        await self._on_screening(screening)

    @commands.Cog.listener()
    async def on_screening_rescheduled(self, screening: Screening) -> None:
        await self._on_screening(screening)

    @commands.Cog.listener()
    async def on_screening_cancelled(self, screening: Screening) -> None:
        await self._on_screening(screening)

    # -- the shelf message

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        if payload.guild_id is not None:
            await self._forget(payload.guild_id, payload.message_id)

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        if payload.guild_id is not None:
            for message_id in payload.message_ids:
                await self._forget(payload.guild_id, message_id)

    async def _forget(self, guild_id: int, message_id: int) -> None:
        if await repo.forget_message(self.bot.store, guild_id, message_id):
            log.info("theme shelf message %s of guild %s was deleted", message_id, guild_id)

    async def shelf_channel(self, guild: discord.Guild) -> discord.TextChannel:
        """The announcements channel, if the bot can post the shelf there; else a UserError saying why."""
        return await announcements_channel(self.bot, guild, doing="post the shelf")

    async def post(self, channel: discord.TextChannel, theme: Theme, actor: str) -> tuple[discord.Message, bool, str]:
        """Send the shelf and pin it when the bot may. Returns (message, pinned, a note for the moderator)."""
        message = await channel.send(embed=await self.render(theme), view=shelf_view(theme))
        perms = channel.permissions_for(channel.guild.me)
        if not perms.pin_messages:  # since 2026-02-23 Manage Messages alone does not allow pinning
            return message, False, (
                f" I didn't pin it: I need the Pin Messages permission in {channel.mention}. Once my role has it, "
                "`/theme repost` posts and pins the shelf again."
            )
        try:
            await message.pin(reason=f"theme shelf posted by {actor}")
        except discord.Forbidden:
            return message, False, " I couldn't pin it: I need the Pin Messages permission there."
        except discord.HTTPException:
            return message, False, (
                " I couldn't pin it: the channel may already have as many pins as Discord allows. "
                "Unpin an old message, then run `/theme repost`."
            )
        return message, True, ""

    # -- commands

    @theme.command(name="set", description="Moderators: shelve films under a theme (films separated by ;)")
    @app_commands.describe(title="The theme, e.g. Robots with feelings", films="e.g. Her (2013); Ex Machina; WALL·E")
    @moderator_only()
    async def set_(self, interaction: Interaction, title: str, films: str) -> None:
        guild_id = require_guild(interaction)
        guild = interaction.guild
        assert guild is not None
        name = check_title(title)
        shelf = parse_shelf(films)
        channel = await self.shelf_channel(guild)
        await interaction.response.defer(ephemeral=True, thinking=True)
        now = self.bot.now_ts()
        items = [ShelfFilm(f.key, f.title, f.year) for f in shelf]
        draft = Theme(guild_id=guild_id, title=name, films=tuple(items), set_by=interaction.user.id, set_at=now)
        message, pinned, pin_note = await self.post(channel, draft, str(interaction.user))
        async with self.bot.store.transaction() as tx:
            old = await repo.get_theme(tx, guild_id)
            await repo.set_theme(tx, guild_id, name, items, set_by=interaction.user.id, now=now)
            await repo.set_message(tx, guild_id, channel.id, message.id, pinned)
        if old is not None:
            await self.retire(old, f"This shelf was replaced by **{escape(name)}**.")
        listed = ", ".join(escape(format_choice(f)) for f in shelf)
        where = f"{channel.mention}{' and pinned' if pinned else ''}"
        text = f"Shelf **{escape(name)}** posted in {where}: {listed}.{pin_note}"
        await interaction.followup.send(clip(text, 2000), ephemeral=True)

    @theme.command(name="repost", description="Moderators: post the current shelf again (e.g. after it was deleted)")
    @moderator_only()
    async def repost(self, interaction: Interaction) -> None:
        guild_id = require_guild(interaction)
        guild = interaction.guild
        assert guild is not None
        theme = await repo.get_theme(self.bot.store, guild_id)
        if theme is None:
            raise UserError("There's no theme shelf to post. Set one with `/theme set`.")
        channel = await self.shelf_channel(guild)
        await interaction.response.defer(ephemeral=True, thinking=True)
        message, pinned, pin_note = await self.post(channel, theme, str(interaction.user))
        async with self.bot.store.transaction() as tx:
            current = await repo.get_theme(tx, guild_id)
            if current is None or current.set_at != theme.set_at:
                stale = True
            else:
                stale = False
                await repo.set_message(tx, guild_id, channel.id, message.id, pinned)
        if stale:  # the shelf was cleared or replaced meanwhile: take this copy down again
            await self.retire(
                Theme(guild_id, theme.title, theme.films, theme.set_by, theme.set_at, channel.id, message.id, pinned),
                "This shelf was taken down while it was being posted.",
            )
            raise UserError("The shelf changed while I was posting it; run `/theme show` to see the current one.")
        if theme.message_id is not None and theme.message_id != message.id:
            await self.retire(theme, "This shelf was posted again further down.", delete=True)
        where = f"{channel.mention}{' and pinned' if pinned else ''}"
        await interaction.followup.send(
            clip(f"Shelf **{escape(theme.title)}** posted again in {where}.{pin_note}", 2000), ephemeral=True
        )

    @set_.autocomplete("films")
    async def _films_choices(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=c, value=c) for c in complete_shelf(current, load_catalogue())]

    @theme.command(name="show", description="The current theme shelf")
    async def show(self, interaction: Interaction) -> None:
        guild_id = require_guild(interaction)
        theme = await repo.get_theme(self.bot.store, guild_id)
        if theme is None:
            raise UserError("There's no theme shelf right now. A moderator can set one with `/theme set`.")
        embed = await self.render(theme)
        if theme.channel_id and theme.message_id and interaction.guild is not None:
            url = f"https://discord.com/channels/{interaction.guild.id}/{theme.channel_id}/{theme.message_id}"
            embed.add_field(name="Posted", value=f"[in <#{theme.channel_id}>]({url})", inline=False)
        else:
            embed.add_field(
                name="Posted",
                value="The shelf's message was deleted. A moderator can post it again with `/theme repost`.",
                inline=False,
            )
        await interaction.response.send_message(embed=embed, view=shelf_view(theme), ephemeral=True)

    @theme.command(name="clear", description="Moderators: take the theme shelf down")
    @moderator_only()
    async def clear(self, interaction: Interaction) -> None:
        guild_id = require_guild(interaction)
        old = await repo.clear_theme(self.bot.store, guild_id)
        if old is None:
            raise UserError("There's no theme shelf to clear.")
        await self.retire(old, f"The shelf **{escape(old.title)}** has been cleared.")
        await interaction.response.send_message(f"Cleared the shelf **{escape(old.title)}**.", ephemeral=True)


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(ThemeShelf(bot))
