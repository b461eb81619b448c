"""Buttons and forms of Basil's Corner.

Nothing here lives only in memory, so every button and form keeps working after a restart:

- the buttons (Leave a tribute, Approve, Decline, and the Remove/Keep confirmation) are one
  ``DynamicItem`` whose custom id carries the action and the memorial id (``basil:approve:12``);
- the forms (the story of a new memorial, an edit, a tribute) are not kept by discord.py at all:
  their custom id names a draft saved in the database (``basil:story:<draft id>``) or the memorial
  (``basil:tribute-form:<memorial id>``), and the cog's ``on_interaction`` listener handles the
  submit. A story written for an hour, or across a restart, is never lost.

The logic lives in the cog (``cogs.basil.cog.Basil``); these pieces only carry input to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import discord

from bot.domain.basil import MAX_STORY, MAX_TRIBUTE
from bot.errors import UserError
from bot.handlers import guarded
from bot.render import clip

if TYPE_CHECKING:
    from cogs.basil.cog import Basil

STORY, EDIT, TRIBUTE = "story", "edit", "tribute-form"
FORM_ID = re.compile(rf"basil:(?P<form>{STORY}|{EDIT}|{TRIBUTE}):(?P<id>[0-9]{{1,19}})")
STORY_FIELD, TRIBUTE_FIELD = "story", "tribute"

# action -> (label, emoji, style)
BUTTONS: dict[str, tuple[str, str | None, discord.ButtonStyle]] = {
    "tribute": ("Leave a tribute", "🕯️", discord.ButtonStyle.secondary),
    "approve": ("Approve", "🌈", discord.ButtonStyle.success),
    "decline": ("Decline", None, discord.ButtonStyle.secondary),
    "approve-edit": ("Approve the changes", "🌈", discord.ButtonStyle.success),
    "decline-edit": ("Decline the changes", None, discord.ButtonStyle.secondary),
    "remove": ("Remove the memorial", None, discord.ButtonStyle.danger),
    "keep": ("Keep it", None, discord.ButtonStyle.secondary),
}


def basil_cog(interaction: discord.Interaction[Any]) -> Basil:
    cog = interaction.client.get_cog("Basil")  # type: ignore[attr-defined]
    if cog is None:
        raise UserError("Basil's Corner is resting right now; please try again in a minute.")
    return cog  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- buttons
class MemorialButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"basil:(?P<action>tribute|approve-edit|decline-edit|approve|decline|remove|keep):(?P<id>[0-9]{1,19})(?::(?P<owner>[0-9]{1,19}))?",
):
    """Every button of Basil's Corner; ``owner`` is who may answer a confirmation."""

    def __init__(self, action: str, memorial_id: int, owner_id: int | None = None) -> None:
        label, emoji, style = BUTTONS[action]
        custom_id = f"basil:{action}:{memorial_id}" + (f":{owner_id}" if owner_id is not None else "")
        super().__init__(discord.ui.Button(label=label, emoji=emoji, style=style, custom_id=custom_id))
        self.action = action
        self.memorial_id = memorial_id
        self.owner_id = owner_id

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction[Any], item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> MemorialButton:
        owner = match["owner"]
        return cls(match["action"], int(match["id"]), int(owner) if owner else None)

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        await basil_cog(interaction).on_button(interaction, self.action, self.memorial_id, self.owner_id)


def buttons(memorial_id: int, *actions: str, owner_id: int | None = None) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in actions:
        view.add_item(MemorialButton(action, memorial_id, owner_id))
    return view


def card_view(memorial_id: int) -> discord.ui.View:
    return buttons(memorial_id, "tribute")


def queue_view(memorial_id: int) -> discord.ui.View:
    return buttons(memorial_id, "approve", "decline")


def edit_queue_view(memorial_id: int) -> discord.ui.View:
    return buttons(memorial_id, "approve-edit", "decline-edit")


def confirm_remove_view(memorial_id: int, owner_id: int) -> discord.ui.View:
    return buttons(memorial_id, "remove", "keep", owner_id=owner_id)


# ----------------------------------------------------------------------------- forms
def form(
    kind: str, ref: int, title: str, *, field: str, label: str, max_length: int, required: bool,
    placeholder: str | None = None, default: str | None = None,
) -> discord.ui.Modal:
    """A one-field form that discord.py does not keep: its submit reaches ``Basil.on_interaction``."""
    modal = discord.ui.Modal(title=clip(title, 45), custom_id=f"basil:{kind}:{ref}", timeout=None)
    modal.add_item(
        discord.ui.TextInput(
            label=label, custom_id=field, style=discord.TextStyle.paragraph, placeholder=placeholder,
            default=default or None, max_length=max_length, required=required,
        )
    )
    modal.stop()  # finished before it is sent, so discord.py does not hold on to it
    return modal


def story_form(draft_id: int, name: str) -> discord.ui.Modal:
    return form(
        STORY, draft_id, f"Remembering {name}", field=STORY_FIELD, label="Their story", max_length=MAX_STORY,
        required=False, placeholder="What made them who they were? A favourite spot, a habit, a day you remember...",
    )


def edit_form(draft_id: int, name: str, story: str) -> discord.ui.Modal:
    return form(
        EDIT, draft_id, f"Edit {name}'s memorial", field=STORY_FIELD, label="Their story", max_length=MAX_STORY,
        required=False, default=story,
    )


def tribute_form(memorial_id: int, name: str) -> discord.ui.Modal:
    return form(
        TRIBUTE, memorial_id, f"A tribute to {name}", field=TRIBUTE_FIELD, label="Your tribute",
        max_length=MAX_TRIBUTE, required=True, placeholder="A memory, a kind word, a thank-you...",
    )


def form_values(components: Iterable[Any]) -> dict[str, str]:
    """``{custom_id: value}`` of a submitted form (text inputs in action rows or in labels)."""
    values: dict[str, str] = {}
    for component in components:
        if not isinstance(component, dict):
            continue
        if "custom_id" in component and isinstance(component.get("value"), str):
            values[component["custom_id"]] = component["value"]
        values.update(form_values(component.get("components") or ()))
        if isinstance(component.get("component"), dict):
            values.update(form_values([component["component"]]))
    return values
