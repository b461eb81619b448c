"""A cluster's startup scans keep only its own shards' servers, on both backends (bit shift and modulo on ids)."""

from __future__ import annotations

from bot.domain.shards import ShardRange
from db import scheduled_posts as posts
from db.store import Store


def guild_on(shard: int, count: int, n: int = 1) -> int:
    """A server id on ``shard`` of ``count`` (Discord: (id >> 22) % count), big like a real snowflake."""
    return (((1 << 40) + n * count + shard) << 22) | 12345


async def test_list_active_times_keeps_the_clusters_own_servers(store: Store) -> None:
    count = 4
    for shard in range(count):
        await posts.insert(store, guild_id=guild_on(shard, count), kind="k", key=f"k:{shard}", due_at=100 + shard,
                           now=1)
    everything = await posts.list_active_times(store)
    assert len(everything) == count
    mine = await posts.list_active_times(store, shards=ShardRange(1, 2, count))
    assert [p.due_at for p in mine] == [101, 102]
    assert len(await posts.list_active_times(store, shards=ShardRange(0, 3, count))) == count
