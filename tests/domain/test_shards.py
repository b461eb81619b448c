"""FILMCLUB_SHARDS ranges and Discord's sharding rule."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.shards import ShardRange, parse_shards, shard_of


def test_ranges_and_single_shards_parse() -> None:
    assert parse_shards("0-3/8") == ShardRange(0, 3, 8)
    assert parse_shards(" 4 - 7 / 8 ") == ShardRange(4, 7, 8)
    assert parse_shards("5/8") == ShardRange(5, 5, 8)
    assert parse_shards("0/1") == ShardRange(0, 0, 1)
    assert parse_shards("0-3/8").ids == [0, 1, 2, 3]
    assert str(parse_shards("0-3/8")) == "0-3/8" and str(parse_shards("5/8")) == "5/8"


@pytest.mark.parametrize("text", ["", "8", "0-3", "3-0/8", "0-8/8", "8/8", "-1/8", "0/0", "a-b/c", "0-3/8/2",
                                  "0..3/8", "1,2/8"])
def test_bad_forms_are_refused_with_the_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"FIRST-LAST/COUNT .* 0 <= FIRST <= LAST < COUNT"):
        parse_shards(text)


def test_a_range_must_fit_its_count() -> None:
    with pytest.raises(ValueError):
        ShardRange(2, 1, 8)
    with pytest.raises(ValueError):
        ShardRange(0, 8, 8)


def test_discords_formula_decides_who_owns_a_server() -> None:
    # (guild_id >> 22) % count (docs: Events → Gateway, "Sharding Formula").
    guild = (13 << 22) | 12345  # the low 22 bits never matter
    assert shard_of(guild, 8) == 5 and shard_of(guild, 2) == 1 and shard_of(guild, 1) == 0
    assert ShardRange(4, 7, 8).owns(guild) and not ShardRange(0, 3, 8).owns(guild)
    assert ShardRange(5, 5, 8).owns(guild) and not ShardRange(6, 6, 8).owns(guild)


def test_who_syncs_and_who_owns_everything() -> None:
    assert ShardRange(0, 3, 8).runs_shard_zero and not ShardRange(4, 7, 8).runs_shard_zero
    assert ShardRange(0, 7, 8).everything and not ShardRange(0, 6, 8).everything


@given(st.integers(min_value=0, max_value=2**63 - 1), st.integers(min_value=1, max_value=64), st.data())
def test_clusters_splitting_the_shards_own_every_server_exactly_once(
    guild: int, count: int, data: st.DataObject
) -> None:
    cuts = sorted(data.draw(st.sets(st.integers(min_value=1, max_value=max(1, count - 1))))) if count > 1 else []
    bounds = [0, *cuts, count]
    clusters = [ShardRange(a, b - 1, count) for a, b in itertools.pairwise(bounds)]
    assert sum(c.owns(guild) for c in clusters) == 1
