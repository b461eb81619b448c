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
from tests.e2e.conftest import BACKENDS, Club, read_post
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


@pytest.mark.parametrize("db_backend", BACKENDS)
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


async def process_with_custom_teaser(
    fake: FakeDiscord, bot_process: Any, tmp_path: Path, key_part: str, text: str, in_s: int
) -> tuple[Any, Any, Path, str]:
    """A bot process that ran once, stopped, with Rocky queued and a custom teaser due in ``in_s`` seconds."""
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
    key = f"teaser:inst:{inst.id}:custom:{key_part}@{now + in_s}"
    await posts_repo.insert(
        store, guild_id=guild_id, kind="teaser.custom", key=key, due_at=now + in_s, now=now,
        channel_id=int(g.announcements.id), payload={"installment_id": inst.id, "text": text},
    )
    await store.close()
    return g, proc, db_path, key


@pytest.mark.process
async def test_sigkill_before_a_teaser_is_due_posts_it_once(
    fake: FakeDiscord, bot_process: Any, tmp_path: Path
) -> None:
    g, proc, _, _ = await process_with_custom_teaser(
        fake, bot_process, tmp_path, "1", "Yo, Adrian! Rocky is next.", 4
    )
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


@pytest.mark.parametrize("db_backend", BACKENDS)
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


# --------------------------------------------------------------------------- the end of a screening across a crash


