"""Series of club nights end to end, through the fake Discord, in fake time.

The fake clock starts on Monday 2026-01-05 12:00 UTC; the server's zone is Europe/London (UTC in winter), so
"every thu 8pm" gives nights on 8, 15, 22 January... at 20:00 UTC. *Her* runs 126 minutes (ends 22:06).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar

from db import installments as queue_repo
from db import scheduled_posts as posts_repo
from db import screenings as repo
from db import series as series_repo
from db.migrate import migrate
from db.settings import SettingsRepo
from db.store import Store
from tests.e2e.conftest import BACKENDS, Club
from tests.fakediscord.models import Message, ScheduledEvent
from tests.fakediscord.server import FakeDiscord

NIGHT1 = datetime(2026, 1, 8, 20, 0, tzinfo=UTC)
NIGHT2 = NIGHT1 + timedelta(days=7)
NIGHT3 = NIGHT1 + timedelta(days=14)
HER_END = NIGHT1 + timedelta(minutes=126)
ROCKY_TEASER = "Next time: *Rocky* (1976)"


async def run(club: Club, who: Any, command: str, **options: Any) -> Message:
    handle = await club.slash(who, club.g.general, command, **options)
    return await handle.reply()


async def queue(club: Club, *films: str) -> None:
    for film in films:
        reply = await run(club, club.mod, "installment add", film=film)
        assert not reply.ephemeral, reply.content


async def create(club: Club, when: str = "every thu 8pm", film_source: str = "queue", **options: Any) -> Message:
    reply = await run(club, club.mod, "screening series create", when=when, film_source=film_source, **options)
    assert reply.ephemeral and reply.content.startswith("Started series #"), reply.content
    return reply


def announcements(club: Club) -> list[Message]:
    """Night announcements in the screenings channel (embeds with RSVP buttons)."""
    return [m for m in club.fake.bot_messages(club.g.screenings) if m.embeds and not m.ephemeral]


def titles(club: Club) -> list[str]:
    return [m.embeds[0]["title"].removeprefix("🎬 ") for m in announcements(club)]


def events(club: Club) -> list[ScheduledEvent]:
    return [e for e in club.g.guild.scheduled_events.values() if not e.deleted]


def notices(club: Club, text: str) -> list[Message]:
    return [m for m in club.fake.bot_messages(club.g.announcements) if text in m.text()]


async def nights(club: Club, series_id: int = 1) -> list[series_repo.Night]:
    return await series_repo.nights(club.bot.store, series_id)


async def screening_at(club: Club, start: datetime) -> repo.Screening:
    for night in await nights(club):
        if night.start == start and night.screening_id:
            s = await repo.get_screening(club.bot.store, night.screening_id)
            assert s is not None
            return s
    raise AssertionError(f"no night at {start}")


async def series_ics(club: Club, series_id: int = 1) -> Calendar:
    handle = await club.slash(club.g.alice, club.g.general, "screening ics", series=series_id)
    reply = await handle.reply()
    assert reply.ephemeral and handle.response_files, reply.content
    return Calendar.from_ical(handle.response_files[0].data)


def ics_nights(cal: Calendar, count: int) -> list[datetime]:
    """The nights a calendar app shows: the RRULE expanded in the zone, minus EXDATEs."""
    master = next(e for e in cal.walk("VEVENT") if "RRULE" in e)
    start = master["DTSTART"].dt
    ex = master.get("EXDATE")
    excluded = {d.dt for group in (ex if isinstance(ex, list) else [ex] if ex else []) for d in group.dts}
    expanded = list(rrulestr(master["RRULE"].to_ical().decode(), dtstart=start)[: count + len(excluded)])
    return [d.astimezone(UTC) for d in expanded if d not in excluded][:count]


# --------------------------------------------------------------------------- the story: Her, then Rocky


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_a_weekly_series_fed_by_the_queue_her_then_rocky(club: Club) -> None:
    await queue(club, "Her (2013)", "Rocky (1976)")
    reply = await create(club)
    assert "every Thursday at 20:00 (Europe/London)" in reply.content and "Her (2013)" in reply.content
    assert "repeating Discord event" in reply.content
    # Night 1 announces Her, as a normal screening; only the next night exists.
    assert titles(club) == ["Her (2013)"]
    assert [n.start for n in await nights(club)] == [NIGHT1]
    (event,) = events(club)
    assert event.recurrence_rule is not None
    assert event.recurrence_rule["frequency"] == 2 and event.recurrence_rule["by_weekday"] == [3]
    assert event.recurrence_rule["interval"] == 1
    assert event.scheduled_start_time == NIGHT1 and event.name == "Club night: Her (2013)"
    her = await screening_at(club, NIGHT1)
    assert her.event_id is None  # the recurring event stands for every night
    her_inst, _rocky = await queue_repo.queue(club.bot.store, club.guild_id)
    assert her_inst.screening_id == her.id  # linked as any screening of a queued film

    # When night 1 starts, night 2 is announced with the queue's next film.
    await club.clock.advance_to(NIGHT1 + timedelta(seconds=1))
    assert titles(club) == ["Her (2013)", "Rocky (1976)"]
    rocky = await screening_at(club, NIGHT2)
    assert rocky.title == "Rocky" and rocky.status == "scheduled"
    assert any("Now showing: Her" in m.content for m in club.fake.bot_messages(club.g.screenings))

    # Night 1 ends: Her is watched, the post-credits teaser is for Rocky and its night, the event moves on.
    await club.clock.advance_to(HER_END + timedelta(minutes=1))
    assert [i.title for i in await queue_repo.queue(club.bot.store, club.guild_id)] == ["Rocky"]
    teasers = [m for m in club.fake.bot_messages(club.g.announcements) if m.content.startswith(ROCKY_TEASER)]
    assert len(teasers) == 1
    rsvp = {f"rsvp:{rocky.id}:{a}" for a in ("going", "maybe", "cant")}
    assert {b["custom_id"] for b in teasers[0].buttons()} == rsvp
    assert f"<t:{int(NIGHT2.timestamp())}:F>" in teasers[0].text()
    (event,) = events(club)
    assert event.scheduled_start_time == NIGHT2 and event.name == "Club night: Rocky (1976)"
    assert event.recurrence_rule is not None and event.recurrence_rule["start"].startswith("2026-01-15T20:00")

    # The 1-day teaser before night 2 names Rocky too; the info shows the nights.
    await club.clock.advance_to(NIGHT2 - timedelta(days=1) + timedelta(minutes=1))
    teasers = [m for m in club.fake.bot_messages(club.g.announcements) if m.content.startswith(ROCKY_TEASER)]
    assert len(teasers) == 2
    info = await run(club, club.g.alice, "screening series info", id=1)
    assert info.ephemeral and "Rocky (1976)" in info.text() and "the next night only" in info.text()
    listing = await run(club, club.g.alice, "screening series list")
    assert "#1" in listing.text() and "installment queue" in listing.text()


# --------------------------------------------------------------------------- skipping a night


async def test_skipping_a_night_leaves_no_posts_and_shows_in_the_event_and_the_calendar(club: Club) -> None:
    await queue(club, "Her (2013)", "Rocky (1976)")
    await create(club)
    choices = await club.fake.autocomplete(club.mod, club.g.general, "screening series skip", "night", "", id=1)
    assert [c["value"] for c in choices[:3]] == ["2026-01-08", "2026-01-15", "2026-01-22"]
    reply = await run(club, club.mod, "screening series skip", id=1, night="2026-01-15", reason="Cinema trip")
    assert reply.ephemeral and "Skipped the night of" in reply.content

    await club.clock.advance_to(NIGHT1 + timedelta(seconds=1))
    assert titles(club) == ["Her (2013)", "Rocky (1976)"]
    assert (await screening_at(club, NIGHT3)).title == "Rocky"  # the 22nd: the 15th is passed over
    await club.clock.advance_to(NIGHT2 + timedelta(hours=3))
    posts_then = [m for m in club.fake.bot_messages() if m.timestamp >= NIGHT2 - timedelta(days=1)]
    assert [m for m in posts_then if "Rocky" in m.text() and "Now showing" in m.text()] == []
    # The event skips the 15th and says so; the calendar leaves it out.
    (event,) = events(club)
    assert event.scheduled_start_time == NIGHT3
    assert event.description is not None and "No screening on Thu 15 Jan 2026 (Cinema trip)" in event.description
    cal = await series_ics(club)
    assert ics_nights(cal, 3) == [NIGHT1, NIGHT3, NIGHT3 + timedelta(days=7)]
    overrides = [e for e in cal.walk("VEVENT") if "RECURRENCE-ID" in e]
    assert {str(e["SUMMARY"]) for e in overrides} == {"Watch party: Her (2013)", "Watch party: Rocky (1976)"}


async def test_skipping_an_announced_night_cancels_it_and_tells_going_members(club: Club) -> None:
    await create(club, film_source="Her (2013)")
    (ann,) = announcements(club)
    await club.fake.click(club.g.alice, ann, "Going")
    reply = await run(club, club.mod, "screening series skip", id=1, night="next", reason="Snow")
    assert "screening is cancelled" in reply.content and "1 member" in reply.content
    pings = [m for m in club.fake.bot_messages(club.g.screenings) if m.pinged_user_ids]
    assert len(pings) == 1 and "skipped" in pings[0].content and "Snow" in pings[0].content
    assert pings[0].pinged_user_ids == {club.g.alice.id}
    assert (await screening_at(club, NIGHT1)).status == "cancelled"
    # The next night is announced at once (the series only ever waits for one night).
    assert (await screening_at(club, NIGHT2)).status == "scheduled"
    assert await posts_repo.list_pending_by_key_prefix(
        club.bot.store, club.guild_id, f"screening:{(await screening_at(club, NIGHT1)).id}:"
    ) == []
    await club.clock.advance_to(NIGHT1 + timedelta(hours=3))
    assert not [m for m in club.fake.bot_messages(club.g.screenings) if "Now showing" in m.content]


async def test_a_night_cancelled_on_its_own_brings_the_next_one(club: Club) -> None:
    await create(club, film_source="Her (2013)")
    first = await screening_at(club, NIGHT1)
    reply = await run(club, club.mod, "screening cancel", id=first.id)
    assert "Cancelled" in reply.content
    await club.clock.advance(1)  # the series hears of it after the reply
    assert (await screening_at(club, NIGHT2)).status == "scheduled"
    cal = await series_ics(club)
    assert ics_nights(cal, 2) == [NIGHT2, NIGHT3]


# --------------------------------------------------------------------------- daylight saving


async def test_a_clock_change_keeps_20_00_local(club: Club) -> None:
    club.clock.set(datetime(2026, 3, 23, 12, 0, tzinfo=UTC))  # Monday; London moves to BST on Sunday 29 March
    await create(club, film_source="Her (2013)")
    first = datetime(2026, 3, 26, 20, 0, tzinfo=UTC)
    second = datetime(2026, 4, 2, 19, 0, tzinfo=UTC)  # 20:00 BST
    assert [n.start for n in await nights(club)] == [first]
    await club.clock.advance_to(first + timedelta(seconds=1))
    assert [n.start for n in await nights(club)] == [first, second]
    assert (await screening_at(club, second)).starts_at == int(second.timestamp())
    await club.clock.advance_to(first + timedelta(hours=3))
    (event,) = events(club)
    assert event.scheduled_start_time == second
    assert ics_nights(await series_ics(club), 3) == [first, second, second + timedelta(days=7)]


# --------------------------------------------------------------------------- the queue runs empty


async def test_an_empty_queue_gives_film_to_be_announced_and_tells_moderators_once(club: Club) -> None:
    await queue(club, "Her (2013)")
    await create(club)
    await club.clock.advance_to(NIGHT1 + timedelta(seconds=1))
    assert titles(club) == ["Her (2013)", "Film to be announced"]
    told = notices(club, "installment queue is empty")
    assert len(told) == 1 and not told[0].pings_anyone
    await club.clock.advance_to(NIGHT2 + timedelta(seconds=1))
    assert titles(club) == ["Her (2013)", "Film to be announced", "Film to be announced"]
    assert len(notices(club, "installment queue is empty")) == 1
    # A night without a film opens no discussion and asks nobody to rate it.
    await club.clock.advance_to(NIGHT2 + timedelta(days=2))
    prompts = [m for m in club.fake.all_messages() if "what did we think" in m.content]
    assert len(prompts) == 1 and "Her" in prompts[0].content


async def test_a_film_added_later_fills_the_night_to_be_announced(club: Club) -> None:
    await queue(club, "Her (2013)")
    await create(club)
    await club.clock.advance_to(NIGHT1 + timedelta(seconds=1))
    night2 = await screening_at(club, NIGHT2)
    assert night2.title == "Film to be announced"
    await queue(club, "Rocky (1976)")
    await club.clock.advance(1)  # the series hears of the new film after the reply
    night2 = await screening_at(club, NIGHT2)
    assert (night2.title, night2.year, night2.id) == ("Rocky", 1976, night2.id)
    assert titles(club) == ["Her (2013)", "Rocky (1976)"]  # the announcement was edited, not posted again
    rocky = (await queue_repo.queue(club.bot.store, club.guild_id))[-1]
    assert rocky.screening_id == night2.id
    await club.clock.advance_to(HER_END + timedelta(minutes=1))
    (event,) = events(club)
    assert event.name == "Club night: Rocky (1976)" and event.scheduled_start_time == NIGHT2
    teasers = [m for m in club.fake.bot_messages(club.g.announcements) if m.content.startswith(ROCKY_TEASER)]
    assert len(teasers) == 1 and f"rsvp:{night2.id}:going" in {b["custom_id"] for b in teasers[0].buttons()}
    await club.clock.advance_to(NIGHT2 + timedelta(days=1))
    prompts = [m for m in club.fake.all_messages() if "what did we think" in m.content]
    assert [("Rocky" in m.content) for m in prompts] == [False, True]  # Her's, then Rocky's discussion


# --------------------------------------------------------------------------- cancel and end


async def test_cancelling_the_series_removes_nights_reminders_and_event(club: Club) -> None:
    await queue(club, "Her (2013)", "Rocky (1976)")
    await create(club, days_ahead=14)
    assert titles(club) == ["Her (2013)", "Rocky (1976)"]
    her, rocky = announcements(club)
    await club.fake.click(club.g.alice, her, "Going")
    await club.fake.click(club.g.bob, rocky, "Going")
    assert await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, "teaser:")
    reply = await run(club, club.mod, "screening series cancel", id=1, reason="Venue closed")
    assert "Cancelled series #1 and 2 nights" in reply.content and "told 2 members" in reply.content
    pinged = [m for m in club.fake.bot_messages(club.g.screenings) if m.pinged_user_ids]
    assert {uid for m in pinged for uid in m.pinged_user_ids} == {club.g.alice.id, club.g.bob.id}
    assert all("Venue closed" in m.content for m in pinged)
    assert events(club) == []
    for prefix in ("screening:", "series:", "teaser:"):
        assert await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, prefix) == []
    before = len(club.fake.bot_messages())
    await club.clock.advance_to(NIGHT3 + timedelta(hours=3))
    assert len(club.fake.bot_messages()) == before
    again = await run(club, club.mod, "screening series cancel", id=1)
    assert again.ephemeral and "is cancelled; nothing to change" in again.content


async def test_ending_a_series_after_a_date(club: Club) -> None:
    await create(club, film_source="Her (2013)", days_ahead=20)
    assert len(announcements(club)) == 3  # 8, 15, 22 January
    reply = await run(club, club.mod, "screening series end", id=1, after="2026-01-16")
    assert "ends after 2026-01-16" in reply.content and "Cancelled 1 night" in reply.content
    await club.clock.advance_to(NIGHT2 + timedelta(hours=3))
    assert events(club) == []  # the last night is over: the event goes
    series = await series_repo.get(club.bot.store, 1)
    assert series is not None and series.status == "ended"
    assert len(announcements(club)) == 3
    cal = await series_ics(club)
    assert ics_nights(cal, 5) == [NIGHT1, NIGHT2]


# --------------------------------------------------------------------------- rules Discord cannot repeat


async def test_a_monthly_day_gets_one_discord_event_per_night(club: Club) -> None:
    reply = await create(club, when="monthly 15 8pm", film_source="Rocky (1976)", days_ahead=45)
    assert "own Discord event" in reply.content
    assert titles(club) == ["Rocky (1976)", "Rocky (1976)"]  # 15 January and 15 February
    evs = events(club)
    assert len(evs) == 2 and all(e.recurrence_rule is None for e in evs)
    assert sorted(e.scheduled_start_time for e in evs) == [
        datetime(2026, 1, 15, 20, 0, tzinfo=UTC), datetime(2026, 2, 15, 20, 0, tzinfo=UTC)
    ]


async def test_every_other_week_and_first_saturday_map_to_discords_rules(club: Club) -> None:
    await create(club, when="every other fri 20:00", film_source="Her (2013)")
    await create(club, when="monthly first sat 7pm", film_source="Rocky (1976)")
    by_name = {e.name: e for e in events(club)}
    fortnight = by_name["Club night: Her (2013)"].recurrence_rule
    assert fortnight is not None and fortnight["interval"] == 2 and fortnight["by_weekday"] == [4]
    monthly = by_name["Club night: Rocky (1976)"].recurrence_rule
    assert monthly is not None and monthly["frequency"] == 1 and monthly["by_n_weekday"] == [{"n": 1, "day": 5}]
    assert by_name["Club night: Rocky (1976)"].scheduled_start_time == datetime(2026, 2, 7, 19, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- who may, and bad input


async def test_members_may_not_run_a_series_and_bad_input_is_explained(club: Club) -> None:
    refused = await run(club, club.g.alice, "screening series create", when="every thu 8pm", film_source="queue")
    assert refused.ephemeral and "moderator" in refused.content.lower()
    bad = await run(club, club.mod, "screening series create", when="thursdays", film_source="queue")
    assert bad.ephemeral and "needs a time of day" in bad.content
    await create(club, film_source="Her (2013)")
    wrong_day = await run(club, club.mod, "screening series skip", id=1, night="2026-01-09")
    assert wrong_day.ephemeral and "no night on `2026-01-09`" in wrong_day.content
    assert "`2026-01-08`" in wrong_day.content  # the nights it does have
    missing = await run(club, club.mod, "screening series info", id=7)
    assert missing.ephemeral and "no series #7" in missing.content
    past = await run(club, club.mod, "screening series end", id=1, after="2025-12-01")
    assert past.ephemeral and "has passed" in past.content
    member_skip = await run(club, club.g.alice, "screening series skip", id=1, night="next")
    assert member_skip.ephemeral and (await screening_at(club, NIGHT1)).status == "scheduled"
    both = await run(club, club.g.alice, "screening ics", id=1, series=1)
    assert both.ephemeral and "not both" in both.content
    assert len(announcements(club)) == 1


# --------------------------------------------------------------------------- restarts


async def test_a_restart_between_nights_changes_nothing(club: Club) -> None:
    await queue(club, "Her (2013)", "Rocky (1976)")
    await create(club)
    await club.restart()
    await club.clock.advance_to(NIGHT1 + timedelta(seconds=1))
    await club.restart()
    await club.clock.advance_to(HER_END + timedelta(minutes=1))
    assert titles(club) == ["Her (2013)", "Rocky (1976)"]
    assert len(events(club)) == 1 and events(club)[0].scheduled_start_time == NIGHT2
    teasers = [m for m in club.fake.bot_messages(club.g.announcements) if m.content.startswith(ROCKY_TEASER)]
    assert len(teasers) == 1


@pytest.mark.process
async def test_sigkill_while_a_night_is_announced_posts_it_once(
    fake: FakeDiscord, bot_process: Any, tmp_path: Path
) -> None:
    """A real SIGKILL right after Discord created night 1's announcement (the bot never heard back): after the
    restart the night is finished (event, reminders) without a second announcement, night or event."""
    g = fake.standard_guild()
    db_path = tmp_path / "club.db"
    proc = bot_process(
        "bot", env={"FILMCLUB_DB": str(db_path), "FILMCLUB_DEV_GUILD": str(g.guild.id)}, commands=True
    )
    await proc.start()
    await proc.stop()
    store = Store(db_path)
    await store.open()
    await migrate(store)
    now = int(datetime.now(UTC).timestamp())
    await SettingsRepo(store).update(
        int(g.guild.id), now, announcements_channel_id=int(g.announcements.id),
        screenings_channel_id=int(g.screenings.id), timezone="Europe/London",
    )
    await queue_repo.add(
        store, guild_id=int(g.guild.id), film_key="her-2013", title="Her", year=2013, runtime=126, note=None,
        position=1, added_by=1, now=now,
    )
    await store.close()
    await proc.start(commands=False)
    fake.after_request("POST", rf"/channels/{g.screenings.id}/messages$", lambda call: proc.kill())
    await fake.slash(g.admin, g.general, "screening series create", when="every thu 8pm", film_source="queue")

    def announced() -> list[Message]:
        return [m for m in fake.messages_in(g.screenings) if m.embeds and not m.deleted]

    await fake.wait_until(lambda: proc.returncode is not None, 15, "the SIGKILL")
    assert len(announced()) == 1
    await proc.start(commands=False)
    await fake.wait_until(
        lambda: [e for e in g.guild.scheduled_events.values() if not e.deleted], 15, "the recurring event"
    )
    await asyncio.sleep(1.0)
    await proc.stop()
    assert len(announced()) == 1
    assert len([e for e in g.guild.scheduled_events.values() if not e.deleted]) == 1
    store = Store(db_path)
    await store.open()
    try:
        rows = await series_repo.nights(store, 1)
        assert len(rows) == 1 and rows[0].screening_id is not None
        s = await repo.get_screening(store, rows[0].screening_id)
        assert s is not None and s.message_id == announced()[0].id and s.title == "Her"
        reminders = await posts_repo.list_pending_by_key_prefix(store, int(g.guild.id), f"screening:{s.id}:")
        assert reminders and len({p.key for p in reminders}) == len(reminders)
        assert len(await series_repo.list_for_guild(store, int(g.guild.id))) == 1
    finally:
        await store.close()
