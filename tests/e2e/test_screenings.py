"""Screenings end to end, through the fake Discord, in fake time.

The fake clock starts on Monday 2026-01-05 12:00 UTC; the server's time zone is UTC, so
"tomorrow 8pm" is Tuesday 2026-01-06 20:00 UTC.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar

from bot.app import FilmClubBot
from db import scheduled_posts as posts_repo
from db import screenings as repo
from db.screenings import Screening
from db.store import Store
from tests.e2e.conftest import BACKENDS, Club
from tests.fakediscord.clock import FakeClock
from tests.fakediscord.models import Message
from tests.fakediscord.permissions import P
from tests.fakediscord.server import FakeDiscord, StandardGuild

START = datetime(2026, 1, 6, 20, 0, tzinfo=UTC)  # "tomorrow 8pm"
HER_RUNTIME = 126


@dataclass
class Screen:
    """The lead's ``Club`` plus helpers for screenings, and a record of the screening hooks fired."""

    club: Club
    finished: list[Screening] = field(default_factory=list)
    events: list[tuple[str, int]] = field(default_factory=list)

    @property
    def fake(self) -> FakeDiscord:
        return self.club.fake

    @property
    def clock(self) -> FakeClock:
        return self.club.clock

    @property
    def g(self) -> StandardGuild:
        return self.club.g

    @property
    def bot(self) -> FilmClubBot:
        return self.club.bot

    def listen(self) -> None:
        for name in ("scheduled", "rescheduled", "cancelled", "finished"):
            self.bot.add_listener(self._recorder(name), f"on_screening_{name}")

    def _recorder(self, name: str) -> Any:
        async def record(screening: Screening) -> None:
            self.events.append((name, screening.id))
            if name == "finished":
                self.finished.append(screening)

        return record

    async def restart(self) -> None:
        """Close the bot and start a new FilmClubBot on the same database file against the same fake."""
        await self.club.restart()
        self.listen()

    async def slash(self, who: Any, command: str, **options: Any) -> Message:
        handle = await self.fake.slash(who, self.g.general, command, **options)
        return await handle.reply()

    async def click(self, who: Any, message: Message, key: str) -> Message:
        handle = await self.fake.click(who, message, key)
        return await handle.reply()

    def announcements(self) -> list[Message]:
        return [
            m for m in self.fake.bot_messages(self.g.screenings)
            if m.embeds and (m.embeds[0].get("title") or "").startswith(("🎬", "~~🎬"))
        ]

    def event(self) -> Any:
        events = [e for e in self.g.guild.scheduled_events.values() if not e.deleted]
        assert len(events) == 1, events
        return events[0]

    async def screening(self, sid: int = 1) -> Screening:
        s = await repo.get_screening(self.bot.store, sid)
        assert s is not None
        return s

    def public_bot_messages(self) -> list[Message]:
        return [m for m in self.fake.all_messages() if m.author.id == self.fake.bot_user.id and not m.ephemeral]


@pytest.fixture
async def screen(club: Club) -> Screen:
    await club.bot.settings.update(club.guild_id, club.bot.now_ts(), reminder_offsets="1d,1h")
    s = Screen(club)
    s.listen()
    return s


async def schedule_her(c: Screen, **extra: Any) -> Message:
    reply = await c.slash(c.g.admin, "screening schedule", film="Her (2013)", when="tomorrow 8pm", **extra)
    assert reply.ephemeral
    return reply


def pinged_messages(c: Screen) -> list[Message]:
    return [m for m in c.public_bot_messages() if m.pings_anyone]


def thread_messages(c: Screen, thread_id: int) -> list[Message]:
    return [m for m in c.fake.bot_messages(thread_id)]


# --------------------------------------------------------------------------- the whole lifecycle


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_full_lifecycle_with_restart(screen: Screen) -> None:
    c, g, fake = screen, screen.g, screen.fake
    reply = await schedule_her(c)
    assert "Scheduled **Her (2013)**" in reply.content and "Discord event is up" in reply.content

    # The announcement: film, runtime, start as Discord timestamps, counts, three persistent buttons.
    [ann] = c.announcements()
    embed = ann.embeds[0]
    assert embed["title"] == "🎬 Her (2013)"
    text = ann.text()
    assert f"<t:{int(START.timestamp())}:F>" in text and "126 min" in text
    assert [b["custom_id"] for b in ann.buttons()] == ["rsvp:1:going", "rsvp:1:maybe", "rsvp:1:cant"]
    assert not ann.pings_anyone

    # The native event: external (no voice channel), ends at start + runtime, links the announcement.
    event = c.event()
    assert event.entity_type == 3 and event.status == 1
    assert event.scheduled_start_time == START
    assert event.scheduled_end_time == START + timedelta(minutes=HER_RUNTIME)
    assert str(ann.id) in (event.description or "")
    assert (await c.screening()).event_id == event.id

    # Three members answer, one changes their mind, one marks Interested on the event.
    for who, label in ((g.alice, "Going"), (g.bob, "Going"), (g.carol, "Maybe")):
        r = await c.click(who, ann, label)
        assert r.ephemeral and "Her (2013)" in r.content
    changed = await c.click(g.bob, ann, "Can't")
    assert changed.ephemeral and "Changed from Going to **Can't**" in changed.content
    await fake.event_interest(g.owner, event)
    # Coalesced: nothing edited before the debounce has passed on the bot's clock.
    assert len(ann.history) == 1
    await c.clock.advance(3)
    assert len(ann.history) == 2  # one edit for four clicks and an "Interested"
    counts = ann.text()
    assert "Going: **1**" in counts and "Maybe: **2**" in counts and "Can't: **1**" in counts
    assert "1 interested on the event" in counts

    # A restart in the middle: the old buttons keep working.
    await c.restart()
    r = await c.click(g.admin, ann, "Going")
    assert r.ephemeral and "Going" in r.content
    await c.clock.advance(3)
    assert "Going: **2**" in ann.text()

    # Reminders (1d and 1h before) ping exactly the members who are Going, in the announcement's thread.
    await c.clock.advance_to(START - timedelta(days=1) + timedelta(seconds=1))
    reminders = [m for m in c.public_bot_messages() if m.content.startswith("⏰")]
    assert len(reminders) == 1
    first = reminders[0]
    assert first.pinged_user_ids == {g.alice.user.id, g.admin.user.id}
    assert not first.pinged_role_ids and not first.pings_everyone
    thread_id = (await c.screening()).thread_id
    assert thread_id == ann.id and first.channel_id == thread_id

    await c.restart()  # another restart between reminders: nothing is sent twice
    await c.clock.advance_to(START - timedelta(hours=1) + timedelta(seconds=1))
    reminders = [m for m in c.public_bot_messages() if m.content.startswith("⏰")]
    assert len(reminders) == 2
    assert reminders[1].pinged_user_ids == {g.alice.user.id, g.admin.user.id}

    # Now showing: a post, the event goes ACTIVE, the RSVP buttons go away.
    await c.clock.advance_to(START + timedelta(seconds=1))
    now_showing = [m for m in c.fake.bot_messages(g.screenings) if "Now showing" in m.content]
    assert len(now_showing) == 1 and not now_showing[0].pings_anyone
    assert c.event().status == 2
    assert ann.buttons() == [] and "Now showing" in ann.text()

    # The end: marked finished, event COMPLETED, hook fired once.
    await c.clock.advance_to(START + timedelta(minutes=HER_RUNTIME, seconds=1))
    assert (await c.screening()).status == "finished"
    assert c.event().status == 3
    assert [s.id for s in c.finished] == [1]

    # The next day: the thread becomes the discussion, with a rating prompt.
    await c.clock.advance_to(START + timedelta(minutes=HER_RUNTIME, hours=12, seconds=1))
    thread = fake.get_channel(thread_id)
    assert thread.name == "Her: what did we think?"
    [prompt] = [m for m in fake.bot_messages(thread_id) if "what did we think" in m.content]
    assert [b["custom_id"] for b in prompt.buttons()] == [f"rate:1:{n}" for n in range(1, 6)]

    # Ratings by button (changeable) and by command.
    r = await c.click(g.alice, prompt, "rate:1:4")
    assert r.ephemeral and "(4/5)" in r.content
    r = await c.click(g.alice, prompt, "rate:1:5")
    assert "now give" in r.content and "(5/5)" in r.content
    r = await c.slash(g.bob, "rate", film="her-2013", thumbs=2, review="Lovely, but slow.")
    assert r.ephemeral and "(2/5)" in r.content and "Lovely, but slow." in r.content
    ratings = await repo.ratings_for_film(c.bot.store, g.guild.id, "her-2013")
    assert sorted((x.user_id, x.thumbs) for x in ratings) == sorted([(g.alice.user.id, 5), (g.bob.user.id, 2)])

    board = await c.slash(g.carol, "ratings board")
    assert not board.ephemeral
    assert "Her (2013)" in board.text() and "3.5 avg from 2 ratings" in board.text()
    [png] = board.attachments
    assert png.filename == "ratings.png" and png.data.startswith(b"\x89PNG")
    assert board.embeds[0]["image"]["url"] == "attachment://ratings.png"

    mine = await c.slash(g.alice, "ratings mine")
    assert mine.ephemeral and "Her (2013)" in mine.text() and "(5/5)" in mine.text()

    # Nothing was sent twice across the restarts, and nothing ever pinged a role or everyone.
    assert len([m for m in c.public_bot_messages() if m.content.startswith("⏰")]) == 2
    assert len([m for m in c.public_bot_messages() if "Now showing" in m.content]) == 1
    assert len([m for m in c.public_bot_messages() if "what did we think" in m.content]) == 1
    assert all(not m.pinged_role_ids and not m.pings_everyone for m in c.public_bot_messages())
    assert [name for name, _ in c.events].count("finished") == 1


