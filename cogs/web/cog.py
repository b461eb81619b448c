"""`/filmclub calendar` and `/filmclub web`, and the display names the pages show (the work is ``bot.web``).

The two commands join the `/filmclub` group of ``cogs.admin`` (Discord allows one top-level `/filmclub`): they
are built here, bound to this cog, and added to that group when this extension loads (``cogs.admin`` loads
first, see ``EXTENSIONS`` in ``bot/app.py``), and taken out again when it unloads.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import is_moderator, moderator_only, require_guild
from bot.errors import UserError
from cogs.web import views
from cogs.web.server import RateLimiter, WebApp
from cogs.web.service import WebService
from db.store import StoreError

log = logging.getLogger(__name__)

Interaction = discord.Interaction[FilmClubBot]


class Web(commands.Cog):
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        self.service: WebService = bot.web
        self._commands: list[app_commands.Command[Any, Any, Any]] = []

    # ------------------------------------------------------------------ life
    async def cog_load(self) -> None:
        group = self.bot.tree.get_command("filmclub")
        if not isinstance(group, app_commands.Group):
            raise RuntimeError("cogs.web needs the /filmclub group of cogs.admin: load cogs.admin first")
        self._commands = [
            app_commands.Command(
                name="calendar", callback=self.calendar,
                description="Links to subscribe to the club's screenings in your calendar app", parent=group,
            ),
            app_commands.Command(
                name="web", callback=self.web,
                description="Moderators: turn the club's web pages and calendar on or off, show or rotate the link",
                parent=group,
            ),
        ]
        for command in self._commands:
            group.add_command(command)

    def new_webapp(self, limiter: RateLimiter | None = None) -> WebApp:
        """Another application over the same service (tests drive it with aiohttp's test client)."""
        return WebApp(self.service, limiter)

    async def cog_unload(self) -> None:
        group = self.bot.tree.get_command("filmclub")
        if isinstance(group, app_commands.Group):
            for command in self._commands:
                group.remove_command(command.name)

    # ------------------------------------------------------------------ display names
    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Remember the display names pages show (servers with pages on only; written when a name changed)."""
        if not self.service.running or interaction.guild_id is None or not isinstance(interaction.user, discord.Member):
            return
        try:
            await self.service.note_member(interaction.guild_id, interaction.user.id, interaction.user.display_name)
        except StoreError as exc:
            log.warning("could not remember a display name: %s", exc)

    # ------------------------------------------------------------------ commands
    def _running(self) -> WebService:
        if not self.service.running:
            raise UserError(views.WEB_OFF)
        return self.service

    async def calendar(self, interaction: Interaction) -> None:
        guild_id = require_guild(interaction)
        service = self._running()
        site = await service.site(guild_id)
        if site is None or not site.enabled:
            raise UserError(views.calendar_off_text(await is_moderator(interaction)))
        site = await service.ensure_token(site)
        feed = service.feed_url(service.site_token(site))
        personal = service.member_feed_url(await service.member_token(site, interaction.user.id))
        await interaction.response.send_message(
            views.calendar_text(service.webcal(feed), service.google_url(feed), service.webcal(personal), personal),
            ephemeral=True, suppress_embeds=True,
        )

    @app_commands.describe(action="Turn the pages on or off, show the link, or rotate it (old links stop working)")
    @app_commands.choices(action=[
        app_commands.Choice(name="Show", value="show"),
        app_commands.Choice(name="On", value="on"),
        app_commands.Choice(name="Off", value="off"),
        app_commands.Choice(name="Rotate link", value="rotate"),
    ])
    @moderator_only()
    async def web(self, interaction: Interaction, action: str = "show") -> None:
        guild_id = require_guild(interaction)
        service = self._running()
        by = interaction.user.id
        site = await service.site(guild_id)
        changed: str | None = None
        if action == "on":
            changed = "Already on." if site and site.enabled else "✅ Turned on."
            site = await service.switch(guild_id, True, by)
            if isinstance(interaction.user, discord.Member):
                await service.note_member(guild_id, by, interaction.user.display_name)
        elif action == "off":
            changed = "✅ Turned off: the pages and feeds answer 404 now." if site and site.enabled else "Already off."
            if site is not None:
                site = await service.switch(guild_id, False, by)
        elif action == "rotate":
            if site is None:
                raise UserError("There is no link to rotate yet. Turn the pages on with `/filmclub web action:On`.")
            site = await service.rotate(guild_id, by)
            changed = ("🔁 New link made. The old link and every personal calendar link stopped working; members "
                       "get new ones with `/filmclub calendar`.")
        elif site is not None:
            site = await service.ensure_token(site)
        url = service.page_url(service.site_token(site)) if site is not None else None
        await interaction.response.send_message(
            views.web_status_text(site, url, changed=changed), ephemeral=True, suppress_embeds=True
        )


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(Web(bot))
