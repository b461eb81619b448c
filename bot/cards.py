"""Embeds more than one feature draws (no I/O): a film's catalogue card.

`/film` (screenings) shows it as it is; the theme shelf (spreadsheet) adds the club's side of the film below it.
"""

from __future__ import annotations

import discord

from bot.domain.films import Film
from bot.render import CLUB_COLOUR, clip


def film_card(film: Film) -> discord.Embed:
    embed = discord.Embed(title=clip(f"{film.title} ({film.year})", 256), colour=CLUB_COLOUR)
    if film.premise:
        embed.description = film.premise
    embed.add_field(name="Year", value=str(film.year))
    embed.add_field(name="Runtime", value=f"{film.runtime} min" if film.runtime else "unknown")
    embed.add_field(name="Director", value=film.director or "unknown")
    if film.best_picture == "winner":
        bp = f"🏆 Won Best Picture ({film.ceremony} ceremony)"
    elif film.best_picture == "nominee":
        bp = f"Nominated for Best Picture ({film.ceremony} ceremony)"
    else:
        bp = "Not a Best Picture nominee"
    embed.add_field(name="Best Picture", value=bp, inline=False)
    return embed