async def test_burst_of_clicks_is_coalesced(screen: Screen) -> None:
    c = screen
    await schedule_her(c)
    [ann] = c.announcements()
    members = [c.fake.add_member(c.g.guild, f"fan{i}", [c.g.member_role]) for i in range(50)]
    for i, m in enumerate(members):
        await c.fake.click(m, ann, "Going" if i % 3 else "Maybe")
    await c.fake.settle()
    await c.clock.advance(1)
    assert len(ann.history) <= 2
    await c.clock.advance(2)
    await c.clock.advance(2)
    assert len(ann.history) <= 3  # at most one edit per 2 s of bot clock
    assert "Going: **33**" in ann.text() and "Maybe: **17**" in ann.text()
    edits = c.fake.calls("PATCH", rf"/channels/{c.g.screenings.id}/messages/{ann.id}$")
    assert 1 <= len(edits) <= 2


# --------------------------------------------------------------------------- cancel and reschedule


async def test_cancel_removes_every_pending_post(screen: Screen) -> None:
    c, g = screen, screen.g
    await schedule_her(c)
    [ann] = c.announcements()
    await c.click(g.alice, ann, "Going")
    await c.click(g.bob, ann, "Maybe")
    await c.slash(g.carol, "remind me", offsets="10m", via="dm")
    await c.click(g.carol, ann, "Going")
    pending = await posts_repo.list_pending_by_key_prefix(c.bot.store, g.guild.id, "screening:1:")
    assert len(pending) >= 5

    reply = await c.slash(g.admin, "screening cancel", id=1, reason="Projector broke")
    assert reply.ephemeral and "Cancelled **Her (2013)**" in reply.content
    assert await posts_repo.list_pending_by_key_prefix(c.bot.store, g.guild.id, "screening:1:") == []
    assert ann.buttons() == [] and "Cancelled" in ann.text() and "Projector broke" in ann.text()
    assert c.event().status == 4
    told = [m for m in c.public_bot_messages() if "is cancelled" in m.content]
    assert len(told) == 1 and told[0].pinged_user_ids == {g.alice.user.id, g.carol.user.id}
    assert [name for name, _ in c.events] == ["scheduled", "cancelled"]

    before = len(c.public_bot_messages())
    await c.clock.advance_to(START + timedelta(days=2))
    assert len(c.public_bot_messages()) == before  # no reminder, no Now showing, no discussion
    assert c.fake.bot_messages(c.fake.dm_channel(g.carol)) == []

    again = await c.slash(g.admin, "screening cancel", id=1)
    assert again.ephemeral and "already cancelled" in again.content
    refused = await c.slash(g.admin, "screening reschedule", id=1, when="sat 8pm")
    assert refused.ephemeral and "was cancelled" in refused.content
    assert (await c.screening()).starts_at == int(START.timestamp())


async def test_reschedule_moves_event_and_reminders(screen: Screen) -> None:
    c, g = screen, screen.g
    await schedule_her(c)
    [ann] = c.announcements()
    await c.click(g.alice, ann, "Going")
    new_start = datetime(2026, 1, 9, 19, 30, tzinfo=UTC)  # Friday
    reply = await c.slash(g.admin, "screening reschedule", id=1, when="fri 19:30")
    assert reply.ephemeral and "Moved **Her (2013)**" in reply.content
    s = await c.screening()
    assert s.starts_at == int(new_start.timestamp())
    assert s.ends_at == int((new_start + timedelta(minutes=HER_RUNTIME)).timestamp())
    event = c.event()
    assert event.scheduled_start_time == new_start
    assert event.scheduled_end_time == new_start + timedelta(minutes=HER_RUNTIME)
    told = [m for m in c.public_bot_messages() if "has moved" in m.content]
    assert len(told) == 1 and told[0].pinged_user_ids == {g.alice.user.id}
    await c.clock.advance(3)
    assert f"<t:{int(new_start.timestamp())}:F>" in ann.text()

    # Nothing fires at the old times...
    await c.clock.advance_to(START + timedelta(hours=1))
    assert not [m for m in c.public_bot_messages() if m.content.startswith(("⏰", "🍿"))]
    # ...everything fires at the new ones.
    await c.clock.advance_to(new_start + timedelta(seconds=1))
    reminders = [m for m in c.public_bot_messages() if m.content.startswith("⏰")]
    assert len(reminders) == 2 and all(m.pinged_user_ids == {g.alice.user.id} for m in reminders)
    assert len([m for m in c.public_bot_messages() if "Now showing" in m.content]) == 1
    assert ("rescheduled", 1) in c.events


# --------------------------------------------------------------------------- reminder preferences


async def test_personal_reminders_dm_thread_and_fallback(screen: Screen) -> None:
    c, g, fake = screen, screen.g, screen.fake
    closed = fake.add_member(g.guild, "dora", [g.member_role], dms_closed=True)
    await schedule_her(c)
    [ann] = c.announcements()

    r = await c.slash(g.alice, "remind me", offsets="10m", via="dm")
    assert r.ephemeral and "10m" in r.content and "DM" in r.content
    r = await c.slash(closed, "remind me", offsets="30m")  # DM by default; dora's DMs are closed
    r = await c.slash(g.carol, "remind me", offsets="off")
    assert "off" in r.content
    for who in (g.alice, g.bob, g.carol, closed):
        await c.click(who, ann, "Going")

    await c.clock.advance_to(START - timedelta(minutes=5))
    server = [m for m in c.public_bot_messages() if m.content.startswith("⏰ **Her")]
    # Server reminders ping only Bob: the others chose their own (or none).
    assert len(server) == 2 and all(m.pinged_user_ids == {g.bob.user.id} for m in server)
    [dm] = fake.bot_messages(fake.dm_channel(g.alice))
    assert dm.content.startswith("⏰ Reminder: **Her (2013)**")
    fallback = [m for m in c.public_bot_messages() if m.pinged_user_ids == {closed.user.id}]
    assert len(fallback) == 1 and fallback[0].channel_id == ann.id  # in the thread
    assert not [m for m in c.public_bot_messages() if g.carol.user.id in m.pinged_user_ids]

    # Carol turned reminders off: no DM either.
    assert fake.bot_messages(fake.dm_channel(g.carol)) == []


