"""Snack-award polls: `/award open|close|runoff|cancel|reopen|status|list|history`, votes by reaction.

The commands read the member's input (times and nominee lists are parsed by the transformers in
:mod:`bot.transformers`), ask :class:`cogs.awards.service.AwardService` (``bot.awards``) to do the work, and
reply. Reaction events go straight to the service, which owns the open polls, the ballots and their writer;
its module docstring explains how votes, catch-up and closing work.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import FilmClubBot
from bot.checks import moderator_only, require_guild
from bot.domain import awards as aw
from bot.errors import UserError
from bot.render import escape, plural, ts_full
from bot.transformers import SemicolonList, When, catalogue_choices
from bot.ui import send_pages
from cogs.awards import views
from cogs.awards.service import REOPEN_WINDOW, AwardService, ResultsUndeliverable
from db.awards import CANCELLED, CLOSED

Closes = app_commands.Transform[datetime, When(max_ahead=aw.MAX_AHEAD)]
Nominees = app_commands.Transform[tuple[str, ...], SemicolonList(aw.parse_nominees)]
PollId = app_commands.Range[int, 1]


class Awards(commands.Cog):
    award = app_commands.Group(name="award", description="Snack-award polls", guild_only=True)

    def __init__(self, bot: FilmClubBot) -> None:
        self.bot = bot
        self.service: AwardService = bot.awards
        self._ready_seen = False

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(views.CancelAnswer)

    # ------------------------------------------------------------------ votes (the service applies them)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self.service.reaction_added(payload)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self.service.reaction_removed(payload)

    @commands.Cog.listener()
    async def on_raw_reaction_clear(self, payload: discord.RawReactionClearEvent) -> None:
        await self.service.reactions_cleared(payload)

    @commands.Cog.listener()
    async def on_raw_reaction_clear_emoji(self, payload: discord.RawReactionClearEmojiEvent) -> None:
        await self.service.emoji_cleared(payload)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        self._ready_seen = True
        self.service.reconnected()

    @commands.Cog.listener()
    async def on_shard_ready(self, shard_id: int) -> None:
        # One shard of several identified again (its session could not resume): discord.py sends no on_ready for
        # that, and the reactions its servers got meanwhile never came. At start every shard's READY comes before
        # the one on_ready, which catches up.
        if self._ready_seen:
            self.service.reconnected()

    # ------------------------------------------------------------------ opening

    async def _open(
        self,
        interaction: discord.Interaction[FilmClubBot],
        *,
        category: str,
        nominees: tuple[str, ...],
        closes_at: datetime,
        film: str | None,
        channel: discord.abc.GuildChannel | None,
        show_counts: bool,
        runoff_of: int | None = None,
    ) -> None:
        require_guild(interaction)
        assert interaction.guild is not None
        target = await self.service.poll_channel(interaction.guild, channel)
        await interaction.response.defer(ephemeral=True, thinking=True)
        poll, message = await self.service.open_poll(
            target, opened_by=interaction.user.id, category=category, nominees=nominees, closes_at=closes_at,
            film=film, show_counts=show_counts, runoff_of=runoff_of,
        )
        what = "Runoff poll" if runoff_of else "Poll"
        await interaction.followup.send(
            f"{what} #{poll.id} is open in {target.mention}: {message.jump_url}\n"
            f"It closes {ts_full(poll.closes_at)}. Close it early with `/award close id:{poll.id}`.",
            ephemeral=True,
        )
        problem = await self.service.add_numbers(poll)
        if problem:
            await interaction.followup.send(f"⚠️ Poll #{poll.id}: {problem}", ephemeral=True)

    @award.command(name="open", description="Moderators: open a snack-award poll voted with number reactions")
    @app_commands.describe(
        category="The award, e.g. Best Snacktor in a Supporting Role",
        nominees="2 to 10 nominees separated by ; (e.g. Cheese pizza; Coke; Churros)",
        closes="When voting ends, e.g. 'fri 8pm', 'in 2 days', '2026-12-04 20:00' (server time zone)",
        film="The film the award is about (optional)",
        channel="Where to post the poll (default: the polls channel)",
        show_counts="Show live counts while voting (default: sealed until closing)",
    )
    @moderator_only()
    async def open(
        self,
        interaction: discord.Interaction[FilmClubBot],
        category: app_commands.Range[str, 1, aw.MAX_CATEGORY_LEN],
        nominees: Nominees,
        closes: Closes,
        film: str | None = None,
        channel: discord.TextChannel | None = None,
        show_counts: bool = False,
    ) -> None:
        await self._open(
            interaction, category=category, nominees=nominees, closes_at=closes, film=film, channel=channel,
            show_counts=show_counts,
        )

    @open.autocomplete("film")
    async def film_autocomplete(
        self, interaction: discord.Interaction[FilmClubBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return catalogue_choices(current)

    # ------------------------------------------------------------------ closing

    @award.command(name="close", description="Moderators: close a poll now and post the results")
    @app_commands.describe(id="The poll's number (see /award list)")
    @moderator_only()
    async def close(self, interaction: discord.Interaction[FilmClubBot], id: PollId) -> None:
        poll = await self.service.own_poll(require_guild(interaction), id)
        if poll.status == CANCELLED:
            raise UserError(f"Poll #{id} was cancelled; there is nothing to close.")
        if poll.status == CLOSED and poll.results_message_id is not None:
            raise UserError(f"Poll #{id} is already closed; its results are posted in <#{poll.channel_id}>.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            message = await self.service.close_poll(id)
        except ResultsUndeliverable as exc:
            closed = await self.service.get(id)
            outcome = views.short_outcome(closed) if closed is not None else "closed"
            raise UserError(
                f"Poll #{id} is closed ({outcome}), but I couldn't post its results: {exc.reason}. "
                f"Fix that (or set an announcements channel in `/filmclub setup`) and run `/award close id:{id}` "
                "again to post them; `/award status` shows the counts meanwhile."
            ) from exc
        except discord.HTTPException as exc:
            now = await self.service.get(id)
            state = (
                "it is closed, but its results are not posted yet" if now is not None and now.status == CLOSED
                else "it is still open"
            )
            raise UserError(
                f"Discord didn't answer while I was closing poll #{id} (error {exc.status}); {state}. "
                f"Try `/award close id:{id}` again in a minute."
            ) from exc
        if message is None:
            await interaction.followup.send(f"Poll #{id} was already closed; nothing more was posted.", ephemeral=True)
            return
        await interaction.followup.send(f"Closed poll #{id}. Results: {message.jump_url}", ephemeral=True)

    # ------------------------------------------------------------------ runoff, cancel, reopen

    @award.command(name="runoff", description="Moderators: open a new poll among the tied nominees of a poll")
    @app_commands.describe(
        id="The tied poll's number",
        closes="When the runoff ends (default: as long as the first poll ran)",
        show_counts="Show live counts while voting",
    )
    @moderator_only()
    async def runoff(
        self,
        interaction: discord.Interaction[FilmClubBot],
        id: PollId,
        closes: Closes | None = None,
        show_counts: bool = False,
    ) -> None:
        poll = await self.service.own_poll(require_guild(interaction), id)
        result = poll.tally
        if poll.status != CLOSED or result is None:
            raise UserError(f"Poll #{id} is {poll.status}; a runoff needs a closed poll that ended in a tie.")
        nominees = aw.runoff_nominees(poll.nominees, result)
        lock = self.service.runoff_lock(poll.id)
        if lock.locked():
            raise UserError(f"A runoff of poll #{id} is being opened right now; see `/award list` in a moment.")
        async with lock:
            existing = await self.service.runoff_of(poll.id)
            if existing is not None:
                raise UserError(f"Poll #{id} already has a runoff: poll #{existing.id}.")
            if closes is None:
                span = max(3600, min(poll.closes_at - poll.created_at, int(aw.MAX_AHEAD.total_seconds())))
                closes = self.bot.clock.now() + timedelta(seconds=span)
            category = poll.category if poll.category.endswith("(runoff)") else f"{poll.category} (runoff)"
            channel = interaction.guild.get_channel(poll.channel_id) if interaction.guild else None
            await self._open(
                interaction, category=category[: aw.MAX_CATEGORY_LEN], nominees=nominees, closes_at=closes,
                film=poll.film_title, channel=channel if isinstance(channel, discord.TextChannel) else None,
                show_counts=show_counts, runoff_of=poll.id,
            )

    @award.command(name="cancel", description="Moderators: cancel an open poll (asks first; can be reopened for a day)")
    @app_commands.describe(id="The poll's number")
    @moderator_only()
    async def cancel(self, interaction: discord.Interaction[FilmClubBot], id: PollId) -> None:
        poll = await self.service.own_poll(require_guild(interaction), id)
        if not poll.is_open:
            raise UserError(f"Poll #{id} is already {poll.status}; only open polls can be cancelled.")
        ballots = await self.service.ballot_count(poll)
        await interaction.response.send_message(
            f"Cancel poll #{id} ({escape(poll.category)}) with its {plural(ballots, 'ballot')}? "
            "No results will be posted. A moderator can bring it back with its ballots within a day: "
            f"`/award reopen id:{id}`.",
            view=views.cancel_confirm_view(poll.id, interaction.user.id),
            ephemeral=True,
        )

    @award.command(name="reopen", description="Moderators: reopen a poll cancelled in the last day, with its ballots")
    @app_commands.describe(
        id="The poll's number", closes="When it closes now (default: its old closing time, if still ahead)"
    )
    @moderator_only()
    async def reopen(
        self, interaction: discord.Interaction[FilmClubBot], id: PollId, closes: Closes | None = None,
    ) -> None:
        poll = await self.service.own_poll(require_guild(interaction), id)
        now = self.bot.now_ts()
        if poll.status != CANCELLED:
            raise UserError(f"Poll #{id} is {poll.status}; only a cancelled poll can be reopened.")
        if poll.closed_at is None or now - poll.closed_at > REOPEN_WINDOW:
            raise UserError(
                f"Poll #{id} was cancelled more than a day ago, so it stays cancelled (its ballots are kept for the "
                "record). Open a new one with `/award open`."
            )
        if poll.message_id is None:
            raise UserError(f"Poll #{id} has no post any more, so it can't take votes again. Open a new one.")
        if closes is None:
            if poll.closes_at <= now:
                raise UserError(
                    f"Poll #{id}'s closing time ({ts_full(poll.closes_at)}) has passed: say when it closes now, "
                    f"e.g. `/award reopen id:{id} closes:in 2 days`."
                )
            closes = datetime.fromtimestamp(poll.closes_at, UTC)
        await interaction.response.defer(ephemeral=True, thinking=True)
        done = await self.service.reopen(poll, closes)
        if done is None:
            raise UserError(f"Poll #{id} was reopened just now; nothing more to do.")
        reopened, ballots = done
        await interaction.followup.send(
            f"Reopened poll #{id} with its {plural(ballots, 'ballot')}; it closes {ts_full(reopened.closes_at)}.",
            ephemeral=True,
        )

    # ------------------------------------------------------------------ reading

    @award.command(name="status", description="Moderators: how many ballots a poll has (tallies stay sealed)")
    @app_commands.describe(id="The poll's number")
    @moderator_only()
    async def status(self, interaction: discord.Interaction[FilmClubBot], id: PollId) -> None:
        embed = await self.service.status_embed(require_guild(interaction), id)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @award.command(name="list", description="Open snack-award polls and those closed recently")
    async def list_polls(self, interaction: discord.Interaction[FilmClubBot]) -> None:
        polls = await self.service.recent(require_guild(interaction))
        await interaction.response.send_message(embed=views.list_embed(polls), ephemeral=True)

    @award.command(name="history", description="Past snack-award winners")
    @app_commands.describe(category="Only awards whose category contains this")
    async def history(
        self, interaction: discord.Interaction[FilmClubBot], category: str | None = None
    ) -> None:
        wanted = " ".join(category.split())[:100] if category and category.strip() else None
        polls = await self.service.history(require_guild(interaction), wanted)
        await send_pages(interaction, views.history_pages(polls, wanted))

    @history.autocomplete("category")
    async def category_autocomplete(
        self, interaction: discord.Interaction[FilmClubBot], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        names = await self.service.categories(interaction.guild_id, current.strip()[:100])
        return [app_commands.Choice(name=n[:100], value=n[:100]) for n in names]


async def setup(bot: FilmClubBot) -> None:
    await bot.add_cog(Awards(bot))
