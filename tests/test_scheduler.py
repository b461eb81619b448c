"""The scheduler service against a real SQLite file and a fake clock (no Discord)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import discord
import pytest

from bot.scheduler import JobSpec, PostObsolete, SchedulerService
from db import scheduled_posts as posts_repo
from db.migrate import migrate
from db.scheduled_posts import ScheduledPost
from db.store import Store
from tests.fakediscord.clock import FakeClock


def http_error(cls: type[discord.HTTPException], status: int) -> discord.HTTPException:
    return cls(SimpleNamespace(status=status, reason="x"), {"message": "boom", "code": 0})  # type: ignore[arg-type]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = Store(tmp_path / "s.db")
    await s.open()
    await migrate(s)
    yield s
    await s.close()


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []
        self.failures: list[BaseException] = []
        self.notices: list[tuple[int, str]] = []

    async def handler(self, post: ScheduledPost) -> int | None:
        self.calls.append((post.id, post.nonce))
        if self.failures:
            raise self.failures.pop(0)
        return 1000 + post.id

    async def notify(self, post: ScheduledPost, reason: str) -> None:
        self.notices.append((post.id, reason))


async def make(store: Store, clock: FakeClock, rec: Recorder) -> SchedulerService:
    service = SchedulerService(store, clock, notifier=rec.notify)
    service.register("test", rec.handler, grace=timedelta(minutes=15))

    async def quiet() -> None:
        # Database work runs in aiosqlite's thread: wait (real time) until the posts in flight finish.
        for _ in range(400):
            await asyncio.sleep(0.002)
            if not service._inflight:
                break
        await asyncio.sleep(0.01)

    clock.settle_hooks.append(quiet)
    await service.start()
    return service


async def test_transient_errors_are_retried_with_backoff(store: Store) -> None:
    clock, rec = FakeClock(), Recorder()
    service = await make(store, clock, rec)
    rec.failures = [http_error(discord.DiscordServerError, 503), http_error(discord.HTTPException, 429)]
    post = await service.schedule(guild_id=1, kind="test", key="k", due=clock.now() + timedelta(seconds=10))
    assert post is not None
    await clock.advance(10)
    assert len(rec.calls) == 1
    await clock.advance(5)  # first retry after 5 s
    assert len(rec.calls) == 2
    await clock.advance(29)
    assert len(rec.calls) == 2
    await clock.advance(1)  # second retry after 30 s
    assert len(rec.calls) == 3
    assert {nonce for _, nonce in rec.calls} == {post.nonce}  # same nonce every time
    stored = await posts_repo.get(store, post.id)
    assert stored is not None and stored.status == "sent" and stored.attempts == 3
    assert rec.notices == []
    await service.stop()


async def test_three_transient_failures_fail_the_post_and_notify_once(store: Store) -> None:
    clock, rec = FakeClock(), Recorder()
    service = await make(store, clock, rec)
    rec.failures = [http_error(discord.DiscordServerError, 502) for _ in range(3)]
    post = await service.schedule(guild_id=1, kind="test", key="k", due=clock.now())
    assert post is not None
    await clock.advance(600)
    assert len(rec.calls) == 3
    stored = await posts_repo.get(store, post.id)
    assert stored is not None and stored.status == "failed" and "502" in (stored.last_error or "")
    assert [n[0] for n in rec.notices] == [post.id]
    await service.stop()


async def test_forbidden_fails_at_once(store: Store) -> None:
    clock, rec = FakeClock(), Recorder()
    service = await make(store, clock, rec)
    rec.failures = [http_error(discord.Forbidden, 403)]
    post = await service.schedule(guild_id=1, kind="test", key="k", due=clock.now())
    assert post is not None
    await clock.advance(600)
    assert len(rec.calls) == 1
    stored = await posts_repo.get(store, post.id)
    assert stored is not None and stored.status == "failed" and "missing permissions" in (stored.last_error or "")
    await service.stop()


async def test_obsolete_post_is_cancelled(store: Store) -> None:
    clock, rec = FakeClock(), Recorder()
    service = await make(store, clock, rec)
    rec.failures = [PostObsolete("screening cancelled")]
    post = await service.schedule(guild_id=1, kind="test", key="k", due=clock.now())
    assert post is not None
    await clock.advance(1)
    stored = await posts_repo.get(store, post.id)
    assert stored is not None and stored.status == "cancelled"
    assert rec.notices == []
    await service.stop()


async def test_cancel_prefix_and_order(store: Store) -> None:
    clock, rec = FakeClock(), Recorder()
    service = await make(store, clock, rec)
    base = clock.now()
    ids = []
    for i, key in enumerate(["s:1:a", "s:1:b", "s:2:a", "s_1:c"]):
        post = await service.schedule(guild_id=1, kind="test", key=key, due=base + timedelta(seconds=60 - i))
        assert post is not None
        ids.append(post.id)
    cancelled = await service.cancel_prefix(1, "s:1:")
    assert sorted(cancelled) == sorted(ids[:2])  # LIKE wildcards in the prefix are escaped
    await clock.advance(120)
    assert [pid for pid, _ in rec.calls] == [ids[3], ids[2]]  # earliest due first
    await service.stop()


async def test_rebuild_ten_thousand_quickly(store: Store) -> None:
    clock = FakeClock()
    now = int(clock.now().timestamp())
    await store.executemany(
        "INSERT INTO scheduled_posts (guild_id, kind, key, due_at, created_at) VALUES (?, 'test', ?, ?, ?)",
        [(1, f"k{i}", now + 3600 + i, now) for i in range(10_000)],
    )
    rec = Recorder()
    service = await make(store, clock, rec)
    assert service.pending_count == 10_000
    await service.stop()


async def test_unknown_kind_is_failed_not_lost(store: Store) -> None:
    clock, rec = FakeClock(), Recorder()
    service = await make(store, clock, rec)
    post = await service.schedule(guild_id=1, kind="nobody-handles-this", key="k", due=clock.now())
    assert post is not None
    await clock.advance(1)
    stored = await posts_repo.get(store, post.id)
    assert stored is not None and stored.status == "failed" and "unknown kind" in (stored.last_error or "")
    await service.stop()


async def test_cancelled_key_can_be_queued_again(store: Store) -> None:
    clock, rec = FakeClock(), Recorder()
    service = await make(store, clock, rec)
    first = await service.schedule(guild_id=1, kind="test", key="s:9:start", due=clock.now() + timedelta(hours=1))
    assert first is not None
    await service.cancel_prefix(1, "s:9:")
    again = await service.schedule(guild_id=1, kind="test", key="s:9:start", due=clock.now() + timedelta(hours=2))
    assert again is not None and again.id == first.id and again.status == "pending"
    assert await service.schedule(guild_id=1, kind="test", key="s:9:start", due=clock.now()) is None  # live: no
    await clock.advance(3600)
    assert rec.calls == []  # the old time is gone
    await clock.advance(3600)
    assert [pid for pid, _ in rec.calls] == [first.id]
    await service.stop()


# --------------------------------------------------------------------------- APScheduler jobs follow the rows


async def test_each_pending_post_is_one_apscheduler_job_with_its_grace(store: Store) -> None:
    from apscheduler.triggers.date import DateTrigger

    from bot.scheduler import job_id

    clock, rec = FakeClock(), Recorder()
    service = await make(store, clock, rec)
    due = clock.now() + timedelta(minutes=10)
    post = await service.schedule(guild_id=1, kind="test", key="k", due=due)
    assert post is not None
    job = service._aps.get_job(job_id(post.id))
    assert job is not None and isinstance(job.trigger, DateTrigger)
    assert job.trigger.run_date == due and job.next_run_time == due
    assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 15 * 60)
    assert service.pending_count == 1
    await clock.advance(600)
    assert [pid for pid, _ in rec.calls] == [post.id]
    assert service._aps.get_job(job_id(post.id)) is None and service.pending_count == 0
    await service.stop()


async def test_a_post_rescheduled_then_cancelled_its_job_follows(store: Store) -> None:
    clock, rec = FakeClock(), Recorder()
    service = await make(store, clock, rec)
    start = clock.now()
    post = await service.schedule(guild_id=1, kind="test", key="k", due=start + timedelta(hours=1))
    assert post is not None
    assert service.job_spec(post.id) == JobSpec(post.due_at, 15 * 60)
    later = start + timedelta(hours=2)
    assert await service.reschedule(post.id, 2, later) is None  # another server's post: untouched
    moved = await service.reschedule(post.id, 1, later)
    assert moved is not None and moved.due_at == int(later.timestamp())
    assert service.job_spec(post.id) == JobSpec(moved.due_at, 15 * 60)
    await clock.advance(3600 + 60)
    assert rec.calls == []  # the old time is gone with the old job
    assert await service.cancel(post.id, 1)
    assert service.job_spec(post.id) is None and service.pending_count == 0
    await clock.advance(2 * 3600)
    assert rec.calls == []
    stored = await posts_repo.get(store, post.id)
    assert stored is not None and stored.status == "cancelled"
    await service.stop()


async def test_row_and_job_change_together_or_not_at_all(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    clock, rec = FakeClock(), Recorder()
    service = await make(store, clock, rec)
    due = clock.now() + timedelta(minutes=5)

    # The unit of work rolls back after the post was queued in it: no row, no job.
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            post = await service.schedule(guild_id=1, kind="test", key="rolled-back", due=due, db=tx)
            assert post is not None and service.job_spec(post.id) is not None
            raise RuntimeError("something else in the same unit of work failed")
    assert await posts_repo.get_by_key(store, "rolled-back") is None
    assert service.job_spec(post.id) is None and service.pending_count == 0

    # A cancel that rolls back leaves the job where it was.
    kept = await service.schedule(guild_id=1, kind="test", key="kept", due=due)
    assert kept is not None
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            assert await service.cancel_prefix(1, "kept", db=tx) == [kept.id]
            assert service.job_spec(kept.id) is None
            raise RuntimeError("boom")
    assert service.job_spec(kept.id) == JobSpec(kept.due_at, 15 * 60)

    # The job cannot be added: the row is not written either.
    def refuse(*args: object, **kwargs: object) -> None:
        raise ValueError("the timer refused the job")

    monkeypatch.setattr(service._aps, "add_job", refuse)
    with pytest.raises(ValueError):
        await service.schedule(guild_id=1, kind="test", key="no-job", due=due)
    assert await posts_repo.get_by_key(store, "no-job") is None
    monkeypatch.undo()

    await clock.advance(300)
    assert [pid for pid, _ in rec.calls] == [kept.id]  # the kept post went out on time, once
    await service.stop()


async def test_missed_past_grace_is_marked_by_the_missed_event_and_told_once(store: Store) -> None:
    clock, rec = FakeClock(), Recorder()
    service = await make(store, clock, rec)
    post = await service.schedule(guild_id=1, kind="test", key="k", due=clock.now() + timedelta(minutes=1))
    assert post is not None
    await service.stop()
    await clock.advance(60 + 16 * 60)  # down until 16 minutes after it was due: past the 15-minute window
    missed_events: list[str] = []
    service = SchedulerService(store, clock, notifier=rec.notify)
    service.register("test", rec.handler, grace=timedelta(minutes=15))
    from apscheduler.events import EVENT_JOB_MISSED

    service._aps.add_listener(lambda event: missed_events.append(event.job_id), EVENT_JOB_MISSED)
    clock.settle_hooks.append(lambda: asyncio.sleep(0.05))
    await service.start()
    await clock.advance(1)
    assert rec.calls == []
    assert missed_events == [f"post:{post.id}"]  # APScheduler found it too late, the listener marked it
    stored = await posts_repo.get(store, post.id)
    assert stored is not None and stored.status == "missed" and "offline" in (stored.last_error or "")
    assert rec.notices == [(post.id, "missed")]
    await service.stop()
    service = await make(store, clock, rec)  # another restart: nothing pending, nothing told again
    await clock.advance(3600)
    assert rec.notices == [(post.id, "missed")] and rec.calls == []
    await service.stop()


async def test_a_retry_keeps_what_is_left_of_the_grace_window(store: Store) -> None:
    clock, rec = FakeClock(), Recorder()
    service = await make(store, clock, rec)
    rec.failures = [http_error(discord.DiscordServerError, 503)]
    post = await service.schedule(guild_id=1, kind="test", key="k", due=clock.now() + timedelta(seconds=10))
    assert post is not None
    await clock.advance(10)
    # Retried 5 s later: the job's window is the 15 minutes counted from the due time, less those 5 s.
    assert service.job_spec(post.id) == JobSpec(post.due_at + 5, 15 * 60 - 5)
    await clock.advance(5)
    assert len(rec.calls) == 2
    await service.stop()


async def test_sleep_until_is_a_one_off_timer_job(store: Store) -> None:
    clock, rec = FakeClock(), Recorder()
    service = await make(store, clock, rec)
    woke: list[int] = []

    async def wait(seconds: int) -> None:
        await service.sleep_until(clock.now() + timedelta(seconds=seconds))
        woke.append(seconds)

    tasks = [asyncio.create_task(wait(s)) for s in (30, 10)]
    await clock.advance(9)
    assert woke == [] and service.pending_count == 0  # a wait is not a post
    await clock.advance(1)
    assert woke == [10]
    await clock.advance(20)
    assert woke == [10, 30]
    late = asyncio.create_task(service.sleep_until(clock.now() + timedelta(hours=1)))
    await clock.settle()
    await service.stop()
    await asyncio.gather(*tasks)
    with pytest.raises(asyncio.CancelledError):
        await late


async def test_a_job_that_errors_fails_its_post_and_tells_moderators_once(store: Store) -> None:
    clock, rec = FakeClock(), Recorder()
    service = await make(store, clock, rec)
    post = await service.schedule(guild_id=1, kind="test", key="k", due=clock.now() + timedelta(seconds=30))
    assert post is not None

    def broken(post_id: int) -> None:
        raise RuntimeError("the timer's job broke")

    service._due_now = broken  # type: ignore[method-assign]  # what the job runs, as APScheduler calls it
    await clock.advance(30)
    stored = await posts_repo.get(store, post.id)
    assert stored is not None and stored.status == "failed" and "the timer's job broke" in (stored.last_error or "")
    assert rec.calls == [] and rec.notices == [(post.id, "RuntimeError: the timer's job broke")]
    await clock.advance(3600)
    assert len(rec.notices) == 1
    await service.stop()


async def test_hand_off_lateness_is_recorded_per_claimed_post(store: Store) -> None:
    """The timer's own lateness (due -> claimed and queued to send) is kept per post: what the scheduler
    benchmark reports apart from the wait for Discord's rate limits that follows."""
    clock, rec = FakeClock(), Recorder()
    service = await make(store, clock, rec)
    due = clock.now() + timedelta(seconds=10)
    for i in range(3):
        await service.schedule(guild_id=1, kind="test", key=f"k{i}", due=due)
    await clock.advance(10)
    assert len(rec.calls) == 3
    assert len(service.handoff_lateness) == 3
    assert all(0 <= late < 1 for late in service.handoff_lateness)
    # A post taken up late (the timer was paused while it came due) counts its real lateness.
    service._aps.pause()
    await service.schedule(guild_id=1, kind="test", key="late", due=clock.now() + timedelta(seconds=5))
    await clock.advance(65)
    service._aps.resume()
    service.wakeup()
    await clock.advance(0)
    assert len(rec.calls) == 4
    assert 59 <= service.handoff_lateness[-1] < 61