async def test_unreadable_personal_settings_are_logged_and_the_member_gets_the_server_reminders(
    screen: Screen, caplog: pytest.LogCaptureFixture
) -> None:
    c, g, fake = screen, screen.g, screen.fake
    await schedule_her(c)
    [ann] = c.announcements()
    await c.click(g.alice, ann, "Going")
    await c.click(g.bob, ann, "Going")
    # A stored value an older version wrote, which today's rules no longer read.
    await repo.set_reminder_pref(c.bot.store, g.guild.id, g.alice.user.id, "every fortnight", "dm", 0)
    with caplog.at_level(logging.WARNING, logger="cogs.screenings.service"):
        await c.clock.advance_to(START - timedelta(minutes=5))
    server = [m for m in c.public_bot_messages() if m.content.startswith("⏰ **Her")]
    assert len(server) == 2
    assert all(m.pinged_user_ids == {g.alice.user.id, g.bob.user.id} for m in server)
    assert fake.bot_messages(fake.dm_channel(g.alice)) == []
    assert any("unreadable reminder settings" in r.getMessage() and str(g.alice.user.id) in r.getMessage()
               for r in caplog.records)


async def test_event_interest_counts_as_maybe_until_a_button_answer(screen: Screen) -> None:
    c, g, fake = screen, screen.g, screen.fake
    await schedule_her(c)
    [ann] = c.announcements()
    event = c.event()
    await fake.event_interest(g.alice, event)
    await fake.event_interest(g.bob, event)
    await c.clock.advance(3)
    assert "Maybe: **2** (incl. 2 interested on the event)" in ann.text()
    await c.click(g.alice, ann, "Going")  # a button answer wins over "Interested"
    await fake.event_uninterest(g.bob, event)
    await c.clock.advance(3)
    text = ann.text()
    assert "Going: **1**" in text and "Maybe: **0**" in text and "interested on the event" not in text
    assert await repo.interested_members(c.bot.store, 1) == {g.alice.user.id}


async def test_only_interest_frames_count_whatever_else_mentions_them(screen: Screen) -> None:
    """The raw gateway frames (discord.py's debug events) are read as text or bytes; a message that merely
    quotes the event's name changes nothing."""
    c, g = screen, screen.g
    await schedule_her(c)
    event_id = c.event().id
    service = c.bot.screenings
    quoted = {"t": "MESSAGE_CREATE", "d": {"content": "GUILD_SCHEDULED_EVENT_USER_ADD", "user_id": "1"}}
    await service.on_gateway_frame(json.dumps(quoted))
    await service.on_gateway_frame("GUILD_SCHEDULED_EVENT_USER_ADD but not JSON")
    assert await repo.interested_members(c.bot.store, 1) == set()
    added = {"op": 0, "t": "GUILD_SCHEDULED_EVENT_USER_ADD",
             "d": {"guild_scheduled_event_id": str(event_id), "user_id": str(g.bob.user.id), "guild_id": "1"}}
    await service.on_gateway_frame(json.dumps(added).encode())
    assert await repo.interested_members(c.bot.store, 1) == {g.bob.user.id}
    await service.on_gateway_frame(json.dumps({**added, "t": "GUILD_SCHEDULED_EVENT_USER_REMOVE"}))
    assert await repo.interested_members(c.bot.store, 1) == set()


async def test_remind_me_shows_and_resets(screen: Screen) -> None:
    c, g = screen, screen.g
    r = await c.slash(g.alice, "remind me")
    assert r.ephemeral and "server's reminders (1d,1h)" in r.content
    r = await c.slash(g.alice, "remind me", offsets="1h,10m", via="thread")
    assert "1h, 10m" in r.content and "thread" in r.content
    r = await c.slash(g.alice, "remind me", offsets="default")
    assert "server's reminders" in r.content
    bad = await c.slash(g.alice, "remind me", offsets="soon")
    assert bad.ephemeral and "couldn't read" in bad.content
    assert await repo.get_reminder_pref(c.bot.store, g.guild.id, g.alice.user.id) is None


async def test_leaving_going_cancels_personal_reminders(screen: Screen) -> None:
    c, g, fake = screen, screen.g, screen.fake
    await schedule_her(c)
    [ann] = c.announcements()
    await c.slash(g.alice, "remind me", offsets="10m", via="dm")
    await c.click(g.alice, ann, "Going")
    assert await posts_repo.list_pending_by_key_prefix(c.bot.store, g.guild.id, "screening:1:personal:")
    await c.click(g.alice, ann, "Can't")
    assert await posts_repo.list_pending_by_key_prefix(c.bot.store, g.guild.id, "screening:1:personal:") == []
    await c.clock.advance_to(START)
    assert fake.bot_messages(fake.dm_channel(g.alice)) == []


# --------------------------------------------------------------------------- other commands


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_list_info_ics_and_film_card(screen: Screen) -> None:
    c, g = screen, screen.g
    await schedule_her(c, where="Adele's den", notes="Bring blankets")
    [ann] = c.announcements()
    await c.click(g.alice, ann, "Going")
    await c.click(g.bob, ann, "Can't")

    listing = await c.slash(g.carol, "screening list")
    assert listing.ephemeral and "#1" in listing.text() and "Her (2013)" in listing.text() and "✅ 1" in listing.text()

    member_view = await c.slash(g.carol, "screening info", id=1)
    assert "Bring blankets" in member_view.text() and "Adele" in member_view.text()
    assert f"<@{g.alice.user.id}>" not in member_view.text()
    mod_view = await c.slash(g.admin, "screening info", id=1)
    assert f"<@{g.alice.user.id}>" in mod_view.text() and f"<@{g.bob.user.id}>" in mod_view.text()
    assert not mod_view.pings_anyone

    ics = await c.slash(g.carol, "screening ics", id=1)
    assert ics.ephemeral and ics.file_names() == ["screening-1.ics"]
    cal = Calendar.from_ical(ics.attachments[0].data)
    [vevent] = list(cal.walk("VEVENT"))
    assert str(vevent["summary"]) == "Watch party: Her (2013)"
    assert vevent.decoded("dtstart") == START
    assert vevent.decoded("dtend") == START + timedelta(minutes=HER_RUNTIME)
    assert str(vevent["location"]) == "Adele's den"

    card = await c.slash(g.carol, "film info", title="Her (2013)")
    assert card.ephemeral and card.embeds[0]["title"] == "Her (2013)"
    assert "Spike Jonze" in card.text() and "126 min" in card.text() and "Best Picture" in card.text()
    choices = await c.fake.autocomplete(g.carol, g.general, "film info", "title", "her")
    assert "Her (2013)" in [ch["value"] for ch in choices]
    choices = await c.fake.autocomplete(g.admin, g.general, "screening schedule", "film", "king's sp",
                                         when="tomorrow 8pm")
    assert choices and choices[0]["name"] == "The King's Speech (2010)"
    unknown = await c.slash(g.carol, "film info", title="Not A Real Film")
    assert unknown.ephemeral and "isn't in my catalogue" in unknown.content


async def test_voice_channel_event_and_custom_film(screen: Screen) -> None:
    c, g = screen, screen.g
    reply = await c.slash(
        g.admin, "screening schedule", film="Basement Tapes", year=2024, runtime=80, when="tomorrow 9pm",
        voice_channel=g.voice,
    )
    assert "Basement Tapes (2024)" in reply.content
    s = await c.screening()
    assert s.film_key.startswith("custom:") and s.runtime == 80 and s.voice_channel_id == g.voice.id
    event = c.event()
    assert event.entity_type == 2 and event.channel_id == g.voice.id
    assert event.scheduled_end_time == event.scheduled_start_time + timedelta(minutes=80)