def drop_screening_finished(club: Club, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot "dies" right after Screenings marks a screening finished: the in-memory event is lost."""
    original = club.bot.dispatch

    def dispatch(event: str, /, *args: Any, **kwargs: Any) -> None:
        if event != "screening_finished":
            original(event, *args, **kwargs)

    monkeypatch.setattr(club.bot, "dispatch", dispatch)


async def test_crash_before_the_end_reaches_installments_posts_the_teaser_once_after_restart(
    club: Club, monkeypatch: pytest.MonkeyPatch
) -> None:
    her_sid, rocky_sid = await her_then_rocky(club)
    drop_screening_finished(club, monkeypatch)
    await club.clock.advance_to(HER_END + timedelta(minutes=1))
    her = await screenings_repo.get_screening(club.bot.store, her_sid)
    assert her is not None and her.status == "finished"
    assert teasers(club) == []  # the event never arrived
    assert [i.title for i in await repo.queue(club.bot.store, club.guild_id)] == ["Her", "Rocky"]
    await club.stop()
    monkeypatch.undo()
    await club.clock.advance(600)  # down for ten minutes
    await club.start()
    await club.clock.advance(5)
    (teaser,) = teasers(club)
    assert teaser.content == ROCKY_TEASER and not teaser.pings_anyone
    assert f"rsvp:{rocky_sid}:going" in {b["custom_id"] for b in teaser.buttons()}
    assert [i.title for i in await repo.queue(club.bot.store, club.guild_id)] == ["Rocky"]
    # Further restarts do not post it again, and nothing else is teased.
    await club.restart()
    await club.clock.advance(3600)
    await club.restart()
    await club.clock.advance(60)
    assert len(teasers(club)) == 1 and wraps(club) == []


async def test_listener_failing_is_made_good_at_the_next_start(club: Club, monkeypatch: pytest.MonkeyPatch) -> None:
    await her_then_rocky(club)
    club.fake.expect_log_error("on_screening_finished")

    async def broken(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("the disk hiccuped")

    monkeypatch.setattr(repo, "mark_watched", broken)
    await club.clock.advance_to(HER_END + timedelta(minutes=1))
    assert teasers(club) == []
    assert len(await repo.queue(club.bot.store, club.guild_id)) == 2  # the failed work was rolled back
    monkeypatch.undo()
    await club.restart()
    await club.clock.advance(5)
    assert len(teasers(club)) == 1
    assert [i.title for i in await repo.queue(club.bot.store, club.guild_id)] == ["Rocky"]


async def test_a_normal_end_is_not_handled_again_after_restart(club: Club) -> None:
    await her_then_rocky(club)
    await add(club, "Rocky II (1979)")
    await club.clock.advance_to(HER_END + timedelta(minutes=1))
    assert len(teasers(club)) == 1
    await club.restart()
    await club.clock.advance(60)
    assert len(teasers(club)) == 1
    # Rocky was not marked watched by a second handling of the Her screening.
    assert [i.title for i in await repo.queue(club.bot.store, club.guild_id)] == ["Rocky", "Rocky II"]


async def test_an_end_missed_long_ago_is_not_teased_late(club: Club, monkeypatch: pytest.MonkeyPatch) -> None:
    await her_then_rocky(club)
    drop_screening_finished(club, monkeypatch)
    await club.clock.advance_to(HER_END + timedelta(minutes=1))
    await club.stop()
    monkeypatch.undo()
    club.clock.set(HER_END + timedelta(hours=7))  # down longer than the reconcile window
    await club.start()
    await club.clock.advance(60)
    assert teasers(club) == [] and wraps(club) == []


async def test_missed_end_with_post_credits_off_only_marks_watched(
    club: Club, monkeypatch: pytest.MonkeyPatch
) -> None:
    await her_then_rocky(club)
    await run(club, club.mod, "teaser settings", post_credits=False)
    drop_screening_finished(club, monkeypatch)
    await club.clock.advance_to(HER_END + timedelta(minutes=1))
    await club.stop()
    monkeypatch.undo()
    await club.start()
    await club.clock.advance(60)
    assert teasers(club) == []
    assert [i.title for i in await repo.queue(club.bot.store, club.guild_id)] == ["Rocky"]


# --------------------------------------------------------------------------- teasers wanted again after a cancel


async def test_same_offsets_again_or_off_and_on_keep_one_teaser_each(club: Club) -> None:
    await her_then_rocky(club)
    reply = await run(club, club.mod, "teaser settings", offsets="1d, 7d")
    assert reply.ephemeral and "7 days, 1 day before" in reply.content
    assert len(await pending_teasers(club)) == 2
    await run(club, club.mod, "teaser settings", offsets="off")
    assert await pending_teasers(club) == []
    reply = await run(club, club.mod, "teaser settings", offsets="7d,1d")
    assert "Queued 2 teasers" in reply.content
    assert sorted(p.due_at for p in await pending_teasers(club)) == [
        int(SEVEN_DAYS.timestamp()), int(ONE_DAY.timestamp())
    ]
    await club.clock.advance_to(SEVEN_DAYS + timedelta(minutes=1))
    assert len(teasers(club)) == 2  # post-credits, then 7 days
    await club.clock.advance_to(ROCKY_START - timedelta(hours=1))
    assert len(teasers(club)) == 3  # and 1 day: once each


async def test_reschedule_away_and_back_keeps_the_teasers(club: Club) -> None:
    _, rocky_sid = await her_then_rocky(club)
    await run(club, club.g.admin, "screening reschedule", id=rocky_sid, when="2026-01-25 8pm")
    await run(club, club.g.admin, "screening reschedule", id=rocky_sid, when="2026-01-20 8pm")
    assert sorted(p.due_at for p in await pending_teasers(club)) == [
        int(SEVEN_DAYS.timestamp()), int(ONE_DAY.timestamp())
    ]
    await club.clock.advance_to(SEVEN_DAYS + timedelta(minutes=1))
    assert len(teasers(club)) == 2  # post-credits + 7 days
    await club.clock.advance_to(ONE_DAY + timedelta(minutes=1))
    assert len(teasers(club)) == 3


async def test_custom_teaser_survives_the_current_installment_being_watched(club: Club) -> None:
    await her_then_rocky(club)
    await run(club, club.mod, "teaser schedule", when="2026-01-08 6pm", text="Gonna fly now")
    await club.clock.advance_to(datetime(2026, 1, 8, 18, 5, tzinfo=UTC))
    (custom,) = [m for m in announced(club) if m.content == "Gonna fly now"]
    assert custom.embeds[0]["title"] == "Rocky (1976)"  # what is next when it goes out


# --------------------------------------------------------------------------- mentions never ping


async def test_mentions_in_teasers_and_titles_never_ping(club: Club) -> None:
    role = club.fake.create_role(club.g.guild, "Everyone who cares", 0, mentionable=True)
    text = f"@everyone @here <@{club.g.alice.id}> <@&{role.id}> Rocky is next!"
    await add(club, "@everyone party", year=2020, note="@here bring snacks")
    reply = await add(club, "Rocky (1976)")
    assert not reply.pings_anyone
    await run(club, club.mod, "teaser schedule", when="tomorrow 6pm", text=text)
    await club.clock.advance_to(datetime(2026, 1, 6, 18, 1, tzinfo=UTC))
    (custom,) = [m for m in announced(club) if m.content == text]
    assert not custom.pings_anyone and not custom.pings_everyone
    assert not custom.pinged_user_ids and not custom.pinged_role_ids
    await run(club, club.mod, "teaser now")
    await club.clock.advance(1)
    now = announced(club)[-1]
    assert "everyone party" in now.content and not now.pings_anyone
    listing = await run(club, club.g.alice, "installment list")
    assert not listing.pings_anyone
    added = [m for m in club.fake.bot_messages(club.g.general) if "party" in m.content]
    assert added and not any(m.pings_anyone for m in added)


# --------------------------------------------------------------------------- more bad input and edges


async def test_move_at_the_edges(club: Club) -> None:
    for film in ("Her (2013)", "Rocky (1976)", "Rocky II (1979)"):
        await add(club, film)
    her, rocky, rocky2 = await queue_ids(club)
    reply = await run(club, club.mod, "installment move", id=rocky2, position=1)
    assert "from position 3 to position 1" in reply.content
    assert await queue_ids(club) == [rocky2, her, rocky]
    reply = await run(club, club.mod, "installment move", id=rocky2, position=3)
    assert await queue_ids(club) == [her, rocky, rocky2]
    reply = await run(club, club.mod, "installment move", id=rocky, position=2)
    assert not reply.ephemeral and "already at position 2; nothing changed" in reply.content
    assert await queue_ids(club) == [her, rocky, rocky2]
    for bad in (0, -1, 4, 2**53):
        await assert_refused(club, club.mod, "installment move", "out of range", id=her, position=bad)
    await assert_refused(club, club.mod, "installment move", "no installment #999", id=999, position=1)
    await run(club, club.mod, "installment done")
    await assert_refused(club, club.mod, "installment move", "already watched", id=her, position=1)
    positions = [(i.position, i.id) for i in await repo.queue(club.bot.store, club.guild_id)]
    assert positions == [(1, rocky), (2, rocky2)]
    # A watched one can still be removed (from the watched list); the queue is untouched.
    reply = await run(club, club.mod, "installment remove", id=her)
    assert "from the watched list" in reply.content
    assert await queue_ids(club) == [rocky, rocky2]


async def test_long_or_blank_input_is_refused(club: Club) -> None:
    await add(club, "Rocky (1976)")
    await assert_refused(club, club.mod, "teaser schedule", "6,000", when="tomorrow 6pm", text="y" * 6000)
    await assert_refused(club, club.mod, "teaser schedule", "Write something", when="tomorrow 6pm", text="   ")
    await assert_refused(club, club.mod, "teaser schedule", "too far ahead", when="2027-06-01 8pm", text="Too far")
    await assert_refused(club, club.mod, "teaser schedule", "couldn't read", when="whenever", text="Hi")
    await assert_refused(club, club.mod, "installment add", "under 300", film="Her (2013)", note="n" * 6000)
    await assert_refused(club, club.mod, "installment add", "film title", film="   ")
    await assert_refused(club, club.mod, "teaser settings", "Give teaser offsets", offsets="   ")
    await assert_refused(club, club.mod, "teaser settings", "between 1 minute and 30 days", offsets="60d")
    assert (await repo.get_settings(club.bot.store, club.guild_id)).offsets == "7d,1d"
    # Exactly 2,000 characters is fine, and goes out whole.
    reply = await run(club, club.mod, "teaser schedule", when="tomorrow 6pm", text="z" * 2000)
    assert reply.ephemeral and "Scheduled" in reply.content
    await club.clock.advance_to(datetime(2026, 1, 6, 18, 1, tzinfo=UTC))
    assert [len(m.content) for m in announced(club)] == [2000]


async def test_teasers_refused_when_the_bot_cannot_post_in_announcements(club: Club) -> None:
    from tests.fakediscord.permissions import P

    await add(club, "Rocky (1976)")
    club.fake.set_overwrites(club.g.announcements, [club.fake.overwrite(club.g.bot_role, deny=P.EMBED_LINKS)])
    await club.fake.settle()
    await assert_refused(club, club.mod, "teaser now", "I need Embed Links")
    await assert_refused(club, club.mod, "teaser schedule", "I need Embed Links", when="tomorrow 6pm", text="Hi")
    club.fake.delete_channel(club.g.announcements)
    await club.fake.settle()
    await assert_refused(club, club.mod, "teaser now", "can't find the announcements channel")
    await club.clock.advance(60)
    assert announced(club) == []


async def test_a_long_queue_pages_within_discords_limits(club: Club) -> None:
    for n in range(30):
        await add(club, f"Home Movie {n}", year=2000 + n, note="📼 " + "long note " * 28)
    reply = await run(club, club.g.alice, "installment list")
    assert not reply.ephemeral
    assert reply.embeds[0]["title"].startswith("The queue (1/")
    assert all(len(e.get("description", "")) <= 4096 for e in reply.embeds)
    assert {b["label"] for b in reply.buttons()} >= {"◀ Previous", "Next ▶"}
    first_page = reply.embeds[0]["description"]
    assert "Home Movie 0" in first_page and "Home Movie 29" not in first_page
    click = await club.fake.click(club.g.alice, reply, "Next ▶")
    await click.response()
    assert "(2/" in reply.embeds[0]["title"]


@pytest.mark.process
async def test_sigkill_just_after_a_teaser_is_posted_does_not_post_it_twice(
    fake: FakeDiscord, bot_process: Any, tmp_path: Path
) -> None:
    """A real SIGKILL while Discord answers the teaser's send: it exists, the bot never recorded it."""
    g, proc, db_path, key = await process_with_custom_teaser(
        fake, bot_process, tmp_path, "2", "Eye of the tiger.", 3
    )

    def mine(m: Message) -> bool:
        return m.content == "Eye of the tiger."

    fake.after_request("POST", rf"/channels/{g.announcements.id}/messages$", lambda call: proc.kill())
    await proc.start(commands=False)
    await fake.wait_until(lambda: not proc.running, timeout=15, what="the bot to be killed mid-send")
    assert len([m for m in fake.messages_in(g.announcements) if mine(m)]) == 1
    post = await read_post(db_path, key)
    assert post is not None and post.status == "sending"  # posted, never marked
    await proc.start(commands=False)
    await fake.wait_until(
        lambda: len(fake.calls("POST", rf"/channels/{g.announcements.id}/messages$")) >= 2,
        timeout=15, what="the resend after restart",
    )
    await asyncio.sleep(1.0)
    await proc.stop()
    sent = [m for m in fake.messages_in(g.announcements) if mine(m)]
    assert len(sent) == 1 and sent[0].embeds[0]["title"] == "Rocky (1976)"
    post = await read_post(db_path, key)
    assert post is not None and post.status == "sent" and post.message_id == sent[0].id


async def test_cancelling_a_screening_hands_the_installment_to_another_of_its_film(club: Club) -> None:
    _, rocky_sid = await her_then_rocky(club)
    later_sid = await schedule_screening(club, "Rocky (1976)", "2026-01-27 8pm")
    rocky = (await repo.queue(club.bot.store, club.guild_id))[1]
    assert rocky.screening_id == rocky_sid  # the first screening of the film holds the link
    await run(club, club.g.admin, "screening cancel", id=rocky_sid)
    rocky = (await repo.queue(club.bot.store, club.guild_id))[1]
    assert rocky.screening_id == later_sid
    later = datetime(2026, 1, 27, 20, 0, tzinfo=UTC)
    assert sorted(p.due_at for p in await pending_teasers(club)) == [
        int((later - timedelta(days=7)).timestamp()), int((later - timedelta(days=1)).timestamp())
    ]
    await club.clock.advance_to(later - timedelta(hours=1))
    assert len(teasers(club)) == 3  # post-credits after Her, then 7 days and 1 day before the 27th
    assert teasers(club)[-1].embeds[0]["fields"][-1]["value"].startswith(f"<t:{int(later.timestamp())}:F>")


async def test_id_autocomplete_offers_only_this_servers_queue(club: Club) -> None:
    await add(club, "Her (2013)")
    await add(club, "Rocky (1976)")
    other = await repo.add(
        club.bot.store, guild_id=club.guild_id + 1, film_key="rocky-1976", title="Rocky", year=1976, runtime=120,
        note=None, position=1, added_by=1, now=club.bot.now_ts(),
    )
    choices = await club.fake.autocomplete(club.mod, club.g.general, "installment remove", "id", "")
    ids = await queue_ids(club)
    assert [c["value"] for c in choices] == ids and other.id not in ids
    assert choices[1]["name"] == f"#{ids[1]} · 2. Rocky (1976)"
    narrowed = await club.fake.autocomplete(club.mod, club.g.general, "installment move", "id", "rock", position=1)
    assert [c["value"] for c in narrowed] == [ids[1]]


async def test_commands_work_from_a_thread_and_teasers_still_go_to_announcements(club: Club) -> None:
    thread = club.fake.create_thread(club.g.alice, club.g.general, "what next?")
    await club.fake.join_thread(club.mod, thread)
    added = await (await club.fake.slash(club.mod, thread, "installment add", film="Rocky (1976)")).reply()
    assert not added.ephemeral and added.channel_id == thread.id
    reply = await (await club.fake.slash(club.mod, thread, "teaser now")).reply()
    assert reply.ephemeral and f"<#{club.g.announcements.id}>" in reply.content
    await club.clock.advance(1)
    assert len(teasers(club)) == 1
    assert [m for m in club.fake.bot_messages(thread) if not m.ephemeral] == [added]


async def test_custom_teasers_waiting_per_server_are_capped(club: Club) -> None:
    from bot.domain.installments import MAX_PENDING_CUSTOM

    await run(club, club.mod, "installment add", film="Rocky (1976)")
    for n in range(MAX_PENDING_CUSTOM):
        reply = await run(club, club.mod, "teaser schedule", when=f"in {n + 2} hours", text=f"Teaser {n}")
        assert reply.ephemeral and "Scheduled a custom teaser" in reply.content, reply.content
    await assert_refused(
        club, club.mod, "teaser schedule", f"already has {MAX_PENDING_CUSTOM} custom teasers waiting",
        when="tomorrow 6pm", text="One too many",
    )
    # Taking one back makes room again.
    [first] = [p for p in await pending_teasers(club) if p.payload.get("text") == "Teaser 0"]
    cancelled = await run(club, club.mod, "schedule cancel", id=first.id)
    assert cancelled.ephemeral
    reply = await run(club, club.mod, "teaser schedule", when="tomorrow 6pm", text="Room again")
    assert "Scheduled a custom teaser" in reply.content, reply.content
