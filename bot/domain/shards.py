"""Which servers a bot process (a "cluster") looks after when the bot runs in several processes.

Discord routes a server's events to shard ``(guild_id >> 22) % shard_count`` (docs: Events → Gateway,
"Sharding Formula"). A cluster runs a contiguous range of shards, ``FIRST-LAST/COUNT`` (``FILMCLUB_SHARDS``), and
does the background work (scheduled posts, catch-up after downtime, anniversaries, reconciliation) only for the
servers of those shards, so two clusters sharing one database never both work on the same server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: What ``FILMCLUB_SHARDS`` looks like, for error messages.
SHAPE = "FIRST-LAST/COUNT (or SHARD/COUNT) with 0 <= FIRST <= LAST < COUNT, e.g. 0-3/8"
_FORM = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?/\s*(\d+)\s*$")
#: Bits of a snowflake below the timestamp: Discord's sharding formula shifts them away.
SNOWFLAKE_SHIFT = 22


def shard_of(guild_id: int, count: int) -> int:
    """The shard Discord puts a server on, out of ``count`` shards."""
    return (guild_id >> SNOWFLAKE_SHIFT) % count


@dataclass(frozen=True)
class ShardRange:
    """Shards ``first`` to ``last`` (both included) of ``count``."""

    first: int
    last: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.first <= self.last < self.count:
            raise ValueError(f"shards must be {SHAPE}; got {self}")

    @property
    def ids(self) -> list[int]:
        """The shard ids, in order (what discord.py's ``shard_ids`` takes)."""
        return list(range(self.first, self.last + 1))

    @property
    def everything(self) -> bool:
        """True when the range covers every shard (one process owns every server)."""
        return self.first == 0 and self.last == self.count - 1

    @property
    def runs_shard_zero(self) -> bool:
        """The cluster with shard 0 gets DMs and is the one that syncs the slash commands."""
        return self.first == 0

    @property
    def share(self) -> float:
        """The part of all shards this range runs (its part of the bot's servers, on average)."""
        return (self.last - self.first + 1) / self.count

    def owns(self, guild_id: int) -> bool:
        """True if the server's events come to one of these shards."""
        return self.first <= shard_of(guild_id, self.count) <= self.last

    def __str__(self) -> str:
        if self.first == self.last:
            return f"{self.first}/{self.count}"
        return f"{self.first}-{self.last}/{self.count}"


def parse_shards(text: str) -> ShardRange:
    """``"0-3/8"`` (shards 0 to 3 of 8) or ``"5/8"`` (shard 5 of 8). Raises ValueError saying the form."""
    match = _FORM.match(text)
    if match is None:
        raise ValueError(f"must be {SHAPE}; got {text.strip()!r}")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    count = int(match.group(3))
    if not 0 <= first <= last < count:
        raise ValueError(f"must be {SHAPE}; got {text.strip()!r}")
    return ShardRange(first, last, count)
