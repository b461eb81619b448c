"""`/letterboxd import` and `/letterboxd export`: a member's Letterboxd films in and out of the club.

Import rule (see :func:`bot.domain.letterboxd.plan_import`): every matched film gets the member's
watched mark; a star rating becomes their club rating (thumbs = stars rounded half up, 1 to 5)
when they have none for that film, or replaces one an earlier import wrote; a rating the member
gave in the club (`/rate`, the buttons) is never overwritten. Importing the same file twice
changes nothing.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import require_guild
from bot.domain.films import load_catalogue
from bot.domain.letterboxd import (
    MAX_BYTES,
    ClubRating,
    ExportFile,
    ImportPlan,
    LetterboxdError,
    MatchResult,
    PriorImport,
    RatingOut,
    export_csv,
    match_entries,
    parse_export,
    plan_import,
)
from bot.errors import UserError
from bot.render import clip, escape
from cogs.spreadsheet.cog import server_tz
from db import screenings as screenings_repo
from db import spreadsheet as repo

Interaction = discord.Interaction[FilmClubBot]

UNMATCHED_SHOWN = 1000  # characters of unmatched titles in the reply
KEPT_SHOWN = 5


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(filename: str, rows: int, plan: ImportPlan) -> str:
    lines = [
        f"Read **{escape(filename)}** ({_n(rows, 'row')}): **{len(plan.matched)}** "
        f"film{'' if len(plan.matched) == 1 else 's'} matched the catalogue, **{len(plan.new)}** new to your journey."
    ]
    if plan.add or plan.update:
        lines.append(f"Ratings: {len(plan.add)} added, {len(plan.update)} updated.")
    if plan.kept:
        kept = ", ".join(escape(m.film.label) for m in plan.kept[:KEPT_SHOWN])
        if len(plan.kept) > KEPT_SHOWN:
            kept += ", …"
        lines.append(
            f"Kept your club rating for {_n(len(plan.kept), 'film')} you rated here ({kept}): "
            "an import never overrides `/rate`."
        )
    if not plan.changes_anything and plan.matched:
        lines.append("Nothing changed: everything in this file was already on your journey.")
    if plan.unmatched:
        # Built for what is shown: escaping thousands of titles only to cut them off cost seconds on the loop.
        shown: list[str] = []
        length = 0
        for entry in plan.unmatched:
            if length > UNMATCHED_SHOWN:
                break
            shown.append(escape(entry.label))
            length += len(shown[-1]) + 2
        names = ", ".join(shown) + (", …" if len(shown) < len(plan.unmatched) else "")
        lines.append(f"Not in the catalogue ({len(plan.unmatched)}): {clip(names, UNMATCHED_SHOWN)}")
    return clip("\n".join(lines), 2000)


def read_and_match(data: bytes, filename: str) -> tuple[ExportFile, MatchResult]:
    export = parse_export(data, filename)
    return export, match_entries(export.entries, load_catalogue())


class Letterboxd(commands.Cog):
    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        # One import per member at a time: each is seconds of parsing in a worker thread at most.
        self._importing: set[tuple[int, int]] = set()

    letterboxd = app_commands.Group(
        name="letterboxd", description="Bring your Letterboxd films in, or take your club ratings out", guild_only=True
    )

    @letterboxd.command(name="import", description="Import ratings.csv, diary.csv or watched.csv from Letterboxd")
    @app_commands.describe(file="A CSV file from the ZIP Letterboxd sends you (Settings → Data → Export)")
    async def import_(self, interaction: Interaction, file: discord.Attachment) -> None:
        guild_id = require_guild(interaction)
        user_id = interaction.user.id
        if file.size > MAX_BYTES:
            raise LetterboxdError(
                f"That file is {file.size / 1024 / 1024:.1f} MB; I read files up to 2 MB. Attach `ratings.csv`, "
                "`diary.csv` or `watched.csv` from your Letterboxd export."
            )
        who = (guild_id, user_id)
        if who in self._importing:
            raise UserError("Your previous import is still being read. Wait for its answer, then import the next file.")
        self._importing.add(who)
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await self._import(interaction, guild_id, user_id, file)
        finally:
            self._importing.discard(who)

    async def _import(self, interaction: Interaction, guild_id: int, user_id: int, file: discord.Attachment) -> None:
        try:
            data = await file.read()
        except discord.HTTPException:
            raise UserError("I couldn't download that file from Discord. Attach it again in a moment.") from None
        # Up to 10,000 rows of a 2 MB file: read and match them in the worker process (bot/worker.py).
        export, result = await self.bot.worker.run_isolated(read_and_match, data, file.filename)
        if not export.entries:
            raise UserError(f"**{escape(file.filename)}** has no films in it, so there is nothing to import.")
        now = self.bot.now_ts()
        async with self.bot.store.transaction() as tx:
            club = {
                r.film_key: ClubRating(r.thumbs, r.updated_at)
                for r in await screenings_repo.ratings_for_member(tx, guild_id, user_id)
            }
            prior = {
                key: PriorImport(item.thumbs, item.imported_at)
                for key, item in (await repo.imported_ratings(tx, guild_id, user_id)).items()
            }
            watched = set(await repo.watched_marks(tx, guild_id, user_id))
            plan = plan_import(result, club, prior, watched)
            for match in plan.matched:
                day = match.watched_on.isoformat() if match.watched_on else None
                await repo.add_watched(tx, guild_id, user_id, match.film.key, day, now)
            for match in (*plan.add, *plan.update):
                assert match.thumbs is not None and match.stars is not None
                await screenings_repo.set_rating(
                    tx, guild_id, match.film.key, user_id, match.thumbs, None, now,
                    title=match.film.title, year=match.film.year,
                )  # fmt: skip
                await repo.record_imported_rating(tx, guild_id, user_id, match.film.key, match.stars, match.thumbs, now)
        await interaction.followup.send(summary(file.filename, len(export.entries), plan), ephemeral=True)

    @letterboxd.command(name="export", description="Your club ratings as a CSV that Letterboxd's importer accepts")
    async def export(self, interaction: Interaction) -> None:
        guild_id = require_guild(interaction)
        user_id = interaction.user.id
        ratings = await screenings_repo.ratings_for_member(self.bot.store, guild_id, user_id)
        if not ratings:
            raise UserError("You have no club ratings yet. Rate a film with `/rate` (or import from Letterboxd) first.")
        marks = await repo.watched_marks(self.bot.store, guild_id, user_id)
        tz = await server_tz(self.bot, guild_id)
        rows: list[RatingOut] = []
        for rating in sorted(ratings, key=lambda r: (r.title.casefold(), r.year or 0)):
            watched_on: date | None = None
            mark = marks.get(rating.film_key)
            if mark:
                watched_on = date.fromisoformat(mark)
            elif rating.screening_id is not None:
                screening = await screenings_repo.get_screening(self.bot.store, rating.screening_id, guild_id)
                if screening is not None and screening.is_finished:
                    watched_on = datetime.fromtimestamp(screening.starts_at, UTC).astimezone(tz).date()
            rows.append(RatingOut(rating.title, rating.year, rating.thumbs, watched_on, rating.review))
        file = discord.File(io.BytesIO(export_csv(rows).encode("utf-8")), filename="letterboxd-import.csv")
        await interaction.response.send_message(
            f"Your {_n(len(rows), 'club rating')}, one thumb as one star. Upload it at letterboxd.com/import.",
            file=file,
            ephemeral=True,
        )


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(Letterboxd(bot))
