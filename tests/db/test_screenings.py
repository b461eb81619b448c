"""Screenings repository: screenings, RSVPs, interest, ratings, reminder preferences."""

from __future__ import annotations

import pytest

from db import screenings as repo
from db.store import Store

G, OTHER = 100, 200
T0 = 1_800_000_000




async def make(store: Store, *, guild_id: int = G, film_key: str = "her-2013", title: str = "Her",
               starts_at: int = T0, runtime: int = 126, channel_id: int = 5) -> repo.Screening:
    return await repo.create_screening(
        store, guild_id=guild_id, film_key=film_key, title=title, year=2013, runtime=runtime,
        starts_at=starts_at, channel_id=channel_id, created_by=1, now=T0 - 1000, location="Den",
    )


async def test_create_and_get_computes_end_and_scopes_by_guild(store: Store) -> None:
    s = await make(store)
    assert s.ends_at == T0 + 126 * 60
    assert s.status == repo.SCHEDULED and s.is_upcoming
    assert s.discussion_at == s.ends_at + 12 * 3600
    assert await repo.get_screening(store, s.id, G) == s
    assert await repo.get_screening(store, s.id, OTHER) is None
    assert await repo.get_screening(store, s.id + 99) is None


async def test_lifecycle_transitions_only_from_upcoming(store: Store) -> None:
    s = await make(store)
    assert await repo.mark_live(store, s.id, T0)
    assert not await repo.mark_live(store, s.id, T0)
    assert await repo.mark_finished(store, s.id, T0 + 7000)
    assert not await repo.mark_finished(store, s.id, T0 + 7001)
    assert not await repo.mark_cancelled(store, s.id, "late", T0 + 7002)
    assert not await repo.reschedule(store, s.id, T0 + 90000, T0)
    done = await repo.get_screening(store, s.id)
    assert done is not None and done.is_finished and done.finished_at == T0 + 7000
    assert [x.id for x in await repo.finished_screenings_for_film(store, G, "her-2013")] == [s.id]
    assert await repo.finished_screenings_for_film(store, OTHER, "her-2013") == []


async def test_reschedule_moves_end_and_cancel_records_reason(store: Store) -> None:
    s = await make(store)
    assert await repo.reschedule(store, s.id, T0 + 3600, T0)
    moved = await repo.get_screening(store, s.id)
    assert moved is not None and moved.starts_at == T0 + 3600 and moved.ends_at == T0 + 3600 + 126 * 60
    assert await repo.mark_cancelled(store, s.id, "projector broke", T0 + 1)
    gone = await repo.get_screening(store, s.id)
    assert gone is not None and gone.is_cancelled and gone.cancel_reason == "projector broke"
    assert await repo.list_upcoming(store, G) == []


async def test_overlapping_same_channel_only(store: Store) -> None:
    a = await make(store)
    await make(store, channel_id=6)  # another channel: no clash
    clash = await repo.overlapping(store, G, 5, T0 + 600, T0 + 4000)
    assert [x.id for x in clash] == [a.id]
    assert await repo.overlapping(store, G, 5, a.ends_at, a.ends_at + 60) == []
    assert await repo.overlapping(store, G, 5, T0, T0 + 60, exclude_id=a.id) == []


async def test_rsvp_one_answer_per_member(store: Store) -> None:
    s = await make(store)
    assert await repo.set_rsvp(store, s.id, 1, "going", T0) is None
    assert await repo.set_rsvp(store, s.id, 2, "maybe", T0) is None
    assert await repo.set_rsvp(store, s.id, 1, "cant", T0 + 1) == "going"
    assert await repo.rsvp_answers(store, s.id) == {2: "maybe", 1: "cant"}
    assert await repo.going_members(store, s.id) == []
    await repo.set_rsvp(store, s.id, 3, "going", T0 + 2)
    assert await repo.going_members(store, s.id) == [3]
    assert [x.id for x in await repo.upcoming_going_for_member(store, G, 3)] == [s.id]


async def test_interest_add_remove_idempotent(store: Store) -> None:
    s = await make(store)
    assert await repo.add_interest(store, s.id, 7, T0)
    assert not await repo.add_interest(store, s.id, 7, T0)
    assert await repo.interested_members(store, s.id) == {7}
    assert await repo.remove_interest(store, s.id, 7)
    assert not await repo.remove_interest(store, s.id, 7)
    await repo.set_event(store, s.id, 555, T0)
    found = await repo.get_by_event(store, 555)
    assert found is not None and found.id == s.id


