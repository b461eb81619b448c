"""The durable scheduler: posts fire on time, exactly once, across restarts.

Who does what. The table ``scheduled_posts`` is the single source of truth: what is due, for which server, how
often it was tried, whether it went out. APScheduler 3.x (``AsyncIOScheduler`` on the bot's event loop) is the
only timer: every pending row is one APScheduler job (a ``DateTrigger`` at the row's next attempt, id
``post:<row id>``, ``coalesce=True``, ``max_instances=1``, and a ``misfire_grace_time`` from the post kind's
grace window in :mod:`bot.domain.posts`). At start the jobs are rebuilt from the table; a post that is queued,
moved or cancelled adds, moves or removes its job inside the same unit of work as the row (undone if the unit of
work rolls back). APScheduler keeps nothing of its own that the table does not say, so a crash loses nothing.

When a job fires it only hands the post id to a batch: the batch claims every post due at that moment in one
statement (``pending`` -> ``sending``), sends them one server at a time in turn with at most 4 in flight per
server and 2 per channel, and writes the "sent" marks in one transaction. When APScheduler finds a job later than
its ``misfire_grace_time`` (after downtime, or a post that waited for its server too long) it raises
``EVENT_JOB_MISSED``: the listener marks the row missed and moderators are told once. ``EVENT_JOB_ERROR`` marks
it failed the same way. Grace windows count lateness from the post's due time: a retried post's job gets what
is left of its window.

Exactly once: a post is claimed atomically before its handler runs, and marked ``sent`` with the message id
afterwards. Handlers send with ``nonce=post.nonce`` (discord.py then sets ``enforce_nonce``), so if the process
dies between send and mark, the resend after restart is dropped by Discord and the existing message is returned.

Clusters: a bot process that runs some of the shards (``FILMCLUB_SHARDS``) gives ``shards=``; it then rebuilds jobs
only for its own servers' rows, releases only their interrupted claims, and never adds a job for another cluster's
server (that cluster picks the row up at its next rebuild). The claim stays one conditional ``UPDATE ... WHERE
status = 'pending' RETURNING``, so even two processes that both had a job for a row send it once.

Time: APScheduler reads the wall clock itself. The service tells the injected :class:`~bot.clock.Clock` about
it (:meth:`Clock.track`); the real clock needs nothing more, and the tests' fake clock makes APScheduler see
the fake time and wakes it at each job's time as a test moves time forward.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import discord
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING, STATE_STOPPED
from apscheduler.triggers.date import DateTrigger

from bot import pacing
from bot.clock import Clock
from bot.domain import posts as post_kinds
from bot.domain.shards import ShardRange
from db import scheduled_posts as posts_repo
from db.scheduled_posts import ScheduledPost
from db.store import Executor, Store, StoreError, Tx

log = logging.getLogger(__name__)
# APScheduler logs every job it adds, runs and finishes at INFO: thousands of lines in a burst of posts. Its
# warnings (a missed job) stay; the scheduler logs its own line for each post anyway.
logging.getLogger("apscheduler").setLevel(logging.WARNING)

Handler = Callable[[ScheduledPost], Awaitable[int | None]]
Notifier = Callable[[ScheduledPost, str], Awaitable[None]]
NextOccurrence = Callable[[dict[str, Any], datetime], datetime | None]
GuildReady = Callable[[int], bool]
WaitReady = Callable[[], Awaitable[Any]]

MAX_ATTEMPTS = 3
BACKOFF_SECONDS = (5, 30, 120)
# Fairness: at most this many posts of one server (and of one channel) are being sent at once, so a server with a
# backlog, or a channel Discord is slowing down, never holds the sending slots other servers' posts need.
PER_GUILD_SENDS = 4
PER_CHANNEL_SENDS = 2
NOT_LOADED_RETRY = 5  # seconds: a post whose server has not arrived from Discord yet waits this long, then looks again
JOB_PREFIX = "post:"
FLUSH_RETRY_JOB = "flush-sent-marks"
WAIT_PREFIX = "wait:"
_FROM_TABLE: Any = object()


class PostObsolete(Exception):
    """Raised by a handler when the thing the post was for is gone (cancelled, deleted)."""


@dataclass(frozen=True)
class KindSpec:
    handler: Handler
    grace: timedelta | None  # None: always sent, however late

    def is_missed(self, late_by_seconds: int) -> bool:
        return self.grace is not None and late_by_seconds > self.grace.total_seconds()


@dataclass(frozen=True)
class JobSpec:
    """What a post's APScheduler job is: when it runs, and how late it may still run (None: however late)."""

    run_at: int
    misfire_grace: int | None


