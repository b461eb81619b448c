"""The identity markers are pinned: posts and rows made by an earlier version carry exactly these texts, and the
bot finds them again only if the texts stay the same (bot/domain/markers.py)."""

from __future__ import annotations

from bot.domain import markers
from db.awards import Poll
from db.scheduled_posts import ScheduledPost


def test_award_markers_keep_their_exact_text() -> None:
    assert markers.award_poll_footer(7) == "Award poll #7"
    assert markers.award_poll_footer(8, runoff_of=7) == "Award poll #8 · runoff of #7"
    assert markers.award_results_file(7) == "award-7.png"
    assert markers.award_results_nonce(7) == "fcaward7"
    assert markers.award_results_nonce(7, fallback=True) == "fcaward7b"
    assert markers.award_close_key(7) == "award:7:close"
    assert markers.award_close_key(7).startswith(markers.award_key_prefix(7))
    assert not markers.award_close_key(70).startswith(markers.award_key_prefix(7))


def test_screening_and_post_markers_keep_their_exact_text() -> None:
    assert markers.screening_key_prefix(3) == "screening:3:"
    assert markers.screening_personal_prefix(3, 42) == "screening:3:personal:42:"
    assert markers.screening_personal_prefix(3, 42).startswith(markers.screening_key_prefix(3))
    assert not markers.screening_key_prefix(30).startswith(markers.screening_key_prefix(3))
    assert markers.scheduled_post_nonce(12) == "fcsp12"


def test_series_markers_keep_their_exact_text() -> None:
    assert markers.series_key_prefix(2) == "series:2:"
    assert markers.series_plan_key(2, 1767902400) == "series:2:plan@1767902400"
    assert markers.series_plan_key(2, 1767902400).startswith(markers.series_key_prefix(2))
    assert not markers.series_plan_key(20, 1).startswith(markers.series_key_prefix(2))
    assert markers.series_night_nonce(2, 1767902400) == "s2n1767902400"
    assert len(markers.series_night_nonce(10**9, 10**12)) <= 25  # Discord's nonce limit
    assert markers.series_calendar_uid(2, 99) == "series-2-99@filmclub"


def test_the_code_uses_the_markers() -> None:
    """The entities and views build their markers here, so there is one place to keep stable."""
    from cogs.awards import views

    poll = Poll(**{**_poll_fields(), "id": 9, "runoff_of": 4})
    assert poll.close_key == "award:9:close" and poll.close_key_prefix == "award:9:"
    assert views.poll_footer(poll) == "Award poll #9 · runoff of #4"
    assert views.results_file_name(poll) == "award-9.png"
    assert ScheduledPost(**_post_fields()).nonce == "fcsp5"


def _poll_fields() -> dict[str, object]:
    import dataclasses

    values: dict[str, object] = {}
    for f in dataclasses.fields(Poll):
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            continue
        values[f.name] = () if "nominees" in f.name else ("x" if f.type in ("str", str) else 0)
    return values


def _post_fields() -> dict[str, object]:
    import dataclasses

    values: dict[str, object] = {}
    for f in dataclasses.fields(ScheduledPost):
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            continue
        values[f.name] = {} if f.name == "payload" else ("x" if f.type in ("str", str) else 0)
    values["id"] = 5
    return values
