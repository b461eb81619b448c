"""Installments and teasers end to end, through the fake Discord, in fake time.

The fake clock starts on Monday 2026-01-05 12:00 UTC; the club's time zone is Europe/London (UTC in
January), so "8pm" is 2026-01-05 20:00 UTC. *Her* runs 126 minutes: its screening ends at 22:06.
The *Rocky* screening is on 2026-01-20 at 20:00, so its teasers are due on the 13th and the 19th at 20:00.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from db import installments as repo
from db import scheduled_posts as posts_repo
from db import screenings as screenings_repo
from db.migrate import migrate
from db.settings import SettingsRepo
from db.store import Store
from tests.e2e.conftest import Club
from tests.fakediscord.models import Message
from tests.fakediscord.server import FakeDiscord

HER_START = datetime(2026, 1, 5, 20, 0, tzinfo=UTC)
HER_END = HER_START + timedelta(minutes=126)
ROCKY_START = datetime(2026, 1, 20, 20, 0, tzinfo=UTC)
SEVEN_DAYS = ROCKY_START - timedelta(days=7)
ONE_DAY = ROCKY_START - timedelta(days=1)
ROCKY_TEASER = "Next time: *Rocky* (1976)"


async def run(club: Club, who: Any, command: str, **options: Any) -> Message:
    handle = await club.slash(who, club.g.general, command, **options)
    return await handle.reply()


def announced(club: Club) -> list[Message]:
    return [m for m in club.fake.bot_messages(club.g.announcements) if not m.ephemeral]


def teasers(club: Club, text: str = ROCKY_TEASER) -> list[Message]:
    return [m for m in announced(club) if m.content.startswith(text)]


def wraps(club: Club) -> list[Message]:
    return [m for m in announced(club) if "That's a wrap" in m.text()]


async def queue_ids(club: Club) -> list[int]:
    return [i.id for i in await repo.queue(club.bot.store, club.guild_id)]


async def add(club: Club, film: str, **options: Any) -> Message:
    reply = await run(club, club.mod, "installment add", film=film, **options)
    assert not reply.ephemeral, reply.content
    return reply


async def schedule_screening(club: Club, film: str, when: str) -> int:
    reply = await run(club, club.g.admin, "screening schedule", film=film, when=when)
    assert reply.ephemeral and "Scheduled" in reply.content, reply.content
    upcoming = await screenings_repo.list_upcoming(club.bot.store, club.guild_id)
    return max(s.id for s in upcoming)


async def her_then_rocky(club: Club) -> tuple[int, int]:
    """Queue Her -> Rocky, schedule both screenings; returns (her screening id, rocky screening id)."""
    await add(club, "Her (2013)")
    await add(club, "Rocky (1976)")
    her = await schedule_screening(club, "Her (2013)", "8pm")
    rocky = await schedule_screening(club, "Rocky (1976)", "2026-01-20 8pm")
    return her, rocky


async def pending_teasers(club: Club) -> list[posts_repo.ScheduledPost]:
    return await posts_repo.list_pending_by_key_prefix(club.bot.store, club.guild_id, "teaser:")


# --------------------------------------------------------------------------- the story


async def test_her_then_rocky_teasers_appear_once_each(club: Club) -> None:
    her_sid, rocky_sid = await her_then_rocky(club)
    her, rocky = await repo.queue(club.bot.store, club.guild_id)
    assert (her.title, her.screening_id) == ("Her", her_sid)  # scheduling linked them
    assert (rocky.title, rocky.screening_id) == ("Rocky", rocky_sid)
    assert sorted(p.due_at for p in await pending_teasers(club)) == [
        int(SEVEN_DAYS.timestamp()), int(ONE_DAY.timestamp())
    ]

    listing = await run(club, club.g.alice, "installment list")
    text = listing.text()
    assert text.index("Her") < text.index("Rocky")
    assert f"<t:{int(HER_START.timestamp())}:F>" in text and f"<t:{int(ROCKY_START.timestamp())}:F>" in text
    current = await run(club, club.g.alice, "installment current")
    assert "Now: Her (2013)" in current.text() and "Then: Rocky (1976)" in current.text()

    await club.clock.advance_to(HER_END - timedelta(minutes=1))
    assert teasers(club) == []
    await club.clock.advance_to(HER_END + timedelta(minutes=1))
    sent = teasers(club)
    assert len(sent) == 1
    teaser = sent[0]
    assert teaser.content == ROCKY_TEASER and not teaser.pings_anyone
    card = teaser.embeds[0]
    fields = {f["name"]: f["value"] for f in card["fields"]}
    assert card["title"] == "Rocky (1976)"
    assert fields["Year"] == "1976" and fields["Director"] == "John G. Avildsen"
    assert fields["Runtime"] == "2 h"
    assert fields["Next screening"].startswith(f"<t:{int(ROCKY_START.timestamp())}:F>")
    assert "Philadelphia" in card["description"]  # the catalogue's premise
    assert {b["custom_id"] for b in teaser.buttons()} == {
        f"rsvp:{rocky_sid}:going", f"rsvp:{rocky_sid}:maybe", f"rsvp:{rocky_sid}:cant"
    }
    # Her is watched; Rocky is now the current installment.
    assert [i.title for i in await repo.queue(club.bot.store, club.guild_id)] == ["Rocky"]
    assert "Now: Rocky (1976)" in (await run(club, club.g.alice, "installment current")).text()

    # The teaser's RSVP buttons answer for the Rocky screening.
    click = await club.fake.click(club.g.alice, teaser, f"rsvp:{rocky_sid}:going")
    await click.response()
    assert await screenings_repo.get_rsvp(club.bot.store, rocky_sid, club.g.alice.id) == "going"

    await club.clock.advance_to(SEVEN_DAYS - timedelta(minutes=1))
    assert len(teasers(club)) == 1
    await club.clock.advance_to(SEVEN_DAYS + timedelta(minutes=1))
    assert len(teasers(club)) == 2
    await club.clock.advance_to(ONE_DAY + timedelta(minutes=1))
    assert len(teasers(club)) == 3
    # Rocky ends too: the queue is empty, so "that's a wrap" instead of a teaser.
    await club.clock.advance_to(ROCKY_START + timedelta(hours=3))
    assert len(teasers(club)) == 3
    assert len(wraps(club)) == 1
    assert teasers(club, "Next time") == teasers(club)  # nothing else was teased


async def test_empty_queue_after_a_screening_posts_a_wrap(club: Club) -> None:
    await add(club, "Her (2013)")
    await schedule_screening(club, "Her (2013)", "8pm")
    await club.clock.advance_to(HER_END + timedelta(minutes=5))
    assert teasers(club, "Next time") == []
    assert len(wraps(club)) == 1
    assert await queue_ids(club) == []


async def test_screening_outside_the_queue_posts_no_teaser(club: Club) -> None:
    await add(club, "Rocky (1976)")
    await schedule_screening(club, "Her (2013)", "8pm")
    await club.clock.advance_to(HER_END + timedelta(minutes=5))
    assert announced(club) == []
    assert len(await queue_ids(club)) == 1


# --------------------------------------------------------------------------- restarts


async def test_bot_down_across_a_teasers_due_time_posts_it_once(club: Club) -> None:
    await her_then_rocky(club)
    await club.clock.advance_to(SEVEN_DAYS - timedelta(minutes=2))
    before = len(teasers(club))
    await club.stop()
    club.clock.set(SEVEN_DAYS + timedelta(minutes=3))  # down while it fell due
    await club.start()
    await club.clock.advance(5)
    assert len(teasers(club)) == before + 1
    await club.restart()
    await club.clock.advance(3600)
    assert len(teasers(club)) == before + 1


async def test_crash_between_sending_a_teaser_and_recording_it_posts_once(
    club: Club, monkeypatch: pytest.MonkeyPatch
) -> None:
    await her_then_rocky(club)
    await club.clock.advance_to(SEVEN_DAYS - timedelta(minutes=1))
    before = len(teasers(club))

    async def power_cut(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut between send and mark")

    monkeypatch.setattr(posts_repo, "mark_sent", power_cut)
    await club.clock.advance_to(SEVEN_DAYS + timedelta(seconds=30))
    assert len(teasers(club)) == before + 1
    stuck = [p for p in await posts_repo.list_active(club.bot.store) if p.status == "sending"]
    assert [p.kind for p in stuck] == ["teaser.before"]  # as a crash would leave it
    monkeypatch.undo()
    await club.restart()
    await club.clock.advance(60)
    post = await posts_repo.get(club.bot.store, stuck[0].id)
    assert post is not None and post.status == "sent"
    assert len(teasers(club)) == before + 1
    assert post.message_id == teasers(club)[-1].id


@pytest.mark.process
async def test_sigkill_before_a_teaser_is_due_posts_it_once(
    fake: FakeDiscord, bot_process: Any, tmp_path: Path
) -> None:
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
    now = int(time.time())
    guild_id = int(g.guild.id)
    await SettingsRepo(store).update(guild_id, now, announcements_channel_id=int(g.announcements.id))
    inst = await repo.add(
        store, guild_id=guild_id, film_key="rocky-1976", title="Rocky", year=1976, runtime=120, note=None,
        position=1, added_by=1, now=now,
    )
    await posts_repo.insert(
        store, guild_id=guild_id, kind="teaser.custom", key=f"teaser:inst:{inst.id}:custom:1@{now + 4}",
        due_at=now + 4, now=now, channel_id=int(g.announcements.id),
        payload={"installment_id": inst.id, "text": "Yo, Adrian! Rocky is next."},
    )
    await store.close()
    await proc.start(commands=False)
    await proc.stop(kill=True)  # SIGKILL before it is due

    def mine(m: Message) -> bool:
        return m.content == "Yo, Adrian! Rocky is next."

    assert not [m for m in fake.messages_in(g.announcements) if mine(m)]
    await proc.start(commands=False)
    await fake.wait_for_message(g.announcements, mine, timeout=15)
    await asyncio.sleep(1.5)
    await proc.stop()
    sent = [m for m in fake.messages_in(g.announcements) if mine(m)]
    assert len(sent) == 1 and sent[0].embeds[0]["title"] == "Rocky (1976)"


# --------------------------------------------------------------------------- reschedule, cancel, remove


async def test_reschedule_moves_the_teasers(club: Club) -> None:
    _, rocky_sid = await her_then_rocky(club)
    reply = await run(club, club.g.admin, "screening reschedule", id=rocky_sid, when="2026-01-25 8pm")
    assert "Moved" in reply.content
    new_start = datetime(2026, 1, 25, 20, 0, tzinfo=UTC)
    pending = await pending_teasers(club)
    assert sorted(p.due_at for p in pending) == [
        int((new_start - timedelta(days=7)).timestamp()), int((new_start - timedelta(days=1)).timestamp())
    ]
    await club.clock.advance_to(HER_END + timedelta(minutes=1))
    assert len(teasers(club)) == 1  # the post-credits one
    # Nothing at the old 7-day time (the 13th)...
    await club.clock.advance_to(new_start - timedelta(days=7, minutes=1))
    assert len(teasers(club)) == 1
    # ...one on the 18th, none at the old 1-day time (the 19th), one on the 24th.
    await club.clock.advance_to(new_start - timedelta(days=7) + timedelta(minutes=1))
    assert len(teasers(club)) == 2
    await club.clock.advance_to(new_start - timedelta(days=1, minutes=1))
    assert len(teasers(club)) == 2
    await club.clock.advance_to(new_start - timedelta(hours=2))
    assert len(teasers(club)) == 3
    last = teasers(club)[-1]
    assert last.embeds[0]["fields"][-1]["value"].startswith(f"<t:{int(new_start.timestamp())}:F>")


async def test_cancel_removes_the_teasers_and_unlinks(club: Club) -> None:
    _, rocky_sid = await her_then_rocky(club)
    reply = await run(club, club.g.admin, "screening cancel", id=rocky_sid)
    assert "Cancelled" in reply.content
    assert await pending_teasers(club) == []
    rocky = (await repo.queue(club.bot.store, club.guild_id))[1]
    assert rocky.screening_id is None
    await club.clock.advance_to(HER_END + timedelta(minutes=1))
    teaser = teasers(club)[0]  # the post-credits teaser still goes out, with no screening on the card
    assert teaser.buttons() == []
    assert "not scheduled yet" in teaser.text()
    await club.clock.advance_to(ROCKY_START + timedelta(hours=3))
    assert len(teasers(club)) == 1
    # A new Rocky screening links to the installment again and queues its teasers.
    new_sid = await schedule_screening(club, "Rocky (1976)", "2026-02-10 8pm")
    rocky = (await repo.queue(club.bot.store, club.guild_id))[0]
    assert rocky.screening_id == new_sid and len(await pending_teasers(club)) == 2


async def test_removing_an_installment_cancels_its_teasers(club: Club) -> None:
    await her_then_rocky(club)
    rocky_id = (await queue_ids(club))[1]
    custom = await run(club, club.mod, "teaser schedule", when="2026-01-10 6pm", text="Eye of the tiger")
    assert custom.ephemeral and "Scheduled" in custom.content
    assert len(await pending_teasers(club)) == 3
    reply = await run(club, club.mod, "installment remove", id=rocky_id)
    assert "Removed *Rocky* (1976)" in reply.content and "2 teasers" in reply.content
    pending = await pending_teasers(club)
    assert [p.kind for p in pending] == ["teaser.custom"]  # tied to Her, the current installment
    await club.clock.advance_to(ROCKY_START + timedelta(hours=3))
    assert teasers(club) == []


# --------------------------------------------------------------------------- queue commands


async def test_add_move_remove_current_done(club: Club) -> None:
    await add(club, "Her (2013)")
    reply = await add(club, "Rocky (1976)", note="The original")
    assert "position 2 of 2" in reply.content
    reply = await add(club, "Rocky II (1979)", position=1)
    assert "position 1 of 3" in reply.content
    reply = await add(club, "Our Home Movie", year=2024)
    assert "*Our Home Movie* (2024)" in reply.content
    titles = [i.title for i in await repo.queue(club.bot.store, club.guild_id)]
    assert titles == ["Rocky II", "Her", "Rocky", "Our Home Movie"]
    ids = await queue_ids(club)

    reply = await run(club, club.mod, "installment move", id=ids[0], position=3)
    assert "position 3" in reply.content
    assert [i.title for i in await repo.queue(club.bot.store, club.guild_id)] == [
        "Her", "Rocky", "Rocky II", "Our Home Movie"
    ]
    reply = await run(club, club.mod, "installment remove", id=ids[3])
    assert "Removed" in reply.content
    positions = [(i.position, i.title) for i in await repo.queue(club.bot.store, club.guild_id)]
    assert positions == [(1, "Her"), (2, "Rocky"), (3, "Rocky II")]

    listing = (await run(club, club.g.alice, "installment list")).text()
    assert "The original" in listing and "3 to go" in listing

    reply = await run(club, club.mod, "installment done")
    assert "Marked *Her* (2013) watched" in reply.content and "Now on: *Rocky* (1976)" in reply.content
    current = await run(club, club.g.bob, "installment current")
    assert "Now: Rocky (1976)" in current.text() and "Then: Rocky II (1979)" in current.text()
    assert "The original" in current.text()
    await run(club, club.mod, "installment done")
    await run(club, club.mod, "installment done")
    final = await run(club, club.g.bob, "installment current")
    assert "That's a wrap" in final.content
    refused = await run(club, club.mod, "installment done")
    assert refused.ephemeral and "queue is empty" in refused.content


async def test_autocomplete_offers_catalogue_films(club: Club) -> None:
    choices = await club.fake.autocomplete(club.mod, club.g.general, "installment add", "film", "rock")
    names = [c["name"] for c in choices]
    assert "Rocky (1976)" in names and all(c["name"] == c["value"] for c in choices)


async def test_adding_a_film_with_an_upcoming_screening_links_it(club: Club) -> None:
    sid = await schedule_screening(club, "Rocky (1976)", "2026-01-20 8pm")
    reply = await add(club, "Rocky (1976)")
    assert "Linked to its screening" in reply.content
    (rocky,) = await repo.queue(club.bot.store, club.guild_id)
    assert rocky.screening_id == sid
    assert len(await pending_teasers(club)) == 2


# --------------------------------------------------------------------------- teaser commands


async def test_teaser_now_posts_once_and_wraps_when_empty(club: Club) -> None:
    await add(club, "Rocky (1976)")
    reply = await run(club, club.mod, "teaser now")
    assert reply.ephemeral and "Rocky" in reply.content
    await club.clock.advance(1)
    assert len(teasers(club)) == 1
    assert teasers(club)[0].embeds[0]["fields"][-1]["value"] == "not scheduled yet"
    await run(club, club.mod, "installment done")
    reply = await run(club, club.mod, "teaser now")
    assert "wrap" in reply.content
    await club.clock.advance(1)
    assert len(wraps(club)) == 1 and len(teasers(club)) == 1


async def test_custom_teaser_goes_out_at_its_time(club: Club) -> None:
    await add(club, "Rocky (1976)")
    reply = await run(club, club.mod, "teaser schedule", when="tomorrow 6pm", text="Training montage tonight!")
    assert reply.ephemeral and "Scheduled a custom teaser" in reply.content
    due = datetime(2026, 1, 6, 18, 0, tzinfo=UTC)
    await club.clock.advance_to(due - timedelta(seconds=1))
    assert announced(club) == []
    await club.clock.advance_to(due + timedelta(hours=1))
    (sent,) = announced(club)
    assert sent.content == "Training montage tonight!" and sent.embeds[0]["title"] == "Rocky (1976)"
    assert not sent.pings_anyone


async def test_teaser_settings_change_offsets_or_turn_them_off(club: Club) -> None:
    shown = await run(club, club.mod, "teaser settings")
    assert shown.ephemeral and "7 days, 1 day before" in shown.content
    await her_then_rocky(club)
    reply = await run(club, club.mod, "teaser settings", offsets="2d")
    assert "2 days before" in reply.content
    assert [p.due_at for p in await pending_teasers(club)] == [int((ROCKY_START - timedelta(days=2)).timestamp())]
    reply = await run(club, club.mod, "teaser settings", offsets="off", post_credits=False)
    assert "off" in reply.content and "no post-credits" in reply.content
    assert await pending_teasers(club) == []
    settings = await repo.get_settings(club.bot.store, club.guild_id)
    assert settings.offsets == "off" and not settings.post_credits
    await club.clock.advance_to(ROCKY_START + timedelta(hours=3))
    assert announced(club) == []
    # Another server keeps the defaults.
    assert (await repo.get_settings(club.bot.store, club.guild_id + 1)).offsets == "7d,1d"


# --------------------------------------------------------------------------- bad input


async def assert_refused(club: Club, who: Any, command: str, needle: str, **options: Any) -> None:
    before_queue = [(i.id, i.position, i.screening_id) for i in await repo.queue(club.bot.store, club.guild_id)]
    before_posts = [p.id for p in await pending_teasers(club)]
    reply = await run(club, who, command, **options)
    assert reply.ephemeral, reply.content
    assert needle in reply.content, reply.content
    after_queue = [(i.id, i.position, i.screening_id) for i in await repo.queue(club.bot.store, club.guild_id)]
    assert after_queue == before_queue
    assert [p.id for p in await pending_teasers(club)] == before_posts


async def test_bad_input_is_refused_and_changes_nothing(club: Club) -> None:
    await her_then_rocky(club)
    her_id, rocky_id = await queue_ids(club)
    # An unknown film without a year.
    await assert_refused(club, club.mod, "installment add", "give its year", film="Our Home Movie")
    # Positions out of range.
    await assert_refused(club, club.mod, "installment add", "pick 1 to 3", film="Rocky II (1979)", position=4)
    await assert_refused(club, club.mod, "installment add", "out of range", film="Rocky II (1979)", position=0)
    await assert_refused(club, club.mod, "installment move", "pick 1 to 2", id=her_id, position=3)
    # Ids of another server.
    other = await repo.add(
        club.bot.store, guild_id=club.guild_id + 1, film_key="her-2013", title="Her", year=2013, runtime=126,
        note=None, position=1, added_by=1, now=club.bot.now_ts(),
    )
    await assert_refused(club, club.mod, "installment move", f"no installment #{other.id}", id=other.id, position=1)
    await assert_refused(club, club.mod, "installment remove", f"no installment #{other.id}", id=other.id)
    assert await repo.get(club.bot.store, other.id) is not None
    # Custom teasers in the past or too long.
    await assert_refused(club, club.mod, "teaser schedule", "past", when="2026-01-04 8pm", text="Too late")
    await assert_refused(club, club.mod, "teaser schedule", "at most 2,000", when="tomorrow 6pm", text="x" * 2001)
    # Offsets that make no sense.
    await assert_refused(club, club.mod, "teaser settings", "teaser offset", offsets="soonish")
    assert (await repo.get_settings(club.bot.store, club.guild_id)).offsets == "7d,1d"
    # Members who are not moderators.
    await assert_refused(club, club.g.alice, "installment add", "Only moderators", film="Rocky II (1979)")
    await assert_refused(club, club.g.alice, "installment remove", "Only moderators", id=rocky_id)
    await assert_refused(club, club.g.alice, "teaser now", "Only moderators")
    await club.clock.advance(60)
    assert announced(club) == []