def to_ts(dt: datetime) -> int:
    return int(dt.timestamp())


def from_ts(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def job_id(post_id: int) -> str:
    """The APScheduler job id of a post: derived from its row, so the row and its job can always be matched."""
    return f"{JOB_PREFIX}{post_id}"


def post_id_of(job: str) -> int | None:
    return int(job[len(JOB_PREFIX):]) if job.startswith(JOB_PREFIX) else None


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, discord.HTTPException) and not isinstance(exc, (discord.Forbidden, discord.NotFound)):
        return exc.status == 429 or exc.status >= 500
    return isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError, OSError, discord.GatewayNotFound))


async def _post_due(service: SchedulerService, post_id: int) -> None:
    """The function every post's job runs: hand the post to the current batch (a module-level coroutine, so
    APScheduler runs it on the event loop and can name it)."""
    service._due_now(post_id)


# APScheduler checks a job's function against its arguments with ``inspect.signature`` for every job it is given;
# computed once here, that check costs next to nothing, which is most of the time a 10,000-post rebuild takes.
_post_due.__signature__ = inspect.signature(_post_due)  # type: ignore[attr-defined]


async def _wake_waiter(service: SchedulerService, wait_id: str) -> None:
    done = service._waiting.get(wait_id)
    if done is not None and not done.done():
        done.set_result(None)


async def _flush_again(service: SchedulerService) -> None:
    await service._flush_sent()


