"""The bot: opens the store, migrates, starts the scheduler, loads the cogs, syncs commands.

Shards and clusters. The bot is an ``AutoShardedBot``: with ``FILMCLUB_SHARDS`` unset, one process runs every
shard Discord recommends (``GET /gateway/bot``). With ``FILMCLUB_SHARDS=FIRST-LAST/COUNT`` this process is one
"cluster" of several sharing one database: it connects only those shards, so it only hears its own servers, and
it does the background work (the scheduler's jobs, catch-up after downtime, anniversaries, reconciliation) only
for them (:meth:`FilmClubBot.owns`; the repositories' startup scans take ``shards=``). Only the cluster running
shard 0 syncs the slash commands (and gets DMs: Discord sends events without a server to shard 0).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.app_commands import AppCommandContext, AppInstallationType
from discord.ext import commands

from bot import __version__, pacing
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.domain.recurrence import next_occurrence, parse_recurrence
from bot.domain.shards import ShardRange
from bot.handlers import report_error
from bot.pacing import PacedConnector, Pacer
from bot.scheduler import SchedulerService
from bot.ui import ExpiredPages, forget_live_pages
from bot.worker import Worker
from db import make_store, meta
from db.migrate import migrate
from db.scheduled_posts import ScheduledPost
from db.settings import SettingsRepo
from db.store import Store

if TYPE_CHECKING:
    from cogs.awards.service import AwardService
    from cogs.basil.service import BasilService
    from cogs.installments.service import InstallmentService
    from cogs.newsletter.service import NewsletterService
    from cogs.schedule.service import ScheduleService
    from cogs.screenings.series import SeriesService
    from cogs.screenings.service import ScreeningService
    from cogs.spreadsheet.service import SpreadsheetService
    from cogs.trivia.service import TriviaService
    from cogs.web.service import WebService

log = logging.getLogger(__name__)
#: JSON code of "Max number of daily application command creates has been reached (200)".
DAILY_COMMAND_CREATES = 30034
#: Discord's window for ``max_concurrency`` identifies per rate-limit bucket (docs: Events → Gateway,
#: "Session Start Limit Object").
IDENTIFY_WINDOW = 5.0
#: Waited on top of the window: Discord counts from when an IDENTIFY arrives, and the way there varies.
IDENTIFY_SLACK = 0.5
SHARD_COUNT_RETRY_FIRST, SHARD_COUNT_RETRY_MAX = 5.0, 300.0  # seconds between tries to read the shard count


def next_from_rule(rule: dict[str, Any], after: datetime) -> datetime | None:
    """Next occurrence of a stored recurrence ``{"rule": "weekly fri 20:00", "tz": "Europe/London"}``."""
    try:
        return next_occurrence(parse_recurrence(str(rule["rule"]), str(rule["tz"])), after)
    except (KeyError, ValueError):
        log.error("unreadable recurrence rule %r", rule)
        return None

# Every feature, in load order. One place, so a new cog is one line here.
EXTENSIONS: tuple[str, ...] = (
    "cogs.admin",
    "cogs.schedule",
    "cogs.screenings",
    "cogs.awards",
    "cogs.trivia",
    "cogs.basil",
    "cogs.installments",
    "cogs.spreadsheet",
    "cogs.newsletter",
    "cogs.web",  # after cogs.admin: adds `/filmclub calendar` and `/filmclub web` to its group
)


def build_intents(config: Config) -> discord.Intents:
    """Least privilege: only what the features use. Message content only for typed trivia."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.guild_reactions = True
    intents.guild_scheduled_events = True
    intents.message_content = config.message_content
    return intents


