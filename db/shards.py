"""The SQL condition "this row's server belongs to one of my shards", for the repositories' startup scans.

The same text works on SQLite and PostgreSQL (bit shift and modulo on a 64-bit integer column), with the shard
count and range bound as parameters.
"""

from __future__ import annotations

from bot.domain.shards import SNOWFLAKE_SHIFT, ShardRange


def owned(shards: ShardRange | None, column: str = "guild_id") -> tuple[str, tuple[int, ...]]:
    """``(" AND <condition>", params)`` keeping only rows whose ``column`` (a server id) is on ``shards``; an
    empty condition when ``shards`` is None or covers every shard (one process looks after every server).
    ``column`` is a fixed column name from the calling repository, never user input."""
    if shards is None or shards.everything:
        return "", ()
    return (
        f" AND (({column} >> {SNOWFLAKE_SHIFT}) % ?) BETWEEN ? AND ?",
        (shards.count, shards.first, shards.last),
    )