async def test_rating_before_the_end_is_refused(screen: Screen) -> None:
    c, g = screen, screen.g
    await schedule_her(c)
    r = await c.slash(g.alice, "rate", film="Her", thumbs=4)
    assert r.ephemeral and "once its screening has finished" in r.content
    r = await c.slash(g.alice, "rate", film="Rocky", thumbs=4)
    assert r.ephemeral and "hasn't been screened" in r.content
    assert await repo.ratings_for_guild(c.bot.store, g.guild.id) == []
    empty = await c.slash(g.alice, "ratings board")
    assert empty.ephemeral and "No ratings yet" in empty.content


# --------------------------------------------------------------------------- bad input


async def assert_refused(c: Screen, reply: Message, pattern: str) -> None:
    assert reply.ephemeral, reply.content
    assert re.search(pattern, reply.content), reply.content
    assert c.announcements() == []
    assert await repo.list_screenings(c.bot.store, c.g.guild.id) == []
    assert [e for e in c.g.guild.scheduled_events.values() if not e.deleted] == []


async def test_time_in_the_past_is_refused(screen: Screen) -> None:
    reply = await screen.slash(screen.g.admin, "screening schedule", film="Her (2013)", when="2025-12-01 20:00")
    await assert_refused(screen, reply, "in the past")


async def test_unknown_film_without_year_is_refused(screen: Screen) -> None:
    reply = await screen.slash(screen.g.admin, "screening schedule", film="Basement Tapes", when="tomorrow 8pm")
    await assert_refused(screen, reply, "don't know .*year")


async def test_non_moderator_is_refused(screen: Screen) -> None:
    reply = await screen.slash(screen.g.alice, "screening schedule", film="Her (2013)", when="tomorrow 8pm")
    await assert_refused(screen, reply, "Only moderators")


async def test_missing_channel_permissions_refused_before_anything(screen: Screen) -> None:
    c, g, fake = screen, screen.g, screen.fake
    fake.set_overwrites(g.screenings, [fake.overwrite(g.bot_role, deny=P.CREATE_PUBLIC_THREADS | P.EMBED_LINKS)])
    await fake.settle()
    reply = await c.slash(g.admin, "screening schedule", film="Her (2013)", when="tomorrow 8pm")
    await assert_refused(c, reply, "Embed Links.*Create Public Threads")
    assert await posts_repo.list_pending_by_key_prefix(c.bot.store, g.guild.id, "screening:") == []


async def test_screening_from_another_server_is_refused(screen: Screen) -> None:
    c, g = screen, screen.g
    theirs = await repo.create_screening(
        c.bot.store, guild_id=g.guild.id + 1, film_key="her-2013", title="Her", year=2013, runtime=126,
        starts_at=int(START.timestamp()), channel_id=1, created_by=1, now=c.bot.now_ts(),
    )
    for command, extra in (("screening info", {}), ("screening cancel", {}), ("screening ics", {}),
                           ("screening reschedule", {"when": "sat 8pm"})):
        reply = await c.slash(g.admin, command, id=theirs.id, **extra)
        assert reply.ephemeral and f"no screening #{theirs.id} on this server" in reply.content
    assert await c.screening(theirs.id) == theirs
    assert await posts_repo.list_pending_by_key_prefix(c.bot.store, theirs.guild_id, "screening:") == []


async def test_same_time_same_channel_warns_but_allows(screen: Screen) -> None:
    c = screen
    await schedule_her(c)
    reply = await c.slash(c.g.admin, "screening schedule", film="Rocky (1976)", when="tomorrow 9pm")
    assert reply.ephemeral and "Heads-up" in reply.content and "Her (2013)" in reply.content
    assert len(c.announcements()) == 2


async def test_event_limit_is_refused_and_changes_nothing(screen: Screen) -> None:
    c, g, fake = screen, screen.g, screen.fake
    for i in range(100):
        fake.create_event(g.guild, f"Old event {i}", START + timedelta(days=30 + i), location="Somewhere",
                          end=START + timedelta(days=30 + i, hours=1))
    await fake.settle()
    reply = await c.slash(g.admin, "screening schedule", film="Her (2013)", when="tomorrow 8pm")
    assert reply.ephemeral and not reply.pings_anyone
    assert "100 upcoming or active Discord events" in reply.content
    assert "`discord_event: False`" in reply.content and "Nothing was scheduled" in reply.content
    assert c.announcements() == [] and await repo.list_screenings(c.bot.store, g.guild.id) == []
    assert await posts_repo.list_pending_by_key_prefix(c.bot.store, g.guild.id, "screening:") == []
    assert len([e for e in g.guild.scheduled_events.values() if not e.deleted]) == 100

    # The way out the error names: schedule it without a Discord event.
    reply = await c.slash(g.admin, "screening schedule", film="Her (2013)", when="tomorrow 8pm", discord_event=False)
    assert reply.ephemeral and "Scheduled **Her (2013)**" in reply.content and "No Discord event" in reply.content
    assert len(c.announcements()) == 1 and (await c.screening()).event_id is None
    assert len([e for e in g.guild.scheduled_events.values() if not e.deleted]) == 100

    # An event that ended frees a place: finished events don't count towards the limit.
    next(iter(g.guild.scheduled_events.values())).status = 3
    reply = await c.slash(g.admin, "screening schedule", film="Rocky (1976)", when="sat 8pm")
    assert "Discord event is up" in reply.content


async def test_event_limit_reached_meanwhile_undoes_the_announcement(screen: Screen) -> None:
    c, g, fake = screen, screen.g, screen.fake
    # Our count saw room, but Discord refuses the create itself (someone else took the last place).
    fake.inject("POST", r"/guilds/\d+/scheduled-events$", 400, code=30038,
                message="Maximum number of uncompleted guild scheduled events reached (100)")
    reply = await c.slash(g.admin, "screening schedule", film="Her (2013)", when="tomorrow 8pm")
    assert reply.ephemeral and "100 upcoming or active Discord events" in reply.content
    assert [m for m in fake.bot_messages(g.screenings) if not m.deleted] == []
    assert await repo.list_screenings(c.bot.store, g.guild.id) == []
    assert await posts_repo.list_pending_by_key_prefix(c.bot.store, g.guild.id, "screening:") == []
    assert ("scheduled", 1) not in c.events


async def test_stage_channel_makes_a_stage_event(screen: Screen) -> None:
    c, g = screen, screen.g
    reply = await c.slash(g.admin, "screening schedule", film="Rocky (1976)", when="tomorrow 8pm",
                          voice_channel=g.stage)
    assert "Discord event is up" in reply.content
    event = c.event()
    assert event.entity_type == 1 and event.channel_id == g.stage.id and event.location is None
    assert event.scheduled_start_time == START and event.name == "Rocky (1976)"
    [ann] = c.announcements()
    assert f"<#{g.stage.id}>" in ann.text()
    # It is started and completed like the others.
    await c.clock.advance_to(START + timedelta(seconds=1))
    assert c.event().status == 2
    s = await c.screening()
    await c.clock.advance_to(s.end + timedelta(seconds=1))
    assert c.event().status == 3


async def test_voice_event_refused_by_discord_still_schedules(screen: Screen) -> None:
    c, g, fake = screen, screen.g, screen.fake
    fake.inject("POST", r"/guilds/\d+/scheduled-events$", 403, code=50013, message="Missing Permissions")
    reply = await c.slash(g.admin, "screening schedule", film="Her (2013)", when="tomorrow 8pm", voice_channel=g.voice)
    assert reply.ephemeral and "Scheduled **Her (2013)**" in reply.content
    assert "**Connect**" in reply.content and f"<#{g.voice.id}>" in reply.content
    assert len(c.announcements()) == 1 and (await c.screening()).event_id is None
    assert len(await posts_repo.list_pending_by_key_prefix(c.bot.store, g.guild.id, "screening:1:")) >= 3


