"""Installments domain: queue positions, teaser times, keys, texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import installments as dom
from bot.errors import UserError

T0 = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)


def test_add_position_defaults_to_the_end_and_accepts_one_past_it() -> None:
    assert dom.check_add_position(None, 0) == 1
    assert dom.check_add_position(None, 3) == 4
    assert dom.check_add_position(4, 3) == 4
    assert dom.check_add_position(1, 3) == 1


@pytest.mark.parametrize(("position", "size"), [(0, 3), (5, 3), (-1, 0), (2, 0)])
def test_add_position_out_of_range_is_refused(position: int, size: int) -> None:
    with pytest.raises(UserError, match="out of range"):
        dom.check_add_position(position, size)


def test_full_queue_refuses_more() -> None:
    with pytest.raises(UserError, match="already holds"):
        dom.check_add_position(None, dom.MAX_QUEUE)


def test_move_position_range() -> None:
    assert dom.check_move_position(3, 3) == 3
    with pytest.raises(UserError, match="pick 1 to 3"):
        dom.check_move_position(4, 3)
    with pytest.raises(UserError, match="out of range"):
        dom.check_move_position(0, 3)
    with pytest.raises(UserError, match="empty"):
        dom.check_move_position(1, 0)


def test_insert_move_remove() -> None:
    assert dom.insert_at([1, 2, 3], 9, 1) == [9, 1, 2, 3]
    assert dom.insert_at([1, 2, 3], 9, 4) == [1, 2, 3, 9]
    assert dom.insert_at([1, 2, 3], 9, 2) == [1, 9, 2, 3]
    assert dom.move_to([1, 2, 3, 4], 4, 1) == [4, 1, 2, 3]
    assert dom.move_to([1, 2, 3, 4], 1, 4) == [2, 3, 4, 1]
    assert dom.move_to([1, 2, 3, 4], 2, 3) == [1, 3, 2, 4]
    assert dom.move_to([1, 2, 3], 2, 2) == [1, 2, 3]
    assert dom.remove_from([1, 2, 3], 2) == [1, 3]
    assert dom.positions([7, 5]) == [(1, 7), (2, 5)]
    with pytest.raises(ValueError):
        dom.move_to([1, 2], 3, 1)


@given(st.lists(st.integers(1, 10_000), min_size=1, max_size=30, unique=True), st.data())
def test_move_keeps_everything_and_lands_where_asked(order: list[int], data: st.DataObject) -> None:
    item = data.draw(st.sampled_from(order))
    position = data.draw(st.integers(1, len(order)))
    moved = dom.move_to(order, item, position)
    assert sorted(moved) == sorted(order)
    assert moved.index(item) == position - 1
    rest = [i for i in order if i != item]
    assert [i for i in moved if i != item] == rest


def test_current_next_and_wrap_rule() -> None:
    assert dom.current_and_next([4, 8, 9]) == (4, 8)
    assert dom.current_and_next([4]) == (4, None)
    assert dom.current_and_next([]) == (None, None)
    assert dom.teaser_subject([8, 9]) == 8
    assert dom.teaser_subject([]) is None  # "that's a wrap"


def test_teaser_times_only_future_earliest_first() -> None:
    start = T0 + timedelta(days=10)
    offsets = [timedelta(days=7), timedelta(days=1)]
    assert dom.teaser_times(start, offsets, T0) == [
        (timedelta(days=7), start - timedelta(days=7)),
        (timedelta(days=1), start - timedelta(days=1)),
    ]
    # 5 days ahead: the 7-day teaser is already behind us.
    start = T0 + timedelta(days=5)
    assert dom.teaser_times(start, offsets, T0) == [(timedelta(days=1), start - timedelta(days=1))]
    # Exactly at now: not ahead.
    assert dom.teaser_times(T0 + timedelta(days=1), [timedelta(days=1)], T0) == []
    assert dom.teaser_times(start, [], T0) == []


def test_offsets_parse_with_teaser_wording() -> None:
    assert dom.parse_teaser_offsets("7d,1d") == [timedelta(days=7), timedelta(days=1)]
    assert dom.parse_teaser_offsets("1d 7d") == [timedelta(days=7), timedelta(days=1)]
    assert dom.parse_teaser_offsets("off") == []
    assert dom.normalize_offsets(" 1d, 1w ") == "1w,1d"
    assert dom.normalize_offsets("off") == "off"
    with pytest.raises(UserError, match="teaser offset") as err:
        dom.parse_teaser_offsets("soon")
    assert "reminder" not in err.value.message


def test_describe_offset() -> None:
    assert dom.describe_offset(timedelta(days=7)) == "7 days"
    assert dom.describe_offset(timedelta(days=1)) == "1 day"
    assert dom.describe_offset(timedelta(hours=3)) == "3 hours"
    assert dom.describe_offset(timedelta(minutes=1)) == "1 minute"


def test_keys_nest_so_prefix_cancels_work() -> None:
    due = T0 + timedelta(days=3)
    before = dom.before_key(5, 12, timedelta(days=7), due)
    assert before == f"teaser:inst:5:scr:12:before:604800@{int(due.timestamp())}"
    assert before.startswith(dom.screening_prefix(5, 12))
    assert before.startswith(dom.installment_prefix(5))
    # Installment 5's prefix does not catch installment 51's keys.
    assert not dom.before_key(51, 1, timedelta(days=1), due).startswith(dom.installment_prefix(5))
    assert not dom.before_key(5, 120, timedelta(days=1), due).startswith(dom.screening_prefix(5, 12))
    assert dom.custom_key(5, 99, due).startswith(dom.installment_prefix(5))
    assert dom.custom_key(None, 99, due).startswith("teaser:guild:")
    assert dom.now_key(5, 1) != dom.now_key(5, 2)
    assert dom.postcredits_key(12) == "teaser:postcredits:scr:12"


def test_custom_text_limits() -> None:
    assert dom.check_custom_text("  Bring snacks!  ") == "Bring snacks!"
    assert dom.check_custom_text("x" * 2000) == "x" * 2000
    with pytest.raises(UserError, match="2,000"):
        dom.check_custom_text("x" * 2001)
    with pytest.raises(UserError):
        dom.check_custom_text("   ")


def test_note_limit() -> None:
    assert dom.check_note("  ") is None
    assert dom.check_note(" sequel ") == "sequel"
    with pytest.raises(UserError):
        dom.check_note("x" * (dom.MAX_NOTE + 1))


def test_texts() -> None:
    assert dom.headline("Rocky", 1976) == "Next time: *Rocky* (1976)"
    assert dom.headline("Mystery", None) == "Next time: *Mystery*"
    assert "wrap" in dom.WRAP_TEXT
    assert str(dom.RuntimeText(120)) == "2 h"
    assert str(dom.RuntimeText(126)) == "2 h 6 min"
    assert str(dom.RuntimeText(45)) == "45 min"
    assert str(dom.RuntimeText(None)) == "unknown"


def test_blank_offsets_are_refused_and_spellings_compare_equal() -> None:
    with pytest.raises(UserError, match="Give teaser offsets"):
        dom.normalize_offsets("   ")
    assert dom.same_offsets("7d,1d", "1w,1d")
    assert dom.same_offsets("off", "off")
    assert not dom.same_offsets("7d,1d", "2d")
    assert not dom.same_offsets("off", "1d")


def test_key_variants_keep_the_prefix() -> None:
    key = dom.before_key(5, 12, timedelta(days=1), T0)
    assert dom.key_variant(key, 1) == key
    variants = {dom.key_variant(key, n) for n in range(1, 6)}
    assert len(variants) == 5
    assert all(v.startswith(dom.screening_prefix(5, 12)) for v in variants)
    assert dom.screening_prefix(5, 12).startswith(dom.screenings_prefix(5))
    assert not dom.custom_key(5, 1, T0).startswith(dom.screenings_prefix(5))  # watching keeps custom teasers


@given(st.lists(st.text(min_size=0, max_size=500), max_size=40), st.integers(min_value=50, max_value=4000))
def test_paginate_fits_and_keeps_every_line(lines: list[str], limit: int) -> None:
    pages = dom.paginate(lines, limit)
    assert pages and all(len(p) <= limit for p in pages)
    short = [line for line in lines if len(line) <= limit and "\n" not in line]
    joined = "\n".join(pages)
    assert all(line in joined for line in short)


def test_paginate_splits_between_lines() -> None:
    assert dom.paginate([]) == [""]
    assert dom.paginate(["a" * 6, "b" * 6, "c" * 6], limit=13) == ["a" * 6 + "\n" + "b" * 6, "c" * 6]
    assert dom.paginate(["x" * 20], limit=10) == ["x" * 9 + "…"]
