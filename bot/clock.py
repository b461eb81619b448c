"""Time source for the bot.

Everything in the bot that needs "now" or has to wait for a moment asks a
:class:`Clock`. Production uses :class:`SystemClock`; tests inject a fake clock
(``tests/fakediscord/clock.py``) and advance it instead of sleeping.

The scheduler's timer is APScheduler, which keeps its own schedule and reads the wall clock itself. It tells
the clock about itself with :meth:`Clock.track`: the system clock needs nothing more (APScheduler's own timers
run on real time), while a fake clock makes APScheduler read the fake time and wakes it at each of its
:meth:`Timer.next_wakeup` times as the test moves time forward.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Protocol


class Timer(Protocol):
    """Something that keeps its own schedule (the APScheduler scheduler behind ``bot.scheduler``)."""

    def next_wakeup(self) -> datetime | None:
        """When it next has something to do (aware), or None when nothing is scheduled or it is paused."""
        ...

    def wakeup(self) -> None:
        """Look at the clock again now and run whatever is due."""
        ...


class Clock(Protocol):
    """What the bot needs from a clock. All datetimes are timezone-aware UTC."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...

    async def sleep_until(self, when: datetime) -> None:
        """Wait until this clock reaches ``when`` (returns at once if it already has)."""
        ...

    def track(self, timer: Timer) -> None:
        """``timer`` runs on this clock's time from now on (until :meth:`untrack`)."""
        ...

    def untrack(self, timer: Timer) -> None:
        """``timer`` has stopped."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def sleep_until(self, when: datetime) -> None:
        # Sleep in bounded steps so a suspended laptop or a clock jump is noticed.
        while True:
            remaining = (when - self.now()).total_seconds()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, 60.0))

    def track(self, timer: Timer) -> None:
        """Nothing to do: the timer reads the real clock and sets its own event-loop timers."""

    def untrack(self, timer: Timer) -> None:
        """Nothing to do."""