async def test_without_create_events_the_screening_still_works(screen: Screen) -> None:
    """Since 2026-02-23 Manage Events alone does not allow creating an event: the bot says it needs Create Events."""
    c, g, fake = screen, screen.g, screen.fake
    fake.set_bot_permissions(g.guild, (P.DEFAULT_BOT & ~P.CREATE_EVENTS) | P.MANAGE_EVENTS)
    await fake.settle()
    reply = await schedule_her(c)
    assert "I need the **Create Events** permission" in reply.content and "Manage Events" not in reply.content
    assert len(c.announcements()) == 1
    assert [e for e in g.guild.scheduled_events.values() if not e.deleted] == []
    s = await c.screening()
    assert s.event_id is None and s.message_id == c.announcements()[0].id


async def test_rsvp_on_cancelled_screening_is_refused(screen: Screen) -> None:
    c, g = screen, screen.g
    await schedule_her(c)
    [ann] = c.announcements()
    going = [b for b in ann.buttons()]
    await c.slash(g.admin, "screening cancel", id=1)
    # A stale client may still show the old buttons; the click is refused and nothing changes.
    ann.components = [{"type": 1, "components": going}]
    r = await c.click(g.alice, ann, "Going")
    assert r.ephemeral and "cancelled" in r.content
    assert await repo.rsvp_answers(c.bot.store, 1) == {}


# --------------------------------------------------------------------------- restarts


async def test_pending_count_edit_goes_out_at_shutdown(screen: Screen) -> None:
    c, g = screen, screen.g
    await schedule_her(c)
    [ann] = c.announcements()
    await c.click(g.alice, ann, "Going")
    assert "Going: **0**" in ann.text()  # still waiting out the debounce...
    await c.restart()  # ...when the bot is stopped: the edit is sent on the way out, not dropped
    assert "Going: **1**" in ann.text()
    edits = len(ann.history)
    await c.clock.advance(5)
    assert len(ann.history) == edits  # and not again after the restart: it already shows the truth
    r = await c.click(g.bob, ann, "Maybe")  # buttons still work
    assert r.ephemeral and "Maybe" in r.content
    await c.clock.advance(3)
    assert "Maybe: **1**" in ann.text()


async def test_startup_catches_up_after_a_crash(screen: Screen) -> None:
    """RSVPs saved but never drawn (a crash before the debounced edit), "Interested" clicked while offline."""
    c, g, fake = screen, screen.g, screen.fake
    await schedule_her(c)
    [ann] = c.announcements()
    event = c.event()
    await c.click(g.alice, ann, "Going")
    await fake.event_interest(g.bob, event)
    await c.club.stop()
    # What a crash leaves behind: Carol's answer is in the database, the announcement never showed it.
    store = Store(c.club.config.db_path)
    await store.open()
    await repo.set_rsvp(store, 1, g.carol.user.id, "going", int(c.clock.now().timestamp()))
    await store.close()
    await fake.event_interest(g.owner, event)  # nobody was connected to hear this
    await fake.event_uninterest(g.bob, event)
    edits = len(ann.history)
    await c.club.start()
    await fake.settle()
    text = ann.text()
    assert "Going: **2**" in text and "Maybe: **1** (incl. 1 interested on the event)" in text
    assert len(ann.history) == edits + 1  # one edit for all of it
    assert await repo.interested_members(c.bot.store, 1) == {g.owner.user.id}
    await c.club.restart()
    await fake.settle()
    assert len(ann.history) == edits + 1  # nothing to catch up the second time


async def test_discussion_and_rating_buttons_work_after_restart(screen: Screen) -> None:
    c, g, fake = screen, screen.g, screen.fake
    await schedule_her(c)
    [ann] = c.announcements()
    await c.click(g.alice, ann, "Going")
    await c.clock.advance_to(START + timedelta(minutes=HER_RUNTIME, hours=12, seconds=1))
    thread_id = (await c.screening()).thread_id
    assert thread_id == ann.id
    [prompt] = [m for m in fake.bot_messages(thread_id) if "what did we think" in m.content]
    await c.restart()
    r = await c.click(g.alice, prompt, "5 👍")
    assert r.ephemeral and "(5/5)" in r.content
    r = await c.click(g.alice, prompt, "3 👍")
    assert r.ephemeral and "now give" in r.content and "(3/5)" in r.content
    await c.restart()
    r = await c.click(g.bob, prompt, "rate:1:4")
    assert r.ephemeral and "(4/5)" in r.content
    r = await c.slash(g.carol, "rate", film="Her", thumbs=1, review="Not for me")
    assert r.ephemeral and "(1/5)" in r.content
    ratings = await repo.ratings_for_film(c.bot.store, g.guild.id, "her-2013")
    assert sorted((x.user_id, x.thumbs) for x in ratings) == sorted(
        [(g.alice.user.id, 3), (g.bob.user.id, 4), (g.carol.user.id, 1)]
    )
    # The discussion is in the announcement's thread; it was posted once across the restarts.
    assert fake.get_channel(thread_id).name == "Her: what did we think?"
    assert len([m for m in c.public_bot_messages() if "what did we think" in m.content]) == 1
    # The moderator's info now lists who rated; members don't see names.
    mod_view = await c.slash(g.admin, "screening info", id=1)
    assert "Rated (3)" in mod_view.text() and f"<@{g.carol.user.id}>" in mod_view.text()
    member_view = await c.slash(g.bob, "screening info", id=1)
    assert "Rated" not in member_view.text() and "Finished" in member_view.text()


# --------------------------------------------------------------------------- pings


def users_only(message: Message) -> set[int]:
    """The ids of an explicit user-only allowed_mentions (fails when it lets roles or everyone through)."""
    am = message.allowed_mentions
    assert am is not None, "no allowed_mentions: the bot's default would decide"
    assert am.get("parse", []) == [], am
    return {int(u) for u in am.get("users", [])}


async def test_reminders_and_notices_allow_exactly_the_going_members(screen: Screen) -> None:
    c, g, fake = screen, screen.g, screen.fake
    await fake.settle()
    await schedule_her(c)
    [ann] = c.announcements()
    await c.click(g.alice, ann, "Going")
    await c.click(g.bob, ann, "Going")
    await c.click(g.carol, ann, "Maybe")
    await c.click(g.bob, ann, "Can't")
    await c.clock.advance_to(START - timedelta(days=1) + timedelta(seconds=1))
    [reminder] = [m for m in c.public_bot_messages() if m.content.startswith("⏰")]
    assert users_only(reminder) == {g.alice.user.id} == reminder.pinged_user_ids

    reply = await c.slash(g.admin, "screening reschedule", id=1, when="sat 8pm")
    assert "Moved" in reply.content
    [moved] = [m for m in c.public_bot_messages() if "has moved" in m.content]
    assert users_only(moved) == {g.alice.user.id} == moved.pinged_user_ids
    assert moved.channel_id == g.screenings.id

    # Two moderators cancel at the same moment: one wins, Going members are told exactly once.
    h1 = await fake.slash(g.admin, g.general, "screening cancel", id=1, reason="@everyone projector broke")
    h2 = await fake.slash(c.club.mod, g.general, "screening cancel", id=1)
    r1, r2 = await h1.reply(), await h2.reply()
    assert r1.ephemeral and r2.ephemeral
    assert sorted(["Cancelled" in r1.content, "Cancelled" in r2.content]) == [False, True]
    loser = r2 if "Cancelled" in r1.content else r1
    assert "already cancelled" in loser.content or "just cancelled" in loser.content
    told = [m for m in c.public_bot_messages() if "is cancelled" in m.content]
    assert len(told) == 1
    assert users_only(told[0]) == {g.alice.user.id} == told[0].pinged_user_ids
    assert not told[0].pings_everyone and "@\u200beveryone" in told[0].content
    assert [name for name, _ in c.events].count("cancelled") == 1