async def test_ratings_one_per_member_per_film_and_review_kept(store: Store) -> None:
    s = await make(store)
    rating, new = await repo.set_rating(store, G, "her-2013", 1, 4, "Tender.", T0)
    assert new and rating.title == "Her" and rating.year == 2013 and rating.screening_id == s.id
    rating, new = await repo.set_rating(store, G, "her-2013", 1, 5, None, T0 + 10)
    assert not new and rating.thumbs == 5 and rating.review == "Tender." and rating.created_at == T0
    rating, _ = await repo.set_rating(store, G, "her-2013", 1, 5, "", T0 + 20)
    assert rating.review is None
    await repo.set_rating(store, G, "her-2013", 2, 2, "Too slow", T0 + 30)
    await repo.set_rating(store, OTHER, "her-2013", 2, 1, "x", T0 + 30)
    assert [(r.user_id, r.thumbs) for r in await repo.ratings_for_film(store, G, "her-2013")] == [(1, 5), (2, 2)]
    assert [r.film_key for r in await repo.ratings_for_member(store, G, 2)] == ["her-2013"]
    assert [r.user_id for r in await repo.verdicts(store, G)] == [2]
    assert await repo.verdicts(store, G, since=T0 + 31) == []
    assert await repo.rated_films(store, G) == [("her-2013", "Her", 2013)]


async def test_rating_thumbs_checked_by_schema(store: Store) -> None:
    import sqlite3

    await make(store)
    with pytest.raises(sqlite3.IntegrityError):
        await repo.set_rating(store, G, "her-2013", 1, 6, None, T0)


async def test_reminder_prefs(store: Store) -> None:
    assert await repo.get_reminder_pref(store, G, 1) is None
    await repo.set_reminder_pref(store, G, 1, "1h,10m", "dm", T0)
    await repo.set_reminder_pref(store, G, 1, "2h", "thread", T0 + 1)
    await repo.set_reminder_pref(store, G, 2, "off", "dm", T0)
    pref = await repo.get_reminder_pref(store, G, 1)
    assert pref is not None and (pref.offsets, pref.via) == ("2h", "thread")
    prefs = await repo.reminder_prefs_for(store, G, [1, 2, 3])
    assert set(prefs) == {1, 2} and prefs[2].offsets == "off"
    await repo.clear_reminder_pref(store, G, 1)
    assert await repo.get_reminder_pref(store, G, 1) is None


async def test_deleting_screening_cascades_rsvps(store: Store) -> None:
    s = await make(store)
    await repo.set_rsvp(store, s.id, 1, "going", T0)
    await repo.add_interest(store, s.id, 2, T0)
    await repo.delete_screening(store, s.id)
    assert await repo.rsvp_answers(store, s.id) == {}
    assert await repo.interested_members(store, s.id) == set()


async def test_reschedule_only_from_the_expected_start(store: Store) -> None:
    s = await make(store)
    assert await repo.reschedule(store, s.id, T0 + 3600, T0, expected_starts_at=T0)
    assert not await repo.reschedule(store, s.id, T0 + 7200, T0, expected_starts_at=T0)  # someone moved it first
    moved = await repo.get_screening(store, s.id)
    assert moved is not None and moved.starts_at == T0 + 3600


async def test_replace_interest_and_rendered_hash(store: Store) -> None:
    s = await make(store)
    await repo.add_interest(store, s.id, 1, T0)
    await repo.add_interest(store, s.id, 2, T0)
    assert await repo.replace_interest(store, s.id, [2, 3], T0)
    assert await repo.interested_members(store, s.id) == {2, 3}
    assert not await repo.replace_interest(store, s.id, {3, 2}, T0)
    assert await repo.get_rendered_hash(store, s.id) is None
    await repo.set_rendered_hash(store, s.id, "abc")
    assert await repo.get_rendered_hash(store, s.id) == "abc"


async def test_announcements_to_check(store: Store) -> None:
    upcoming = await make(store)
    old = await make(store, starts_at=T0 - 86400 * 30)
    recent = await make(store, starts_at=T0 - 86400)
    never_posted = await make(store)
    for s in (upcoming, old, recent):
        await repo.set_message(store, s.id, 1000 + s.id, T0 - 1000)
    await repo.mark_finished(store, old.id, T0 - 86400 * 20)
    await repo.mark_finished(store, recent.id, T0)
    got = await repo.announcements_to_check(store, changed_since=T0 - 86400 * 3)
    assert {s.id for s in got} == {upcoming.id, recent.id}
    assert never_posted.id not in {s.id for s in got}
