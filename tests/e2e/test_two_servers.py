"""Issue 23's limits and checks, with two servers: each server's limits are its own, one server's moderator
cannot reach the other's polls, and the same member is a separate member in each server."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Club
from tests.e2e.test_basil import memorial
from tests.e2e.test_trivia import start


async def reply_of(club: Club, who: Any, channel: Any, command: str, **options: Any) -> Any:
    return await (await club.fake.slash(who, channel, command, **options)).reply()


async def test_limits_and_checks_are_per_server(club: Club) -> None:
    fake, a = club.fake, club.g
    b = fake.standard_guild("Someone Else's Server")
    b_basil = fake.create_channel(b.guild, "basils-corner")
    alice_in_b = fake.add_member(b.guild, a.alice.user, [b.member_role])
    await club.restart(dev_guild=None)  # global commands: the bot serves both servers
    done = await reply_of(club, b.admin, b.general, "filmclub setup", announcements=b.announcements, basil=b_basil)
    assert done.ephemeral, done.content

    # Trivia: server A is full (three games), server B is not; Alice's game in A does not count in B.
    for who, channel in ((a.alice, club.trivia), (a.bob, a.general), (a.carol, a.screenings)):
        await start(club, who, channel, pack="her", rounds=5)
    full = await reply_of(club, a.admin, club.polls, "trivia start", pack="rocky")
    assert full.ephemeral and "already has 3 trivia games running" in full.content
    in_b = await reply_of(club, alice_in_b, b.general, "trivia start", pack="rocky", rounds=5)
    assert not in_b.ephemeral and "Trivia" in in_b.text()
    # B's read-only announcements: B's members cannot make the bot post there either.
    refused = await reply_of(club, b.bob, b.announcements, "trivia start", pack="her")
    assert refused.ephemeral and "You can't post in this channel" in refused.content

    # Memorials: three a day per member per server; the same person in B is not limited by A.
    for name in ("Ada", "Bo", "Cy"):
        await (await memorial(club, a.alice, name)).reply()
    h = await club.slash(a.alice, a.general, "basil memorial", name="Dot")
    assert "3 memorials in the last day" in (await h.reply()).content
    h = await club.fake.slash(alice_in_b, b.general, "basil memorial", name="Dot")
    await h.wait_modal()
    shared = await (await fake.submit_modal(alice_in_b, h, {"Their story": "Loved the sun."})).reply()
    assert "Basil's Corner" in shared.content, shared.content

    # Polls: B's moderator cannot cancel or reopen A's poll by its number.
    opened = await reply_of(club, club.mod, a.general, "award open", category="Best Crunch",
                            nominees="Nachos; Popcorn", closes="in 2 days")
    poll_id = int(opened.content.split("#", 1)[1].split(" ", 1)[0])
    for command in ("award cancel", "award reopen"):
        other = await reply_of(club, b.admin, b.general, command, id=poll_id)
        assert other.ephemeral and f"no award poll #{poll_id} on this server" in other.content
    assert not [m for m in fake.bot_messages(b.general) if not m.ephemeral and "Cancel poll" in m.content]