async def test_double_reschedule_tells_once(screen: Screen) -> None:
    c, g, fake = screen, screen.g, screen.fake
    await schedule_her(c)
    [ann] = c.announcements()
    await c.click(g.alice, ann, "Going")
    h1 = await fake.slash(g.admin, g.general, "screening reschedule", id=1, when="sat 8pm")
    h2 = await fake.slash(c.club.mod, g.general, "screening reschedule", id=1, when="sat 8pm")
    replies = [await h1.reply(), await h2.reply()]
    assert sum("Moved" in r.content for r in replies) == 1
    assert len([m for m in c.public_bot_messages() if "has moved" in m.content]) == 1
    pending = await posts_repo.list_pending_by_key_prefix(c.bot.store, g.guild.id, "screening:1:")
    assert len({p.key for p in pending}) == len(pending)
    assert len([p for p in pending if p.kind == "screening.start"]) == 1


# --------------------------------------------------------------------------- no thread


async def test_deleted_announcement_reminders_and_discussion_fall_back_to_the_channel(screen: Screen) -> None:
    c, g, fake = screen, screen.g, screen.fake
    await schedule_her(c)
    [ann] = c.announcements()
    await c.click(g.alice, ann, "Going")
    await c.clock.advance(3)
    await fake.delete(ann)  # someone deletes the announcement
    await c.clock.advance_to(START - timedelta(days=1) + timedelta(seconds=1))
    [reminder] = [m for m in c.public_bot_messages() if m.content.startswith("⏰")]
    assert reminder.channel_id == g.screenings.id and reminder.pinged_user_ids == {g.alice.user.id}
    notices = [m for m in fake.bot_messages(g.announcements) if "has no thread" in m.content]
    assert len(notices) == 1 and not notices[0].pings_anyone

    await c.clock.advance_to(START + timedelta(minutes=HER_RUNTIME, hours=12, seconds=1))
    reminders = [m for m in c.public_bot_messages() if m.content.startswith("⏰")]
    assert len(reminders) == 2 and all(m.channel_id == g.screenings.id for m in reminders)
    [prompt] = [m for m in c.public_bot_messages() if "what did we think" in m.content]
    assert prompt.channel_id == g.screenings.id
    r = await c.click(g.alice, prompt, "4 👍")
    assert r.ephemeral and "(4/5)" in r.content
    assert len([m for m in fake.bot_messages(g.announcements) if "has no thread" in m.content]) == 1
    failed = await posts_repo.list_pending_by_key_prefix(c.bot.store, g.guild.id, "screening:1:")
    assert failed == []


async def test_without_thread_permission_the_discussion_goes_to_the_channel(screen: Screen) -> None:
    c, g, fake = screen, screen.g, screen.fake
    await schedule_her(c)
    [ann] = c.announcements()
    await c.click(g.alice, ann, "Going")
    fake.set_overwrites(g.screenings, [fake.overwrite(g.bot_role, deny=P.CREATE_PUBLIC_THREADS)])
    await fake.settle()
    await c.clock.advance_to(START + timedelta(minutes=HER_RUNTIME, hours=12, seconds=1))
    assert (await c.screening()).thread_id is None
    reminders = [m for m in c.public_bot_messages() if m.content.startswith("⏰")]
    assert len(reminders) == 2 and all(m.channel_id == g.screenings.id for m in reminders)
    [prompt] = [m for m in c.public_bot_messages() if "what did we think" in m.content]
    assert prompt.channel_id == g.screenings.id and len(prompt.buttons()) == 5
    [notice] = [m for m in fake.bot_messages(g.announcements) if "has no thread" in m.content]
    assert "Create Public Threads" in notice.content


async def test_list_and_board_are_served_again_until_something_changes(screen: Screen) -> None:
    """`/screening list` and `/ratings board` keep their answer while nothing changes (db/cache.py), and show
    an RSVP, a new screening or a rating at once."""
    c, g = screen, screen.g
    cog = c.bot.screenings
    await schedule_her(c)
    [ann] = c.announcements()
    await c.click(g.alice, ann, "Going")
    first = await c.slash(g.carol, "screening list")
    hits = cog.list_cache.hits
    again = await c.slash(g.carol, "screening list")
    assert cog.list_cache.hits == hits + 1 and again.text() == first.text() and "✅ 1" in again.text()
    await c.click(g.bob, ann, "Going")
    assert "✅ 2" in (await c.slash(g.carol, "screening list")).text()
    await c.slash(g.admin, "screening schedule", film="Rocky (1976)", when="in 3 days 8pm")
    assert "Rocky (1976)" in (await c.slash(g.carol, "screening list")).text()

    now = int(c.clock.now().timestamp())
    s = await repo.create_screening(
        c.bot.store, guild_id=g.guild.id, film_key="custom:film-00-2020", title="Film 00", year=2020, runtime=90,
        starts_at=now - 86400 * 2, channel_id=g.screenings.id, created_by=1, now=now - 86400 * 30,
    )
    await repo.mark_finished(c.bot.store, s.id, now)
    await repo.set_rating(c.bot.store, g.guild.id, s.film_key, g.alice.user.id, 4, None, now,
                          title=s.title, year=2020, screening_id=s.id)
    board = await c.slash(g.carol, "ratings board")
    assert "4.0 avg from 1 rating" in board.text()
    hits = cog.board_cache.hits
    again = await c.slash(g.carol, "ratings board")
    assert cog.board_cache.hits == hits + 1
    assert again.text() == board.text() and again.attachments[0].data == board.attachments[0].data
    rated = await c.slash(g.bob, "rate", film="custom:film-00-2020", thumbs=2)
    assert "(2/5)" in rated.content
    after = await c.slash(g.carol, "ratings board")
    assert "3.0 avg from 2 ratings" in after.text()
    assert after.attachments[0].data != board.attachments[0].data  # the chart was drawn again


# --------------------------------------------------------------------------- the board


async def test_ratings_board_pages_through_every_film(screen: Screen) -> None:
    c, g, fake = screen, screen.g, screen.fake
    now = int(c.clock.now().timestamp())
    for i in range(25):
        s = await repo.create_screening(
            c.bot.store, guild_id=g.guild.id, film_key=f"custom:film-{i:02d}-2020", title=f"Film {i:02d}",
            year=2020, runtime=90, starts_at=now - 86400 * (i + 2), channel_id=g.screenings.id, created_by=1,
            now=now - 86400 * 30,
        )
        await repo.mark_finished(c.bot.store, s.id, now)
        await repo.set_rating(c.bot.store, g.guild.id, s.film_key, g.alice.user.id, 1 + i % 5, None, now,
                              title=s.title, year=2020, screening_id=s.id)
    board = await c.slash(g.carol, "ratings board")
    assert not board.ephemeral and not board.pings_anyone
    assert board.embeds[0]["footer"]["text"] == "Page 1/3 · 25 films rated"
    assert board.text().count("avg from") == 10 and "1. **Film" in board.text()
    [png] = board.attachments
    assert png.filename == "ratings.png" and png.data.startswith(b"\x89PNG")
    handle = await fake.click(g.carol, board, "Next ▶")
    page2 = await handle.reply()
    assert "11. **Film" in page2.text() and page2.embeds[0]["footer"]["text"].startswith("Page 2/3")
    await (await fake.click(g.carol, board, "Next ▶")).reply()
    assert "21. **Film" in board.text() and board.text().count("avg from") == 5
    assert board.embeds[0]["image"]["url"] == "attachment://ratings.png"

    one = await c.slash(g.carol, "ratings board", film="custom:film-03-2020")
    assert "Film 03 (2020)" in one.text() and "4.0 avg from 1 rating" in one.text()
    assert one.file_names() == ["ratings.png"]
    unknown = await c.slash(g.carol, "ratings board", film="Nope")
    assert unknown.ephemeral and "Nobody has rated" in unknown.content

    mine = await c.slash(g.alice, "ratings mine")
    assert mine.ephemeral and mine.text().count("/5)") == 15
    assert mine.embeds[0]["footer"]["text"] == "Page 1/2 · 25 films rated"
    await (await fake.click(g.alice, mine, "Next ▶")).reply()
    assert mine.text().count("/5)") == 10
    none = await c.slash(g.bob, "ratings mine")
    assert none.ephemeral and "haven't rated anything" in none.text() and none.buttons() == []


