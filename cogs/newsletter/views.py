"""Newsletter UI: the preview and verdict modals, the draft's buttons and intro modal, embed builders.

The draft's buttons are one ``DynamicItem`` whose custom id carries the draft id and the action
(``nl:<id>:publish|discard|intro``), so they keep working after a restart: the draft lives in the DB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.checks import require_moderator
from bot.domain import newsletter as dom
from bot.handlers import guarded
from bot.render import CLUB_COLOUR, clip
from bot.ui import FilmClubModal

if TYPE_CHECKING:
    from cogs.newsletter.cog import NewsletterCog

THUMB_LABELS = {
    1: "1 👍 Not for me", 2: "2 👍👍 Meh", 3: "3 👍👍👍 Good", 4: "4 👍👍👍👍 Great", 5: "5 👍👍👍👍👍 Loved it",
}


def newsletter_cog(interaction: discord.Interaction[Any]) -> NewsletterCog:
    cog = interaction.client.get_cog("Newsletter")
    assert cog is not None, "the newsletter cog is not loaded"
    return cog  # type: ignore[return-value]


# ----------------------------------------------------------------------------- embeds


def to_embed(part: dom.EmbedPart, colour: discord.Colour = CLUB_COLOUR) -> discord.Embed:
    embed = discord.Embed(title=part.title, description=part.description or None, colour=colour)
    if part.footer:
        embed.set_footer(text=part.footer)
    return embed


def preview_embed(name: str, label: str, text: str) -> discord.Embed:
    embed = discord.Embed(
        title=clip(f"🔮 {dom.escape_md(name)}'s preview: {label}", 256), description=text, colour=CLUB_COLOUR
    )
    embed.set_footer(text="Before the screening. Kept for the newsletter; add yours with /preview.")
    return embed


def verdict_embed(name: str, label: str, thumbs: int, text: str | None) -> discord.Embed:
    body = f"{dom.thumbs_text(thumbs)} ({thumbs}/5)"
    if text:
        body += "\n\n" + text
    embed = discord.Embed(
        title=clip(f"🎬 {dom.escape_md(name)}'s verdict: {label}", 256), description=body, colour=CLUB_COLOUR
    )
    embed.set_footer(text="After the screening. Kept for the newsletter; add yours with /verdict.")
    return embed


# ----------------------------------------------------------------------------- member modals


class PreviewModal(FilmClubModal):
    def __init__(self, film_key: str, label: str, screening_id: int, current: str | None) -> None:
        super().__init__(title=clip(f"Preview: {label}", 45), timeout=1800)
        self.film_key = film_key
        self.screening_id = screening_id
        self.text: discord.ui.TextInput[PreviewModal] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph,
            placeholder="What do you know or expect before watching? Hopes, fears, hunches...",
            default=current,
            max_length=dom.MAX_PREVIEW,
            required=True,
            custom_id="nl:preview:text",
        )
        self.add_item(discord.ui.Label(text="Your expectations", component=self.text))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        text = dom.check_preview(self.text.value)
        await newsletter_cog(interaction).save_preview(interaction, self.film_key, self.screening_id, text)


class VerdictModal(FilmClubModal):
    def __init__(self, film_key: str, label: str, thumbs: int | None, current: str | None) -> None:
        super().__init__(title=clip(f"Verdict: {label}", 45), timeout=1800)
        self.film_key = film_key
        self.thumbs: discord.ui.Select[VerdictModal] = discord.ui.Select(
            custom_id="nl:verdict:thumbs",
            placeholder="How many thumbs?",
            options=[
                discord.SelectOption(label=THUMB_LABELS[n], value=str(n), default=n == thumbs) for n in range(1, 6)
            ],
            min_values=1,
            max_values=1,
            required=True,
        )
        self.text: discord.ui.TextInput[VerdictModal] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph,
            placeholder="Your take after watching (optional)",
            default=current,
            max_length=dom.MAX_VERDICT,
            required=False,
            custom_id="nl:verdict:text",
        )
        self.add_item(discord.ui.Label(text="Thumbs (1 to 5)", component=self.thumbs))
        self.add_item(discord.ui.Label(text="Your take", component=self.text))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        picked = self.thumbs.values[0] if self.thumbs.values else ""
        thumbs, text = dom.check_verdict(picked, self.text.value)
        await newsletter_cog(interaction).save_verdict(interaction, self.film_key, thumbs, text)


# ----------------------------------------------------------------------------- the draft


class IntroModal(FilmClubModal):
    def __init__(self, newsletter_id: int, current: str) -> None:
        super().__init__(title=f"Newsletter #{newsletter_id}: intro"[:45], timeout=1800)
        self.newsletter_id = newsletter_id
        self.text: discord.ui.TextInput[IntroModal] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph,
            default=current or None,
            max_length=dom.MAX_INTRO,
            required=False,
            custom_id="nl:intro:text",
        )
        self.add_item(discord.ui.Label(text="Intro", component=self.text))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await require_moderator(interaction)
        intro = dom.check_intro(self.text.value)
        await newsletter_cog(interaction).edit_intro(interaction, self.newsletter_id, intro)


class DraftButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"nl:(?P<id>\d+):(?P<action>publish|discard|intro)",
):
    LOOK = {
        "intro": ("Edit intro", "✏️", discord.ButtonStyle.secondary),
        "publish": ("Publish", "📰", discord.ButtonStyle.success),
        "discard": ("Discard", "🗑️", discord.ButtonStyle.danger),
    }

    def __init__(self, newsletter_id: int, action: str) -> None:
        label, emoji, style = self.LOOK[action]
        super().__init__(
            discord.ui.Button(label=label, emoji=emoji, style=style, custom_id=f"nl:{newsletter_id}:{action}")
        )
        self.newsletter_id = newsletter_id
        self.action = action

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction[Any], item: discord.ui.Button[Any], match: Any, /
    ) -> DraftButton:
        return cls(int(match["id"]), str(match["action"]))

    @guarded
    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        await require_moderator(interaction)
        cog = newsletter_cog(interaction)
        if self.action == "intro":
            row = await cog.own_draft(interaction, self.newsletter_id)
            cog.refuse_partial(row)
            await interaction.response.send_modal(IntroModal(row.id, row.intro))
        elif self.action == "discard":
            await cog.discard(interaction, self.newsletter_id)
        else:
            await cog.publish(interaction, self.newsletter_id)


def draft_view(newsletter_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in ("intro", "publish", "discard"):
        view.add_item(DraftButton(newsletter_id, action))
    return view
