"""Moving a populated club with ``python -m bot migrate-store``: the bot answers the same afterwards.

A club is built end to end through the fake Discord (screenings with RSVPs, two award polls voted to results, one
a tie, a trivia game, Basil's Corner with a photo), the bot is stopped, and the database is moved with the real
command in a subprocess, SQLite -> PostgreSQL -> SQLite. Bots started on the PostgreSQL copy and on the SQLite file
that came back give the same answers to ``/screening list``, ``/award history``, ``/trivia leaderboard`` and
``/basil wall``, and both moves report the same rows in every table.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import pg
from tests.e2e.conftest import Club
from tests.e2e.test_awards import open_poll, results_posts, voters
from tests.e2e.test_basil import PNG, memorial
from tests.e2e.test_trivia import GAP, PACKS, questions, right_label, start
from tests.fakediscord.models import Message

ROOT = Path(__file__).resolve().parents[2]
HOUR = 3600
PHOTO = PNG + bytes(range(256)) * 4  # every byte value survives both moves


@pytest.fixture
def db_backend() -> str:
    """The club starts on SQLite whatever FILMCLUB_TEST_BACKEND says: the move starts from its file."""
    return "sqlite"


async def migrate_store(source: str, target: str) -> tuple[int, str, str]:
    """Run ``python -m bot migrate-store`` as the operator would, without blocking the fake's loop."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "migrate-store", "--from", source, "--to", target,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def counts_of(output: str) -> dict[str, tuple[int, int]]:
    """The per-table check the command printed."""
    found: dict[str, tuple[int, int]] = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].replace(",", "").isdigit():
            found[parts[0]] = (int(parts[1].replace(",", "")), int(parts[2].replace(",", "")))
    return found


async def populate(club: Club) -> None:
    fake, g = club.fake, club.g
    # Screenings with RSVPs.
    for film, when in (("Her (2013)", "tomorrow 8pm"), ("Rocky (1976)", "fri 8pm"), ("Rocky (1976)", "in 3 days")):
        handle = await club.slash(g.admin, g.general, "screening schedule", film=film, when=when)
        assert (await handle.reply()).ephemeral
    await fake.settle()
    announcements = [m for m in fake.bot_messages(g.screenings) if m.buttons()]
    assert len(announcements) == 3
    for member, answer in ((g.alice, "Going"), (g.bob, "Maybe"), (g.carol, "Can't")):
        for ann in announcements[:2]:
            await (await fake.click(member, ann, answer)).reply()

    # An award poll voted to its results, then a tie and its runoff.
    msg, _ = await open_poll(club, category="Best Beverage", nominees="Coke; Lemonade; Tea")
    for i, member in enumerate(voters(club, 7)):
        await fake.react(member, msg, ("1️⃣", "2️⃣", "3️⃣")[i % 3])
    tie, _ = await open_poll(club, category="Crunchiest Cameo", nominees="Nachos; Popcorn")
    await fake.react(g.alice, tie, "1️⃣")
    await fake.react(g.bob, tie, "2️⃣")
    await club.clock.advance(2 * HOUR + 5)
    assert len(results_posts(club)) == 2

    # Trivia: one game of three questions, two members scoring.
    her = PACKS["her"]
    await start(club, g.alice, club.trivia, pack="her", rounds=3)
    for number in (1, 2, 3):
        q = questions(club, club.trivia)[-1]
        await (await fake.click(g.alice, q, right_label(q, her))).reply()
        await club.clock.advance(5)
        await (await fake.click(g.bob, q, right_label(q, her))).reply()
        await club.clock.advance(20 + GAP)
        assert len(questions(club, club.trivia)) == min(number + 1, 3)

    # Basil's Corner: a memorial with a photo (a BLOB) and one without.
    photo = fake.attachment("basil.png", PHOTO, "image/png")
    await (await memorial(club, g.alice, "Basil", species="cat", passed="2025-05-01", photo=photo)).reply()
    await (await memorial(club, g.bob, "Mochi", species="dog", born="2012-03-14")).reply()
    await fake.settle()


def shown(message: Message) -> dict[str, Any]:
    """What a member sees of an answer."""
    return {"content": message.content, "embeds": message.embeds, "components": message.components,
            "ephemeral": message.ephemeral, "files": [(a.filename, a.data) for a in message.attachments]}


async def answers(club: Club) -> dict[str, dict[str, Any]]:
    g = club.g
    asked = {
        "screening list": ("screening list", {}),
        "award history": ("award history", {}),
        "trivia leaderboard": ("trivia leaderboard", {}),
        "trivia leaderboard her": ("trivia leaderboard", {"pack": "her"}),
        "basil wall": ("basil wall", {}),
        "basil remember": ("basil remember", {"name": "Basil"}),
    }
    out = {}
    for label, (command, options) in asked.items():
        out[label] = shown(await (await club.slash(g.carol, g.general, command, **options)).reply())
    return out


async def test_a_club_moved_and_moved_back_answers_the_same(club: Club, tmp_path: Path) -> None:
    await populate(club)
    before = await answers(club)
    # They are real answers, not empty ones.
    assert "Her (2013)" in str(before["screening list"]) and "Rocky (1976)" in str(before["screening list"])
    assert "Best Beverage" in str(before["award history"]) and "Crunchiest Cameo" in str(before["award history"])
    assert f"<@{club.g.alice.user.id}>" in str(before["trivia leaderboard her"])
    assert "Basil" in str(before["basil wall"]) and "Mochi" in str(before["basil wall"])
    assert before["basil remember"]["files"] == [("memorial.png", PHOTO)]
    await club.fake.settle()
    await club.stop()

    original = club.config.db_path
    pg_url = await pg.empty_database()
    back = tmp_path / "moved" / "back.db"
    try:
        code, out, err = await migrate_store(str(original), pg_url)
        assert code == 0, err
        assert pg.PASSWORD not in out + err
        there = counts_of(out)
        assert there["screening_rsvps"] == (6, 6) and there["basil_photos"] == (1, 1)
        assert there["award_ballots"][1] >= 9 and there["trivia_scores"][1] == 2
        assert all(s == t for s, t in there.values()) and "every count matches" in out

        code, out, err = await migrate_store(pg_url, str(back))
        assert code == 0, err
        assert counts_of(out) == there  # the same rows in every table after the round trip

        # A bot on the PostgreSQL copy, then one on the SQLite file that came back, answer as before.
        await club.start(db_url=pg_url)
        assert await answers(club) == before
        await club.fake.settle()
        await club.stop()
        await club.start(db_url=None, db_path=back)
        assert await answers(club) == before
        await club.fake.settle()
        await club.stop()
    finally:
        await pg.drop_database(pg_url)