# --------------------------------------------------------------------------- member-typed text


async def test_user_text_is_escaped_trimmed_and_never_pings(screen: Screen) -> None:
    c, g = screen, screen.g
    reply = await c.slash(
        g.admin, "screening schedule", film="@everyone **Party** <@&1>", year=2024, when="tomorrow 8pm",
        where="   ", notes=f"Bring snacks <@{g.bob.user.id}> @here",
    )
    assert reply.ephemeral and not reply.pings_anyone and "Scheduled" in reply.content
    s = await c.screening()
    assert s.location is None and s.notes is not None and s.notes.startswith("Bring snacks")
    [ann] = c.announcements()
    assert not ann.pings_anyone
    await c.click(g.alice, ann, "Going")
    await c.clock.advance_to(START + timedelta(seconds=1))
    for m in c.public_bot_messages():
        assert not m.pings_everyone and not m.pinged_role_ids
        assert m.pinged_user_ids <= {g.alice.user.id}, m.content
    [showing] = [m for m in c.public_bot_messages() if "Now showing" in m.content]
    assert "\\*\\*Party\\*\\*" in showing.content and "@\u200beveryone" in showing.content


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"film": "   ", "when": "tomorrow 8pm"}, "Give me a film title"),
        ({"film": "x" * 90, "when": "tomorrow 8pm"}, "I don't know"),
        ({"film": "Her (2013)", "when": "x" * 100}, "couldn't read"),
        ({"film": "Her (2013)", "when": "   "}, "Tell me when"),
        ({"film": "Her (2013)", "when": "tomorrow 8pm", "discussion_after": "30d"}, "within 7 days"),
        ({"film": "Her (2013)", "when": "tomorrow 8pm", "discussion_after": "1h,2h"}, "one delay"),
        ({"film": "Her (2013)", "when": "2027-06-01 20:00"}, "too far"),
        ({"film": "Little Women", "when": "tomorrow 8pm"}, "several films"),
    ],
)
async def test_bad_schedule_input_is_refused(screen: Screen, options: dict[str, Any], pattern: str) -> None:
    reply = await screen.slash(screen.g.admin, "screening schedule", **options)
    await assert_refused(screen, reply, pattern)
    assert len(reply.content) <= 2000


async def test_film_and_time_options_declare_their_lengths_so_discord_refuses_longer_text(screen: Screen) -> None:
    """Discord itself refuses text longer than an option's max_length before the bot sees it."""
    from tests.fakediscord.interactions import FakeDiscordUsageError

    too_long = ({"film": "x" * 201, "year": 2020, "when": "tomorrow 8pm"}, {"film": "Her (2013)", "when": "x" * 101})
    for options in too_long:
        with pytest.raises(FakeDiscordUsageError, match="longer than max_length"):
            await screen.slash(screen.g.admin, "screening schedule", **options)
    assert screen.announcements() == []


async def test_bad_cancel_and_reschedule_input(screen: Screen) -> None:
    c, g = screen, screen.g
    await schedule_her(c)
    for who in (g.alice, g.bob):
        r = await c.slash(who, "screening cancel", id=1)
        assert r.ephemeral and "Only moderators" in r.content
        r = await c.slash(who, "screening reschedule", id=1, when="sat 8pm")
        assert r.ephemeral and "Only moderators" in r.content
    r = await c.slash(g.admin, "screening reschedule", id=1, when="2025-01-01 20:00")
    assert r.ephemeral and "in the past" in r.content
    r = await c.slash(g.admin, "screening reschedule", id=1, when="tomorrow 8pm")
    assert r.ephemeral and "already starts" in r.content
    r = await c.slash(g.admin, "screening info", id=99)
    assert r.ephemeral and "no screening #99" in r.content
    s = await c.screening()
    assert s.status == "scheduled" and s.starts_at == int(START.timestamp())
    assert not [m for m in c.public_bot_messages() if "moved" in m.content or "cancelled" in m.content]
    # Once it has started it can't be moved; once finished it can't be cancelled.
    await c.clock.advance_to(START + timedelta(seconds=1))
    r = await c.slash(g.admin, "screening reschedule", id=1, when="sat 8pm")
    assert r.ephemeral and "already started" in r.content
    await c.clock.advance_to(START + timedelta(minutes=HER_RUNTIME, seconds=1))
    r = await c.slash(g.admin, "screening cancel", id=1)
    assert r.ephemeral and "already finished" in r.content
    assert (await c.screening()).status == "finished"


async def test_exactly_the_same_time_warns_and_allows_also_on_reschedule(screen: Screen) -> None:
    c, g = screen, screen.g
    await schedule_her(c)
    reply = await c.slash(g.admin, "screening schedule", film="Rocky (1976)", when="tomorrow 8pm")
    assert reply.ephemeral and "Heads-up" in reply.content and "Her (2013)" in reply.content
    assert len(c.announcements()) == 2 and len([e for e in g.guild.scheduled_events.values()]) == 2
    third = await c.slash(g.admin, "screening schedule", film="Her (2013)", when="sat 8pm")
    assert "Heads-up" not in third.content
    moved = await c.slash(g.admin, "screening reschedule", id=3, when="tomorrow 9pm")
    assert "Moved" in moved.content and moved.content.count("Heads-up") == 2
    assert (await c.screening(3)).starts_at == int((START + timedelta(hours=1)).timestamp())


async def test_double_click_counts_once_and_queues_reminders_once(screen: Screen) -> None:
    c, g, fake = screen, screen.g, screen.fake
    await schedule_her(c)
    [ann] = c.announcements()
    await c.slash(g.alice, "remind me", offsets="10m", via="dm")
    h1 = await fake.click(g.alice, ann, "Going")
    h2 = await fake.click(g.alice, ann, "Going")
    r1, r2 = await h1.reply(), await h2.reply()
    assert r1.ephemeral and r2.ephemeral
    assert sorted(["Got it" in r1.content, "Got it" in r2.content]) == [False, True]
    assert "already down as **Going**" in (r2.content if "Got it" in r1.content else r1.content)
    personal = await posts_repo.list_pending_by_key_prefix(c.bot.store, g.guild.id, "screening:1:personal:")
    assert len(personal) == 1
    await c.clock.advance(3)
    assert "Going: **1**" in ann.text()
    # Alice set her own reminders, so the server's reminder names nobody, yet still knows someone is coming.
    await c.clock.advance_to(START - timedelta(minutes=5))
    server = [m for m in c.public_bot_messages() if m.content.startswith("⏰ **Her")]
    assert len(server) == 2 and all(not m.pings_anyone and "See you there" in m.content for m in server)
    [dm] = fake.bot_messages(fake.dm_channel(g.alice))
    assert dm.content.startswith("⏰ Reminder: **Her (2013)**")


async def test_list_says_how_many_more(screen: Screen) -> None:
    c, g = screen, screen.g
    start = int(START.timestamp())
    for i in range(23):
        await repo.create_screening(
            c.bot.store, guild_id=g.guild.id, film_key="her-2013", title="Her", year=2013, runtime=126,
            starts_at=start + i * 86400, channel_id=g.screenings.id, created_by=1, now=c.bot.now_ts(),
        )
    listing = await c.slash(g.carol, "screening list")
    assert listing.ephemeral and listing.text().count("Her (2013)") == 20
    assert listing.embeds[0]["footer"]["text"].startswith("3 more not shown")
    assert len(listing.embeds[0]["description"]) <= 4096


