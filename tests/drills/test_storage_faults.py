"""Storage faults drill: a read-only or full disk gives clear errors, the bot keeps running, and recovers.

* Read-only: ``PRAGMA query_only`` on the bot's own connection makes every write fail the way a read-only
  file does (``attempt to write a readonly database``).
* Full: the store's statement runner raises ``sqlite3.OperationalError("database or disk is full")`` for every
  write, as SQLite does when the disk fills up.

Members and moderators get the plain "I can't save anything right now" answer (never "Something went
wrong"), nothing is half-written (no poll post without its poll), reading commands keep working, votes cast
during the outage still count at close (the reactions are on the post), a post falling due during the outage
goes out once the disk recovers, and the same commands work again afterwards.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

import db.store
from bot.domain.awards import KEYCAPS
from db import awards as awards_repo
from db import screenings as screenings_repo
from tests.e2e.conftest import Club
from tests.fakediscord.models import Message

STORAGE = "I can't save anything right now"


class Disk:
    """Makes the store's writes fail like a full disk while ``full`` is set."""

    def __init__(self) -> None:
        self.full = False
        self.refused = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # Every statement of the writer goes through Tx (the store's own execute wraps one); UPDATE ... RETURNING
        # reads rows too, so fetches of statements that write are refused as well.
        for name in ("execute", "fetchall", "executemany"):
            monkeypatch.setattr(db.store.Tx, name, self._guard(getattr(db.store.Tx, name)))

    def _guard(self, run: Any) -> Any:
        async def guarded(tx: Any, sql: str, params: Any = ()) -> Any:
            if self.full and not sql.lstrip().upper().startswith(("SELECT", "PRAGMA")):
                self.refused += 1
                raise db.store._storage_error(sqlite3.OperationalError("database or disk is full"))
            return await run(tx, sql, params)

        return guarded


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[Disk]:
    d = Disk()
    d.install(monkeypatch)
    yield d


async def read_only(club: Club, on: bool) -> None:
    await club.bot.store.conn.execute(f"PRAGMA query_only = {1 if on else 0}")


async def reply_of(club: Club, who: Any, command: str, **options: Any) -> Message:
    h = await club.fake.slash(who, club.g.general, command, **options)
    return await h.reply(timeout=10)


async def open_poll(club: Club) -> Message:
    return await reply_of(club, club.mod, "award open", category="Best Outage Snack",
                          nominees="Popcorn; Nachos; Pretzels", closes="in 2 hours")


def poll_posts(club: Club) -> list[Message]:
    return [m for m in club.fake.bot_messages(club.polls) if m.embeds and "Award poll #" in m.text()]


@pytest.mark.fakediscord_allow_errors  # the store logs its refused writes at ERROR, as it should
@pytest.mark.parametrize("fault", ["read-only", "full"])
async def test_commands_get_a_clear_error_and_work_again_after(club: Club, disk: Disk, fault: str) -> None:
    if fault == "read-only":
        await read_only(club, True)
    else:
        disk.full = True
    # A moderator's write, a member's write: the plain storage answer, privately; nothing half-written.
    reply = await open_poll(club)
    assert reply.ephemeral and STORAGE in reply.content, reply.content
    assert poll_posts(club) == []
    mine = await reply_of(club, club.g.alice, "remind me", offsets="2h")
    assert mine.ephemeral and STORAGE in mine.content, mine.content
    # The bot keeps running: reading commands answer as usual.
    about = await reply_of(club, club.g.alice, "filmclub about")
    assert about.embeds and about.embeds[0]["title"] == "filmclub"
    listing = await reply_of(club, club.g.alice, "screening list")
    assert "Something went wrong" not in listing.text()
    # The disk recovers: the same commands work.
    if fault == "read-only":
        await read_only(club, False)
    else:
        disk.full = False
    reply = await open_poll(club)
    assert re.search(r"Poll #\d+ is open", reply.content), reply.content
    await club.fake.settle()
    assert len(poll_posts(club)) == 1
    mine = await reply_of(club, club.g.alice, "remind me", offsets="2h")
    assert STORAGE not in mine.content
    assert await screenings_repo.get_reminder_pref(club.bot.store, club.guild_id, club.g.alice.user.id) is not None
    if fault == "full":
        assert disk.refused > 0


@pytest.mark.fakediscord_allow_errors
async def test_votes_during_a_full_disk_still_count_at_close(club: Club, disk: Disk) -> None:
    fake = club.fake
    reply = await open_poll(club)
    poll_id = int(re.search(r"Poll #(\d+)", reply.content).group(1))  # type: ignore[union-attr]
    [post] = poll_posts(club)
    await fake.wait_until(lambda: len(post.reactions) == 3, 5, "the number reactions")
    voters = [fake.add_member(club.g.guild, f"voter{i}", [club.g.member_role]) for i in range(12)]
    for i, member in enumerate(voters[:4]):
        await fake.react(member, post, KEYCAPS[i % 3])
    disk.full = True
    for i, member in enumerate(voters[4:], start=4):
        await fake.react(member, post, KEYCAPS[i % 3])
    await fake.settle()
    # Status while the disk is full: a clear answer, not a crash.
    status = await reply_of(club, club.mod, "award status", id=poll_id)
    assert "Something went wrong" not in status.text()
    disk.full = False
    closed = await reply_of(club, club.mod, "award close", id=poll_id)
    assert "Something went wrong" not in closed.text()
    await fake.settle()
    poll = await awards_repo.get(club.bot.store, poll_id)
    assert poll is not None and poll.counts == (4, 4, 4) and poll.ballots == 12


@pytest.mark.fakediscord_allow_errors
async def test_a_post_due_while_the_disk_is_full_goes_out_once_it_recovers(club: Club, disk: Disk) -> None:
    due = datetime.fromtimestamp(club.clock.now().timestamp() + 60, UTC)
    await club.bot.scheduler.schedule(guild_id=club.guild_id, kind="message", key="disk:1", due=due,
                                      channel_id=int(club.g.announcements.id), payload={"content": "still here"})
    disk.full = True
    await club.clock.advance(61)
    await club.clock.advance(30)  # the scheduler retries its claim a few times, and keeps failing
    assert [m for m in club.fake.bot_messages(club.g.announcements) if m.content == "still here"] == []
    disk.full = False
    await club.clock.advance(30)
    sent = [m for m in club.fake.bot_messages(club.g.announcements) if m.content == "still here"]
    assert len(sent) == 1
    await club.restart()  # the sent mark was stored: nothing goes out again
    await club.clock.advance(60)
    assert len([m for m in club.fake.bot_messages(club.g.announcements) if m.content == "still here"]) == 1
