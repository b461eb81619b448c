"""Buttons and modals of Basil's Corner.

The persistent buttons (Leave a tribute, Approve, Decline) are ``DynamicItem``s: their custom id
carries the memorial id, so they keep working after a restart. The logic lives in the cog
(``cogs.basil.Basil``); these classes only collect input and hand it over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import discord

from bot.checks import require_moderator
from bot.domain.basil import MAX_STORY, MAX_TRIBUTE, clean_story, clean_tribute
from bot.errors import UserError
from bot.handlers import guarded
from bot.render import clip
from bot.ui import FilmClubModal, FilmClubView

if TYPE_CHECKING:
    from cogs.basil import Basil


def basil_cog(interaction: discord.Interaction[Any]) -> Basil:
    cog = interaction.client.get_cog("Basil")  # type: ignore[attr-defined]
    if cog is None:
        raise UserError("Basil's Corner is resting right now; please try again in a minute.")
    return cog  # type: ignore[no-any-return]


@dataclass
class Draft:
    """What `/basil memorial` collected before the story modal opens."""

    guild_id: int
    name: str
    key: str
    species: str | None
    born: date | None
    passed: date | None
    anniversaries: bool
    photo: discord.Attachment | None
    photo_ext: str | None


@dataclass
class EditDraft:
    memorial_id: int
    species: str | None
    born: date | None
    passed: date | None
    anniversaries: bool


# ----------------------------------------------------------------------------- modals
class StoryModal(FilmClubModal):
    def __init__(self, draft: Draft) -> None:
        super().__init__(title=clip(f"Remembering {draft.name}", 45), timeout=900)
        self.draft = draft
        self.story: discord.ui.TextInput[StoryModal] = discord.ui.TextInput(
            label="Their story",
            style=discord.TextStyle.paragraph,
            placeholder="What made them who they were? A favourite spot, a habit, a day you remember...",
            max_length=MAX_STORY,
            required=False,
        )
        self.add_item(self.story)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        story = clean_story(self.story.value)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await basil_cog(interaction).create_memorial(interaction, self.draft, story)


class EditModal(FilmClubModal):
    def __init__(self, draft: EditDraft, name: str, story: str) -> None:
        super().__init__(title=clip(f"Edit {name}'s memorial", 45), timeout=900)
        self.draft = draft
        self.story: discord.ui.TextInput[EditModal] = discord.ui.TextInput(
            label="Their story",
            style=discord.TextStyle.paragraph,
            default=story or None,
            max_length=MAX_STORY,
            required=False,
        )
        self.add_item(self.story)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        story = clean_story(self.story.value)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await basil_cog(interaction).apply_edit(interaction, self.draft, story)


class TributeModal(FilmClubModal):
    def __init__(self, memorial_id: int, name: str) -> None:
        super().__init__(title=clip(f"A tribute to {name}", 45), timeout=900)
        self.memorial_id = memorial_id
        self.text: discord.ui.TextInput[TributeModal] = discord.ui.TextInput(
            label="Your tribute",
            style=discord.TextStyle.paragraph,
            placeholder="A memory, a kind word, a thank-you...",
            max_length=MAX_TRIBUTE,
            required=True,
        )
        self.add_item(self.text)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        text = clean_tribute(self.text.value)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await basil_cog(interaction).post_tribute(interaction, self.memorial_id, text)


# ----------------------------------------------------------------------------- persistent buttons
class TributeButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"basil:tribute:(?P<id>[0-9]+)"):
    def __init__(self, memorial_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Leave a tribute", emoji="🕯️", style=discord.ButtonStyle.secondary,
                custom_id=f"basil:tribute:{memorial_id}",
            )
        )
        self.memorial_id = memorial_id

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction[Any], item: discord.ui.Button[Any], match: Any, /
    ) -> TributeButton:
        return cls(int(match["id"]))

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        memorial = await basil_cog(interaction).tributable(self.memorial_id, interaction.guild_id)
        await interaction.response.send_modal(TributeModal(memorial.id, memorial.name))


class ApproveButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"basil:approve:(?P<id>[0-9]+)"):
    def __init__(self, memorial_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Approve", emoji="🌈", style=discord.ButtonStyle.success,
                custom_id=f"basil:approve:{memorial_id}",
            )
        )
        self.memorial_id = memorial_id

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction[Any], item: discord.ui.Button[Any], match: Any, /
    ) -> ApproveButton:
        return cls(int(match["id"]))

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        await require_moderator(interaction)
        await interaction.response.defer()
        await basil_cog(interaction).approve(interaction, self.memorial_id)


class DeclineButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"basil:decline:(?P<id>[0-9]+)"):
    def __init__(self, memorial_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Decline", style=discord.ButtonStyle.secondary, custom_id=f"basil:decline:{memorial_id}",
            )
        )
        self.memorial_id = memorial_id

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction[Any], item: discord.ui.Button[Any], match: Any, /
    ) -> DeclineButton:
        return cls(int(match["id"]))

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        await require_moderator(interaction)
        await interaction.response.defer()
        await basil_cog(interaction).decline(interaction, self.memorial_id)


def card_view(memorial_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(TributeButton(memorial_id))
    return view


def queue_view(memorial_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ApproveButton(memorial_id))
    view.add_item(DeclineButton(memorial_id))
    return view


# ----------------------------------------------------------------------------- confirmation
class ConfirmRemoveView(FilmClubView):
    """Ephemeral: the member who asked confirms (or not) removing a memorial."""

    def __init__(self, owner_id: int, memorial_id: int) -> None:
        super().__init__(timeout=300)
        self.owner_id = owner_id
        self.memorial_id = memorial_id

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message("Only the member who asked can confirm this.", ephemeral=True)
            return False
        return True

    @discord.ui.button(label="Remove the memorial", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.defer()
        await basil_cog(interaction).remove(interaction, self.memorial_id)

    @discord.ui.button(label="Keep it", style=discord.ButtonStyle.secondary)
    async def keep(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(content="Nothing was changed; the memorial stays.", view=None)
