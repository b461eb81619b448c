"""What the queue and the teasers look like: the queue pages, a film's card, the teaser message, the settings."""

from __future__ import annotations

from typing import Any

import discord

from bot.domain import installments as dom
from bot.domain.films import Film
from bot.render import CLUB_COLOUR, clip, escape, ts_full
from db.installments import Installment, TeaserSettings
from db.screenings import Screening


def label(inst: Installment) -> str:
    """``*Rocky* (1976)`` with the title markdown- and mention-escaped."""
    return f"*{escape(inst.title)}*" + (f" ({inst.year})" if inst.year else "")


def card(inst: Installment, film: Film | None, screening: Screening | None, *, title_prefix: str = "") -> discord.Embed:
    embed = discord.Embed(title=clip(title_prefix + inst.label, 256), colour=CLUB_COLOUR)
    if film is not None and film.premise:
        embed.description = clip(film.premise, 4000)
    embed.add_field(name="Year", value=str(inst.year) if inst.year else "unknown")
    runtime = inst.runtime or (film.runtime if film else None)
    embed.add_field(name="Runtime", value=str(dom.RuntimeText(runtime)))
    if film is not None and film.director:
        embed.add_field(name="Director", value=clip(escape(film.director), 1024))
    embed.add_field(
        name="Next screening",
        value=ts_full(screening.start) if screening is not None else "not scheduled yet",
        inline=False,
    )
    if inst.note:
        embed.add_field(name="Note", value=clip(escape(inst.note), 1024), inline=False)
    return embed


def teaser_message(
    inst: Installment | None, film: Film | None, screening: Screening | None, rsvp: discord.ui.View | None
) -> dict[str, Any]:
    """The keyword arguments of a teaser's ``send``: a headline and the film's card, or "that's a wrap"."""
    if inst is None:
        return {"content": dom.WRAP_TEXT}
    message: dict[str, Any] = {
        "content": dom.headline(escape(inst.title), inst.year), "embed": card(inst, film, screening)
    }
    if rsvp is not None:
        message["view"] = rsvp
    return message


def wrap_embed() -> discord.Embed:
    return discord.Embed(description=dom.WRAP_TEXT, colour=CLUB_COLOUR)


def then_embed(inst: Installment, screening: Screening | None) -> discord.Embed:
    after = discord.Embed(colour=CLUB_COLOUR, title=clip(f"Then: {inst.label}", 256))
    if screening is not None:
        after.description = f"Screening {ts_full(screening.start)}"
    return after


def queue_pages(
    items: list[Installment], watched: int, screenings: dict[int, Screening | None]
) -> list[discord.Embed]:
    footer = f"{len(items)} to go · {watched} watched"
    if not items:
        embed = discord.Embed(title="The queue", colour=CLUB_COLOUR, description=(
            "The queue is empty." + (" That's a wrap on everything so far!" if watched else "")
            + " Moderators can add films with `/installment add`."
        ))
        embed.set_footer(text=footer)
        return [embed]
    lines = []
    for inst in items:
        line = f"**{inst.position}.** {label(inst)} · `#{inst.id}`"
        screening = screenings.get(inst.id)
        if screening is not None:
            line += f"\n  🎟️ screening {ts_full(screening.start)}"
        if inst.note:
            line += f"\n  📝 {escape(inst.note)}"
        lines.append(line)
    texts = dom.paginate(lines)
    pages = []
    for number, text in enumerate(texts, start=1):
        title = "The queue" + (f" ({number}/{len(texts)})" if len(texts) > 1 else "")
        embed = discord.Embed(title=title, colour=CLUB_COLOUR, description=text)
        embed.set_footer(text=footer)
        pages.append(embed)
    return pages


def settings_text(settings: TeaserSettings) -> str:
    if settings.before_enabled:
        offsets = dom.parse_teaser_offsets(settings.offsets)
        before = "Teasers go out " + ", ".join(dom.describe_offset(o) for o in offsets) + " before a screening"
    else:
        before = "Teasers before a screening are off"
    after = "a post-credits teaser when one ends" if settings.post_credits else "no post-credits teaser"
    return f"{before}; {after}."
