"""Base classes for views and modals so their errors reach the one handler."""

from __future__ import annotations

import re
import secrets
import weakref
from collections.abc import Sequence
from typing import Any

import discord

from bot.handlers import report_error


class FilmClubView(discord.ui.View):
    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await report_error(interaction, error)


class FilmClubModal(discord.ui.Modal):
    async def on_error(  # type: ignore[override]
        self, interaction: discord.Interaction[Any], error: Exception, /
    ) -> None:
        await report_error(interaction, error)


_live_paginators: weakref.WeakValueDictionary[str, Paginator] = weakref.WeakValueDictionary()


def forget_live_pages() -> None:
    """Called when the bot closes: in-memory pages do not survive a restart."""
    for paginator in list(_live_paginators.values()):
        paginator.stop()
    _live_paginators.clear()


class Paginator(FilmClubView):
    """Previous/next buttons over pre-rendered embeds; only the member who asked can page.

    Pages live in memory. Once the view times out or the bot restarts, a click on its buttons is answered by
    :class:`ExpiredPages` ("run the command again") instead of Discord's "This interaction failed".
    """

    def __init__(self, pages: list[discord.Embed], owner_id: int, timeout: float = 600) -> None:
        super().__init__(timeout=timeout)
        self.pages = pages
        self.owner_id = owner_id
        self.index = 0
        self.token = secrets.token_hex(6)
        self.previous.custom_id = f"page:prev:{self.token}"
        self.counter.custom_id = f"page:count:{self.token}"
        self.next.custom_id = f"page:next:{self.token}"
        _live_paginators[self.token] = self
        self._sync()

    def _sync(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1
        self.counter.label = f"{self.index + 1}/{len(self.pages)}"

    async def on_timeout(self) -> None:
        _live_paginators.pop(self.token, None)

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message(
                "These buttons belong to whoever ran the command; run it yourself to page.",
                ephemeral=True,
            )
            return False
        return True

    @discord.ui.button(label="◀ Previous", style=discord.ButtonStyle.secondary, custom_id="page:prev")
    async def previous(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        self.index = max(0, self.index - 1)
        self._sync()
        await interaction.response.edit_message(embed=self.pages[self.index], view=self)

    @discord.ui.button(label="1/1", style=discord.ButtonStyle.secondary, disabled=True, custom_id="page:count")
    async def counter(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        await interaction.response.defer()

    @discord.ui.button(label="Next ▶", style=discord.ButtonStyle.secondary, custom_id="page:next")
    async def next(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        self.index = min(len(self.pages) - 1, self.index + 1)
        self._sync()
        await interaction.response.edit_message(embed=self.pages[self.index], view=self)


_EXPIRED_TEMPLATE = r"page:(?:prev|next|count):(?P<token>[0-9a-f]{12})"


class ExpiredPages(discord.ui.DynamicItem[discord.ui.Button[Any]], template=_EXPIRED_TEMPLATE):
    """Answers clicks on a :class:`Paginator` whose pages are gone (timed out, or the bot restarted)."""

    def __init__(self, token: str) -> None:
        super().__init__(discord.ui.Button(label="…", custom_id=f"page:next:{token}"))
        self.token = token

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction[Any], item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> ExpiredPages:
        return cls(match["token"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        if self.token in _live_paginators:
            return  # the live view answers this click itself
        await interaction.response.send_message(
            "These pages have expired. Run the command again to page through them.", ephemeral=True
        )


async def send_pages(
    interaction: discord.Interaction[Any],
    pages: Sequence[discord.Embed],
    *,
    ephemeral: bool = True,
    file: discord.File | None = None,
    content: str | None = None,
) -> None:
    """Answer with ``pages``: one embed as it is, several with Previous/Next buttons only the asker can use.

    Pings nobody, whatever the embeds say."""
    extra: dict[str, Any] = {"allowed_mentions": discord.AllowedMentions.none(), "ephemeral": ephemeral}
    if content is not None:
        extra["content"] = content
    if file is not None:
        extra["file"] = file
    if len(pages) > 1:
        extra["view"] = Paginator(list(pages), interaction.user.id)
    if interaction.response.is_done():
        await interaction.followup.send(embed=pages[0], **extra)
    else:
        await interaction.response.send_message(embed=pages[0], **extra)