class SchedulerService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        notifier: Notifier | None = None,
        next_occurrence: NextOccurrence | None = None,
        concurrency: int = 50,
        wait_ready: WaitReady | None = None,
        guild_ready: GuildReady | None = None,
        shards: ShardRange | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.notifier = notifier
        self.next_occurrence = next_occurrence
        # Posts need their server (threads, channels): the timer stays paused until the bot's servers are there,
        # and a post whose server is still on its way from Discord waits instead of failing.
        self.wait_ready = wait_ready
        self.guild_ready = guild_ready
        #: This cluster's shards (None: every server is this process's).
        self.shards = shards
        self._kinds: dict[str, KindSpec] = {}
        self._aps = self._new_timer()
        self._resume_task: asyncio.Task[None] | None = None
        self._due: list[int] = []
        self._drain_soon = False
        self._inflight: set[asyncio.Task[None]] = set()
        self._sem = asyncio.Semaphore(concurrency)
        self._guild_slots: dict[int, asyncio.Semaphore] = {}
        self._channel_slots: dict[int, asyncio.Semaphore] = {}
        self._stopping = False
        self._started_at = 0
        self._sent_buffer: list[tuple[ScheduledPost, int, int | None]] = []
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self._waits = 0
        self.sent_count = 0
        #: Seconds from each post's due time to its hand-off (claimed, in the send queue), newest last: the
        #: timer's own lateness, apart from the wait for Discord's rate limits that follows (bench_scheduler).
        self.handoff_lateness: deque[float] = deque(maxlen=10_000)

    def _new_timer(self) -> AsyncIOScheduler:
        timer = AsyncIOScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1})
        timer.add_listener(self._on_job_trouble, EVENT_JOB_MISSED | EVENT_JOB_ERROR)
        return timer

    # registration -----------------------------------------------------------------
    def register(self, kind: str, handler: Handler, *, grace: timedelta | None = _FROM_TABLE) -> None:
        """Say how posts of ``kind`` are sent. How late they may still go out after downtime comes from the one
        table in :mod:`bot.domain.posts` (``grace`` only for kinds outside it, such as a test's own)."""
        if grace is _FROM_TABLE:
            if kind not in post_kinds.GRACE:
                raise ValueError(f"scheduled post kind {kind!r} has no grace window in bot/domain/posts.py")
            grace = post_kinds.grace_for(kind)
        self._kinds[kind] = KindSpec(handler, grace)

    def _grace(self, kind: str) -> timedelta | None:
        spec = self._kinds.get(kind)
        if spec is not None:
            return spec.grace
        return post_kinds.GRACE.get(kind, timedelta(0))

    # queueing ------------------------------------------------------------------------
    def now_ts(self) -> int:
        return to_ts(self.clock.now())

    async def schedule(
        self,
        *,
        guild_id: int,
        kind: str,
        key: str,
        due: datetime,
        channel_id: int | None = None,
        thread_id: int | None = None,
        member_id: int | None = None,
        payload: dict[str, Any] | None = None,
        recurrence: dict[str, Any] | None = None,
        db: Executor | None = None,
    ) -> ScheduledPost | None:
        """Queue a post (in ``db``'s unit of work when given) and its timer job; None if ``key`` is already
        queued. If the unit of work rolls back, the job goes with it."""
        async with self._unit(db) as tx:
            post = await posts_repo.insert(
                tx, guild_id=guild_id, kind=kind, key=key, due_at=to_ts(due),
                now=self.now_ts(), channel_id=channel_id, thread_id=thread_id, member_id=member_id,
                payload=payload, recurrence=recurrence,
            )
            if post is not None and self._owns(post):
                self._set_job(tx, post.id, self._spec(post))
        return post

    def _owns(self, post: ScheduledPost) -> bool:
        """True if the post's server is this cluster's; else say so: its own cluster takes the row at its next
        start (a command is always answered by the cluster of its server, so this is a bug somewhere)."""
        if self.shards is None or self.shards.owns(post.guild_id):
            return True
        log.warning("post %s (%s) is for guild %s, not on shards %s: no job here, its cluster sends it",
                    post.id, post.kind, post.guild_id, self.shards)
        return False

    async def reschedule(self, post_id: int, guild_id: int, due: datetime, db: Executor | None = None
                         ) -> ScheduledPost | None:
        """Move a pending post of the server to ``due``, and its job with it; None if there is no such post."""
        async with self._unit(db) as tx:
            post = await posts_repo.reschedule(tx, post_id, guild_id, to_ts(due))
            if post is not None and self._owns(post):
                self._set_job(tx, post.id, self._spec(post))
        return post

    async def cancel(self, post_id: int, guild_id: int, db: Executor | None = None) -> bool:
        """Cancel a post of the server (pending, failed or missed), and remove its job."""
        async with self._unit(db) as tx:
            done = await posts_repo.cancel(tx, post_id, guild_id)
            if done:
                self._set_job(tx, post_id, None)
        return done

    async def cancel_prefix(self, guild_id: int, prefix: str, db: Executor | None = None) -> list[int]:
        """Cancel every pending post of the server whose key starts with ``prefix``, and remove their jobs."""
        async with self._unit(db) as tx:
            ids = await posts_repo.cancel_by_key_prefix(tx, guild_id, prefix)
            for post_id in ids:
                self._set_job(tx, post_id, None)
        return ids

    def _unit(self, db: Executor | None) -> Any:
        """The caller's unit of work, or a new one: a row and its job change together."""
        if isinstance(db, Tx):
            return _Same(db)
        return (db if isinstance(db, Store) else self.store).transaction()

    def _spec(self, post: ScheduledPost | posts_repo.ActivePost, run_at: int | None = None) -> JobSpec:
        """The job for ``post`` at ``run_at`` (default: its next attempt). APScheduler counts lateness from the
        job's run time; the grace rule counts it from the post's due time, so a retry gets what is left."""
        at = post.next_attempt_at if run_at is None else run_at
        grace = self._grace(post.kind)
        if grace is None:
            return JobSpec(at, None)
        return JobSpec(at, max(1, post.due_at + int(grace.total_seconds()) - at))

    # the timer's jobs ---------------------------------------------------------------------
    def job_spec(self, post_id: int) -> JobSpec | None:
        """The post's job as APScheduler holds it (None: no job)."""
        job = self._aps.get_job(job_id(post_id))
        if job is None:
            return None
        return JobSpec(to_ts(job.trigger.run_date), job.misfire_grace_time)

    def _put_job(self, post_id: int, spec: JobSpec | None) -> None:
        if spec is None:
            try:
                self._aps.remove_job(job_id(post_id))
            except JobLookupError:
                pass
            return
        self._aps.add_job(
            _post_due, DateTrigger(run_date=from_ts(spec.run_at), timezone=UTC), args=(self, post_id),
            id=job_id(post_id), name="post", replace_existing=True, misfire_grace_time=spec.misfire_grace,
            coalesce=True, max_instances=1,
        )

    def _set_job(self, tx: Tx | None, post_id: int, spec: JobSpec | None) -> None:
        """Make the post's job ``spec`` (None: no job), as part of ``tx``: if it rolls back, the job is put back
        as it was. A job that cannot be added raises here, inside the unit of work, which then rolls back."""
        before = self.job_spec(post_id) if tx is not None else None
        self._put_job(post_id, spec)
        if tx is not None:
            tx.on_rollback(lambda: self._put_job(post_id, before))

    def next_wakeup(self) -> datetime | None:
        """When the timer next has a job to run (None while it is paused or stopped): for a fake clock."""
        if self._aps.state != STATE_RUNNING:
            return None
        jobs = self._aps.get_jobs()
        times = [job.next_run_time for job in jobs if job.next_run_time is not None]
        return min(times) if times else None

    def wakeup(self) -> None:
        """Make the timer look at the clock now (a fake clock calls this after moving time)."""
        if self._aps.state == STATE_RUNNING:
            self._aps.wakeup()

    async def sleep_until(self, when: datetime) -> None:
        """Wait until ``when`` on the scheduler's timer (a one-off in-memory job, nothing stored): for short waits
        that need not survive a restart, such as a game's round timer. Returns at once if ``when`` has passed;
        raises ``asyncio.CancelledError`` if the scheduler stops first."""
        if when <= self.clock.now():
            await asyncio.sleep(0)
            return
        self._waits += 1
        wait_id = f"{WAIT_PREFIX}{self._waits}"
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[wait_id] = done
        self._aps.add_job(_wake_waiter, DateTrigger(run_date=when), args=(self, wait_id), id=wait_id,
                          misfire_grace_time=None)
        try:
            await done
        finally:
            self._waiting.pop(wait_id, None)
            try:
                self._aps.remove_job(wait_id)
            except JobLookupError:
                pass

    # lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Start the timer paused, rebuild its jobs from the table, and let it run once the bot is ready."""
        self._stopping = False
        self._started_at = self.now_ts()
        if self._aps.state != STATE_STOPPED:
            raise RuntimeError("the scheduler is already running")
        self.clock.track(self)
        self._aps.start(paused=True)
        await self.rebuild()
        self._resume_task = asyncio.create_task(self._resume_when_ready(), name="filmclub-scheduler")

    async def _resume_when_ready(self) -> None:
        if self.wait_ready is not None:
            await self.wait_ready()
        if not self._stopping:
            self._aps.resume()

    async def rebuild(self) -> int:
        """One job per pending post, from the table. A post interrupted between claim and mark (a crash) is sent
        again: the nonce stops a duplicate. A post already past its grace window gets its job too; APScheduler
        reports it missed when the timer runs (the listener marks it and tells moderators). A cluster takes only
        its own servers' posts."""
        count = 0
        for post in await posts_repo.list_active_times(self.store, shards=self.shards):
            if post.status == posts_repo.SENDING:
                await posts_repo.release(self.store, post.id)
            self._put_job(post.id, self._spec(post))
            count += 1
        log.info("scheduler rebuilt: %d pending posts%s", count,
                 f" (servers of shards {self.shards})" if self.shards is not None else "")
        return count

    def _past_grace(self, post: ScheduledPost, now: int) -> bool:
        grace = self._grace(post.kind)
        return grace is not None and now - post.due_at > grace.total_seconds()

    async def _mark_missed(self, post: ScheduledPost, now: int, why: str) -> None:
        late = now - post.due_at
        await posts_repo.mark_status(self.store, post.id, posts_repo.MISSED, f"{why} ({late} s late)")
        log.warning("post %s (%s) missed: %s s late", post.id, post.kind, late)
        await self._notify(post, "missed")

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop the timer; let the posts being sent finish."""
        self._stopping = True
        if self._resume_task is not None:
            self._resume_task.cancel()
            self._resume_task = None
        if self._aps.state != STATE_STOPPED:
            self._aps.pause()
            for _ in range(3):  # jobs already handed to the executor finish (each is one step) before shutdown
                await asyncio.sleep(0)
            self._aps.shutdown(wait=False)  # runs on the loop's next turn
            for _ in range(100):
                if self._aps.state == STATE_STOPPED:
                    break
                await asyncio.sleep(0)
            self.clock.untrack(self)
            self._aps = self._new_timer()  # a stopped service starts again from the table
        for waiting in list(self._waiting.values()):
            waiting.cancel()
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=timeout)
        await self._flush_sent()

    @property
    def pending_count(self) -> int:
        """Posts waiting for their time (one timer job each)."""
        return sum(1 for job in self._aps.get_jobs() if job.id.startswith(JOB_PREFIX))

    # when jobs fire -----------------------------------------------------------------------
    def _due_now(self, post_id: int) -> None:
        """A post's job ran. Every job due at this moment runs in the same turn of the event loop; the batch is
        sent on the next turn, so they are claimed in one statement and taken one server at a time."""
        self._due.append(post_id)
        if not self._drain_soon:
            self._drain_soon = True
            asyncio.get_running_loop().call_soon(self._drain)

    def _drain(self) -> None:
        self._drain_soon = False
        due, self._due = self._due, []
        if due and not self._stopping:  # stopping: the rows stay pending, the next start takes them
            self._track(self._fire_batch(due))

    def _on_job_trouble(self, event: JobExecutionEvent) -> None:
        """APScheduler's ``EVENT_JOB_MISSED`` (later than the post's grace window) and ``EVENT_JOB_ERROR``."""
        post_id = post_id_of(event.job_id)
        if post_id is None:
            return
        if event.code == EVENT_JOB_MISSED:
            self._track(self._settle(post_id, posts_repo.MISSED, None))
        else:
            self._track(self._settle(post_id, posts_repo.FAILED, event.exception))

    async def _settle(self, post_id: int, status: str, exc: BaseException | None) -> None:
        post = await posts_repo.get(self.store, post_id)
        if post is None or post.status != posts_repo.PENDING:
            return
        now = self.now_ts()
        if status == posts_repo.MISSED:
            late = now - post.due_at
            why = ("the bot was offline when this was due" if post.due_at < self._started_at
                   else "it could not be sent in time")
            if not await posts_repo.settle_pending(self.store, post.id, status, f"{why} ({late} s late)"):
                return
            log.warning("post %s (%s) missed: %s s late", post.id, post.kind, late)
            await self._notify(post, "missed")
            return
        reason = _reason(exc) if exc is not None else "the timer failed"
        if await posts_repo.settle_pending(self.store, post.id, status, reason):
            log.error("post %s (%s) failed in the timer: %s", post.id, post.kind, reason)
            await self._notify(post, reason)

    def _retry_later(self, post_ids: list[int], at: int) -> None:
        """Run these posts' jobs again at ``at`` (a storage error: nothing in the table changed)."""
        for post_id in post_ids:
            self._put_job(post_id, JobSpec(at, None))

    def _track(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _fire_batch(self, post_ids: list[int]) -> None:
        """Claim every due post in one statement, then send them concurrently (bounded)."""
        try:
            claimed = await posts_repo.claim_many(self.store, post_ids, self.now_ts())
        except StoreError:
            log.exception("storage error while claiming %d posts; retrying shortly", len(post_ids))
            self._retry_later(post_ids, self.now_ts() + BACKOFF_SECONDS[0])
            return
        handed_off = self.clock.now().timestamp()
        self.handoff_lateness.extend(handed_off - post.next_attempt_at for post in claimed)
        with pacing.bulk():  # a backlog of posts yields to members' commands under the global limit
            await asyncio.gather(*(self._fire(post) for post in _round_robin(claimed)))
        await self._flush_sent()

    @staticmethod
    def _slot(slots: dict[int, asyncio.Semaphore], key: int, size: int) -> asyncio.Semaphore:
        slot = slots.get(key)
        if slot is None:
            slot = slots[key] = asyncio.Semaphore(size)
        return slot

    async def _fire(self, post: ScheduledPost) -> None:
        channel = post.thread_id or post.channel_id or 0
        async with (
            self._slot(self._guild_slots, post.guild_id, PER_GUILD_SENDS),
            self._slot(self._channel_slots, channel, PER_CHANNEL_SENDS),
            self._sem,
        ):
            try:
                if self.guild_ready is not None and not self.guild_ready(post.guild_id):
                    await self._wait_for_guild(post)
                    return
                await self._send(post)
            except StoreError:
                log.exception("storage error while sending post %s; it will be retried", post.id)
                self._retry_later([post.id], self.now_ts() + BACKOFF_SECONDS[0])
            except Exception:
                log.exception("scheduler crashed while sending post %s", post.id)

    async def _wait_for_guild(self, post: ScheduledPost) -> None:
        """The post's server has not arrived from Discord yet (startup, an outage): transient, look again soon,
        unless waiting has made the post later than its grace window."""
        now = self.now_ts()
        if self._past_grace(post, now):
            await self._mark_missed(post, now, "its server was unavailable when this was due")
            return
        retry_at = now + NOT_LOADED_RETRY
        async with self.store.transaction() as tx:
            await posts_repo.defer(tx, post.id, retry_at, "waiting for the server to load")
            self._set_job(tx, post.id, self._spec(post, retry_at))
        log.info("post %s (%s) waits for guild %s to load", post.id, post.kind, post.guild_id)

    async def _send(self, post: ScheduledPost) -> None:
        spec = self._kinds.get(post.kind)
        if spec is None:
            await posts_repo.mark_status(self.store, post.id, posts_repo.FAILED, f"unknown kind {post.kind}")
            log.error("no handler for scheduled post kind %r (post %s)", post.kind, post.id)
            return
        try:
            message_id = await spec.handler(post)
        except PostObsolete as exc:
            await posts_repo.mark_status(self.store, post.id, posts_repo.CANCELLED, str(exc) or "obsolete")
            return
        except Exception as exc:
            await self._handle_failure(post, exc)
            return
        # Marks are written in batches (one transaction for a burst); the nonce covers a crash in between.
        self._sent_buffer.append((post, self.now_ts(), message_id))
        if len(self._sent_buffer) >= 50:
            await self._flush_sent()

    async def _flush_sent(self) -> bool:
        """Write the buffered "sent" marks (and queue the next occurrence of repeating posts, with its job); on a
        storage error keep them and try again later (a timer job)."""
        while self._sent_buffer:
            batch, self._sent_buffer = self._sent_buffer, []
            try:
                async with self.store.transaction() as tx:
                    for post, sent_at, message_id in batch:
                        await posts_repo.mark_sent(tx, post.id, sent_at, message_id)
                        await self._queue_recurrence(tx, post)
            except Exception:
                log.exception("could not mark %d sent posts; will retry", len(batch))
                self._sent_buffer = batch + self._sent_buffer
                if not self._stopping and self._aps.get_job(FLUSH_RETRY_JOB) is None:
                    self._aps.add_job(
                        _flush_again, DateTrigger(run_date=from_ts(self.now_ts() + BACKOFF_SECONDS[0])),
                        args=(self,), id=FLUSH_RETRY_JOB, replace_existing=True, misfire_grace_time=None,
                    )
                return False
            self.sent_count += len(batch)
        return True

    async def _queue_recurrence(self, tx: Tx, post: ScheduledPost) -> None:
        if not post.recurrence or self.next_occurrence is None:
            return
        nxt = self.next_occurrence(post.recurrence, from_ts(post.due_at))
        if nxt is None:
            return
        base = post.key.split("@", 1)[0]
        new = await posts_repo.insert(
            tx, guild_id=post.guild_id, kind=post.kind, key=f"{base}@{to_ts(nxt)}", due_at=to_ts(nxt),
            now=self.now_ts(), channel_id=post.channel_id, thread_id=post.thread_id,
            member_id=post.member_id, payload=post.payload, recurrence=post.recurrence,
        )
        if new is not None:
            self._set_job(tx, new.id, self._spec(new))

    async def _handle_failure(self, post: ScheduledPost, exc: BaseException) -> None:
        reason = _reason(exc)
        attempts = post.attempts
        if _is_transient(exc) and attempts < MAX_ATTEMPTS:
            retry_at = self.now_ts() + BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]
            async with self.store.transaction() as tx:
                await posts_repo.mark_retry(tx, post.id, retry_at, reason)
                self._set_job(tx, post.id, self._spec(post, retry_at))
            log.warning("post %s (%s) failed (%s); retry %d at %s", post.id, post.kind, reason, attempts, retry_at)
            return
        await posts_repo.mark_status(self.store, post.id, posts_repo.FAILED, reason)
        if isinstance(exc, (discord.Forbidden, discord.NotFound)) or _is_transient(exc):
            log.warning("post %s (%s) failed: %s", post.id, post.kind, reason)
        else:
            log.error("post %s (%s) failed", post.id, post.kind, exc_info=exc)
        await self._notify(post, reason)

    async def _notify(self, post: ScheduledPost, reason: str) -> None:
        if self.notifier is None:
            return
        try:
            await self.notifier(post, reason)
        except Exception:
            log.exception("could not tell moderators about post %s", post.id)


def _round_robin(claimed: list[ScheduledPost]) -> list[ScheduledPost]:
    """Due posts taken one server at a time in turn (each server's own in due order), so a server with
    thousands of due posts does not put them all ahead of another server's one."""
    by_guild: dict[int, list[ScheduledPost]] = {}
    for post in claimed:
        by_guild.setdefault(post.guild_id, []).append(post)
    queues = list(by_guild.values())
    ordered: list[ScheduledPost] = []
    for turn in range(max((len(q) for q in queues), default=0)):
        ordered.extend(q[turn] for q in queues if turn < len(q))
    return ordered


class _Same:
    """``async with`` the caller's own unit of work: nothing to begin or commit here."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def __aenter__(self) -> Tx:
        return self.tx

    async def __aexit__(self, *exc: object) -> None:
        return None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, discord.Forbidden):
        return f"missing permissions ({exc.text or 'Forbidden'})"
    if isinstance(exc, discord.NotFound):
        return f"channel or message not found ({exc.text or 'Not Found'})"
    if isinstance(exc, discord.HTTPException):
        return f"Discord error {exc.status} ({exc.text or ''})".strip()
    return f"{type(exc).__name__}: {exc}"[:300]