class FilmClubBot(commands.AutoShardedBot):
    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        extensions: tuple[str, ...] = EXTENSIONS,
        **options: Any,
    ) -> None:
        # The bot never joins voice: no "PyNaCl/davey is not installed" warnings at every start.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        if config.shards is not None:  # a cluster: exactly these shards (else discord.py asks Discord how many)
            options.setdefault("shard_ids", config.shards.ids)
            options.setdefault("shard_count", config.shards.count)
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=build_intents(config),
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            # Every command exists only in servers: never in DMs or group DMs, never through a user install.
            allowed_contexts=AppCommandContext(guild=True, dm_channel=False, private_channel=False),
            allowed_installs=AppInstallationType(guild=True, user=False),
            # socket_raw_receive: the screenings hear "Interested" on a native event from members not in the
            # cache (discord.py only dispatches scheduled_event_user_add for cached users; no members intent).
            enable_debug_events=True,
            **options,
        )
        self.config = config
        self.clock: Clock = clock or SystemClock()
        #: This cluster's shards; None: one process with every shard, so every server is this process's.
        self.shard_range: ShardRange | None = config.shards
        self.store: Store = make_store(config.db_target, pg_backup_done=config.pg_backup_done)
        self.worker = Worker()  # CPU work members can trigger: off the loop, one job at a time
        self.settings = SettingsRepo(self.store)
        self.scheduler = SchedulerService(
            self.store, self.clock, notifier=self._notify_post_problem, next_occurrence=next_from_rule,
            wait_ready=self.wait_until_ready, guild_ready=self.guild_loaded, shards=self.shard_range,
        )
        self.extensions_to_load = extensions
        self.started_at = self.clock.now()
        self.schema_version = 0
        self.commands_synced = False
        self._sync_task: asyncio.Task[None] | None = None
        #: Every REST request waits for a slot under Discord's global limit (bot/pacing.py).
        # The global limit is the bot's: a cluster takes its shards' part of it (bot/pacing.py, rates).
        rate, bulk_rate = pacing.rates(config.global_limit, config.shards.share if config.shards else 1.0)
        self.pacer = Pacer(rate=rate, bulk_rate=bulk_rate)
        self.tree.on_error = self._on_tree_error  # type: ignore[method-assign]
        self._services: list[Any] = []
        self._identify_at: dict[int, float] = {}  # shard id -> loop time of its last IDENTIFY
        self._identify_lock = asyncio.Lock()
        self._max_concurrency: int | None = None
        self._shards_logged = False
        self._closing = asyncio.Event()  # set by close(): cuts short a wait before trying Discord again

    # services --------------------------------------------------------------------------
    # Each feature's service, built once in setup_hook: features use each other only through these typed
    # attributes (never get_cog), so mypy sees every cross-feature call.
    awards: AwardService
    trivia: TriviaService
    schedule: ScheduleService
    basil: BasilService
    newsletter: NewsletterService
    screenings: ScreeningService
    series: SeriesService  # series of club nights; started by bot.screenings once the servers are in
    spreadsheet: SpreadsheetService
    installments: InstallmentService
    web: WebService

    def _build_services(self) -> None:
        from cogs.awards.service import AwardService
        from cogs.basil.service import BasilService
        from cogs.installments.service import InstallmentService
        from cogs.newsletter.service import NewsletterService
        from cogs.schedule.service import ScheduleService
        from cogs.screenings.series import SeriesService
        from cogs.screenings.service import ScreeningService
        from cogs.spreadsheet.service import SpreadsheetService
        from cogs.trivia.service import TriviaService
        from cogs.web.service import WebService

        self.schedule = ScheduleService(self)
        self.awards = AwardService(self)
        self.trivia = TriviaService(self)
        self.basil = BasilService(self)
        self.screenings = ScreeningService(self)
        self.series = SeriesService(self, self.screenings)
        self.newsletter = NewsletterService(self)
        self.spreadsheet = SpreadsheetService(self)
        self.installments = InstallmentService(self)
        self.web = WebService.for_bot(self)  # the club's web pages (its server runs only with FILMCLUB_WEB_PORT)
        self._services = [
            self.schedule, self.awards, self.trivia, self.basil, self.screenings, self.newsletter, self.spreadsheet,
            self.installments, self.web,
        ]

    # startup ---------------------------------------------------------------------------
    async def login(self, token: str) -> None:
        if self.http.connector is discord.utils.MISSING:  # each login attempt opens a new session
            self.http.connector = PacedConnector(self.pacer, limit=0)
        await super().login(token)

    async def setup_hook(self) -> None:
        await self.store.open()
        self.schema_version = await migrate(self.store)
        log.info("store open at %s (schema %d)", self.store.label, self.schema_version)
        self.add_dynamic_items(ExpiredPages)
        self._build_services()
        for service in self._services:
            await service.load()
        for name in self.extensions_to_load:
            await self.load_extension(name)
        await self.scheduler.start()
        if not self.syncs_commands:
            log.info("command sync is left to the cluster that runs shard 0 (this one runs shards %s)",
                     self.shard_range)
            return
        # In the background: a refused sync (missing scope, a bad command, the daily create limit, Discord down)
        # must not keep the bot from connecting and serving buttons, reactions and scheduled posts.
        self._sync_task = asyncio.create_task(self._sync_in_background(), name="filmclub-command-sync")

    # shards ----------------------------------------------------------------------------
    @property
    def syncs_commands(self) -> bool:
        """Commands are synced once, by the process that runs shard 0 (one process: this one)."""
        return self.shard_range is None or self.shard_range.runs_shard_zero

    def owns(self, guild_id: int) -> bool:
        """True if the server is this process's: its events come to one of our shards, so its background work
        (scheduled posts, catch-up, anniversaries) is done here and nowhere else."""
        return self.shard_range is None or self.shard_range.owns(guild_id)

    def shards_text(self) -> str:
        """The shards this process runs, for the log: ``0-3/8 (FILMCLUB_SHARDS)`` or ``0-1/2 (every shard)``."""
        if self.shard_range is not None:
            return f"{self.shard_range} (FILMCLUB_SHARDS)"
        count = self.shard_count or 1
        return f"{f'0-{count - 1}' if count > 1 else '0'}/{count} (every shard, as Discord recommends)"

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Start shards as fast as Discord allows: ``max_concurrency`` IDENTIFYs per 5 s, one per rate-limit bucket
        ``shard_id % max_concurrency`` (docs: Events → Gateway, "Max Concurrency"). discord.py's default waits 5 s
        before every shard but the first, whatever the bot's ``max_concurrency``."""
        if initial and not self._shards_logged:
            self._shards_logged = True
            log.info("running shards %s", self.shards_text())
        async with self._identify_lock:  # shards start in order, bucket by bucket
            if self._identify_at and self._max_concurrency is None:  # one REST call, only for a second IDENTIFY
                self._max_concurrency = await self._fetch_max_concurrency()
            buckets = self._max_concurrency or 1
            shard = shard_id or 0
            loop = asyncio.get_running_loop()
            last = max((at for other, at in self._identify_at.items() if other % buckets == shard % buckets),
                       default=None)
            if last is not None and loop.time() - last < IDENTIFY_WINDOW + IDENTIFY_SLACK:
                await asyncio.sleep(IDENTIFY_WINDOW + IDENTIFY_SLACK - (loop.time() - last))
            self._identify_at[shard] = loop.time()

    async def launch_shards(self) -> None:
        """discord.py asks Discord for the shard count (``GET /gateway/bot``) when FILMCLUB_SHARDS is unset and gives
        up if that fails; Discord unreachable right after login is retried like a failed login (5 s, doubling)."""
        delay = SHARD_COUNT_RETRY_FIRST
        while True:
            try:
                await super().launch_shards()
                return
            except discord.GatewayNotFound as exc:
                if self._closing.is_set():
                    return
                reason = exc.__cause__ or exc
                log.warning("cannot reach Discord: %s; retrying in %d s", str(reason)[:200] or type(reason).__name__,
                            delay)
                await self._pause(delay)
                if self._closing.is_set():
                    return
                delay = min(delay * 2, SHARD_COUNT_RETRY_MAX)

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds`` on the bot's clock, or until the bot is closed (SIGTERM while waiting exits at once)."""
        waits = [asyncio.ensure_future(self.clock.sleep(seconds)), asyncio.ensure_future(self._closing.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    async def _fetch_max_concurrency(self) -> int:
        try:
            limits = await self.fetch_session_start_limits()
        except (discord.HTTPException, discord.GatewayNotFound, aiohttp.ClientError, OSError) as exc:
            log.warning("could not read the session start limits (%s); starting one shard at a time", exc)
            return 1
        return max(1, int(limits.max_concurrency))

    async def _sync_in_background(self) -> None:
        for attempt, wait in enumerate((0, 30, 120, 600, 1800)):
            if wait:
                await asyncio.sleep(wait)
            try:
                await self.sync_commands_if_changed()
                return
            except discord.Forbidden:
                log.error(
                    "Discord refused to register the slash commands (403): the invite lacks the "
                    "applications.commands scope. Invite the bot again with scope=bot+applications.commands "
                    "(README, 'Creating the Discord application'); buttons, reactions and scheduled posts keep working."
                )
                return
            except discord.HTTPException as exc:
                if exc.code == DAILY_COMMAND_CREATES:
                    log.warning("Discord's limit of 200 new slash commands a day is reached; the commands stay as "
                                "they were and the sync is tried again in the background (attempt %d)", attempt + 1)
                    continue
                if exc.status == 400:
                    log.error("Discord refused the command tree (400 %s): %s. Fix the command and restart.",
                              exc.code, _form_errors(exc))
                    return
                log.warning("command sync failed (%s %s); trying again in the background (attempt %d)",
                            exc.status, exc.code, attempt + 1)
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                log.warning("command sync could not reach Discord (%s); trying again in the background", exc)
        log.error("command sync kept failing; slash commands may be out of date until the next start")

    async def sync_commands_if_changed(self) -> bool:
        """Sync the command tree only when its shape changed since the last sync (rate limits)."""
        guild = discord.Object(id=self.config.dev_guild) if self.config.dev_guild else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        payload = [cmd.to_dict(self.tree) for cmd in self.tree.get_commands(guild=guild)]
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        app_id = self.application_id or 0
        key = f"tree_hash:{app_id}:{guild.id if guild else 'global'}"
        if await meta.get_meta(self.store, key) == digest:
            log.info("command tree unchanged; not syncing")
            self.commands_synced = True
            return False
        await self.tree.sync(guild=guild)
        await meta.set_meta(self.store, key, digest)
        log.info("synced %d commands (%s)", len(payload), f"guild {guild.id}" if guild else "global")
        self.commands_synced = True
        return True

    async def on_ready(self) -> None:
        log.info("ready as %s in %d servers on shards %s", self.user, len(self.guilds), self.shards_text())

    # shutdown --------------------------------------------------------------------------
    async def close(self) -> None:
        """Stop taking work, let current writes finish, close the store."""
        self._closing.set()
        if self._sync_task is not None:
            self._sync_task.cancel()
        await self.scheduler.stop()
        for service in reversed(self._services):
            await service.close()
        self.worker.close()
        forget_live_pages()
        await super().close()
        if self.store.is_open:
            await self.store.close()

    # errors ----------------------------------------------------------------------------
    async def _on_tree_error(
        self, interaction: discord.Interaction[Any], error: discord.app_commands.AppCommandError
    ) -> None:
        await report_error(interaction, error)

    # helpers for cogs -----------------------------------------------------------------
    def now_ts(self) -> int:
        return int(self.clock.now().timestamp())

    @property
    def version(self) -> str:
        return __version__

    def guild_loaded(self, guild_id: int) -> bool:
        """False while a server's data is still on its way from Discord: before READY, or for a server Discord
        lists as unavailable (it arrives seconds later on big bots, or after an outage). A server the bot is not
        in at all counts as loaded, so work for it fails in the ordinary way instead of waiting forever."""
        if not self.is_ready():
            return False
        guild = self.get_guild(guild_id)
        return guild is None or not guild.unavailable

    async def resolve_messageable(self, channel_id: int) -> discord.abc.Messageable:
        channel = self.get_channel(channel_id)
        if channel is None:
            channel = await self.fetch_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            # Same outcome as a deleted channel: callers (and the scheduler) treat it as "not found".
            gone = SimpleNamespace(status=404, reason="Not Found")
            raise discord.NotFound(gone, {"code": 10003, "message": "Not a text channel"})  # type: ignore[arg-type]
        return channel

    async def tell_moderators(self, guild_id: int, text: str, *, key: str | None = None) -> bool:
        """Post a notice in the announcements channel (once per ``key``); pings nobody."""
        if key is not None and not await meta.claim_notice(self.store, guild_id, key, self.now_ts()):
            return False
        settings = await self.settings.get(guild_id)
        if settings.announcements_channel_id is None:
            log.warning("notice for guild %s with no announcements channel: %s", guild_id, text)
            return False
        try:
            channel = await self.resolve_messageable(settings.announcements_channel_id)
            await channel.send(text, allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException as exc:
            log.warning("could not post a notice in guild %s: %s", guild_id, exc)
            return False
        return True

    async def _notify_post_problem(self, post: ScheduledPost, reason: str) -> None:
        what = "was missed while the bot was offline" if reason == "missed" else f"could not be sent: {reason}"
        await self.tell_moderators(
            post.guild_id,
            f"⚠️ Moderators: scheduled post #{post.id} ({post.kind}) {what}. "
            "See `/schedule list` for details.",
            key=f"post:{post.id}:{'missed' if reason == 'missed' else 'failed'}",
        )


def _form_errors(exc: discord.HTTPException) -> str:
    """Discord's "Invalid Form Body" details on one line: which command and option, and why."""
    text = str(exc.text or "").strip()
    return " ".join(text.split())[:500] or "no details"
