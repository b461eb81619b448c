"""Time source for the bot.

Everything in the bot that needs "now" or has to wait for a moment asks a
:class:`Clock`. Production uses :class:`SystemClock`; tests inject a fake clock
(``tests/fakediscord/clock.py``) and advance it instead of sleeping.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Protocol


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