async def test_cancel_works_when_the_announcement_is_gone(screen: Screen) -> None:
    c, g, fake = screen, screen.g, screen.fake
    await schedule_her(c)
    [ann] = c.announcements()
    await c.click(g.alice, ann, "Going")
    await fake.delete(ann)
    reply = await c.slash(g.admin, "screening cancel", id=1, reason="Lost the disc")
    assert reply.ephemeral and "Cancelled **Her (2013)**" in reply.content and "told 1 member" in reply.content
    [told] = [m for m in c.public_bot_messages() if "is cancelled" in m.content]
    assert told.pinged_user_ids == {g.alice.user.id} and "Lost the disc" in told.content
    assert c.event().status == 4
    assert await posts_repo.list_pending_by_key_prefix(c.bot.store, g.guild.id, "screening:1:") == []


async def test_a_film_with_a_200_character_title_works_in_every_autocomplete(screen: Screen) -> None:
    """A custom film's key grows with its title; Discord refuses a whole autocomplete answer with one value over
    100 characters (the fake does too), so members would see "Loading options failed"."""
    c, g, fake = screen, screen.g, screen.fake
    title = ("The Extraordinarily Long and Winding Tale of a Projectionist Who Never Once Let the Reel Run Out " * 3)
    title = title[:199].strip()
    reply = await c.slash(g.admin, "screening schedule", film=title, year=2020, runtime=100, when="tomorrow 8pm")
    assert reply.ephemeral and "Scheduled" in reply.content, reply.content
    [ann] = c.announcements()
    await c.click(g.alice, ann, "Going")
    key = (await c.screening()).film_key
    assert len(key) > 100
    # Before the screening, /preview lists it; afterwards the others do.
    [upcoming] = await fake.autocomplete(g.alice, g.general, "preview", "film", "Extraordinarily")
    assert len(str(upcoming["value"])) <= 100
    preview = await fake.slash(g.alice, g.general, "preview", film=upcoming["value"])
    assert "Preview" in (await preview.wait_modal())["title"]
    await c.clock.advance_to(START + timedelta(minutes=100, hours=1))
    picked: dict[str, str] = {}
    for command, others in (("rate", {"thumbs": 4}), ("verdict", {}), ("newsletter draft", {})):
        choices = await fake.autocomplete(g.admin, g.general, command, "film", "Extraordinarily", **others)
        [mine] = [ch for ch in choices if str(ch["name"]).startswith("The Extraordinarily")]
        assert len(str(mine["value"])) <= 100
        picked[command] = str(mine["value"])
    rated = await c.slash(g.alice, "rate", film=picked["rate"], thumbs=4)
    assert rated.ephemeral and "(4/5)" in rated.content, rated.content
    choices = await fake.autocomplete(g.alice, g.general, "ratings board", "film", "Extraordinarily")
    [board_choice] = choices
    handle = await fake.slash(g.alice, g.general, "ratings board", film=board_choice["value"])
    board = await handle.reply()
    assert "Extraordinarily" in board.text() and "1 rating" in board.text()
    draft = await c.slash(g.admin, "newsletter draft", film=picked["newsletter draft"])
    assert draft.ephemeral and "Draft #1" in draft.content, draft.content


async def test_dm_reminders_cost_one_request_and_closed_dms_are_tried_once(screen: Screen) -> None:
    """REST budget: no user fetch; the DM is opened from the member's id once and remembered; a member whose DMs
    are closed is tried once, then reminded in the thread without another DM attempt."""
    c, g, fake = screen, screen.g, screen.fake
    closed = fake.add_member(g.guild, "dora", [g.member_role], dms_closed=True)
    await schedule_her(c)
    [ann] = c.announcements()
    for who in (g.alice, closed):
        await c.slash(who, "remind me", offsets="1h,10m", via="dm")
        await c.click(who, ann, "Going")
    before, invalid_before = len(fake.rest_log), fake.invalid_requests
    await c.clock.advance_to(START - timedelta(minutes=5))
    assert fake.invalid_requests - invalid_before == 1  # Dora's closed DMs, once
    calls = [call for call in fake.rest_log[before:] if call.authorized]
    user_fetches = [call for call in calls if call.method == "GET" and call.path.startswith("/users/")
                    and call.path != "/users/@me"]
    assert user_fetches == []
    opens = [call for call in calls if call.method == "POST" and call.path == "/users/@me/channels"]
    alice_dm = fake.dm_channel(g.alice)
    dm_sends = [call for call in calls if call.method == "POST" and call.path == f"/channels/{alice_dm.id}/messages"]
    dora_dm = fake.dm_channel(closed)
    dora_sends = [call for call in calls if call.method == "POST" and call.path == f"/channels/{dora_dm.id}/messages"]
    assert len(dm_sends) == 2 and all(call.status == 200 for call in dm_sends)  # both of Alice's reminders
    assert len(opens) == 2  # each DM opened once, from the member's id
    assert len(dora_sends) == 1 and dora_sends[0].status == 403  # one attempt in all for closed DMs
    assert len([call for call in calls if call.status >= 400]) == 1
    assert len(fake.bot_messages(alice_dm)) == 2
    in_thread = [m for m in c.public_bot_messages() if m.pinged_user_ids == {closed.user.id}]
    assert len(in_thread) == 2 and all(m.channel_id == ann.id for m in in_thread)


async def test_a_reminder_to_many_going_members_stays_under_discords_limits(screen: Screen) -> None:
    """60 Going members reminded by DM, 3 of them with closed DMs, twice (1h and 10m before): no user fetch,
    each DM opened once from the member's id and remembered, closed DMs tried once in all, and not one 429 (the
    second round sends 57 DMs at once, more than Discord's 50 per second: the bot paces itself)."""
    c, g, fake = screen, screen.g, screen.fake
    await schedule_her(c)
    [ann] = c.announcements()
    members = [fake.add_member(g.guild, f"fan{i}", [g.member_role], dms_closed=i % 20 == 0) for i in range(60)]
    closed = [m for i, m in enumerate(members) if i % 20 == 0]
    for who in members:
        await c.slash(who, "remind me", offsets="1h,10m", via="dm")
        await c.click(who, ann, "Going")
    open_dms = [m for m in members if m not in closed]

    def reminded(times: int) -> bool:
        in_thread = [m for m in c.public_bot_messages() if m.pinged_user_ids & {m.user.id for m in closed}]
        return len(in_thread) == times * len(closed) and all(
            len(fake.bot_messages(fake.dm_channel(m))) == times for m in open_dms)

    before, invalid_before = len(fake.rest_log), fake.invalid_requests
    await c.clock.advance_to(START - timedelta(minutes=30))  # the first round (1h before)
    await fake.wait_until(lambda: reminded(1), 20, "the first round")  # it takes real seconds: DM opens are paced
    middle = len(fake.rest_log)
    await c.clock.advance_to(START - timedelta(minutes=5))  # the second round (10m before)
    await fake.wait_until(lambda: reminded(2), 20, "the second round")
    await fake.settle()
    first, second = fake.rest_log[before:middle], fake.rest_log[middle:]

    def count(calls: list[Any], method: str, pattern: str, status: int | None = None) -> int:
        return sum(1 for call in calls if call.method == method and re.fullmatch(pattern, call.path)
                   and (status is None or call.status == status))

    assert fake.rate_limited == []  # not one 429, global or per route
    assert count(first + second, "GET", r"/users/(?!@me)\d+") == 0  # no user fetch
    assert count(first, "POST", "/users/@me/channels") == 60 and count(second, "POST", "/users/@me/channels") == 0
    dm_ids = {fake.dm_channel(m).id for m in members}
    dm_sends = [call for call in first + second if call.method == "POST" and call.path.startswith("/channels/")
                and int(call.path.split("/")[2]) in dm_ids]
    assert sum(1 for call in dm_sends if call.status == 200) == 2 * 57
    assert sum(1 for call in dm_sends if call.status == 403) == 3  # closed DMs: one attempt each, in all
    assert fake.invalid_requests - invalid_before == 3
    for member in closed:  # reminded in the thread both times instead
        in_thread = [m for m in c.public_bot_messages() if m.pinged_user_ids == {member.user.id}]
        assert len(in_thread) == 2
    assert all(len(fake.bot_messages(fake.dm_channel(m))) == 2 for m in members if m not in closed)
