"""The shared paginator: owner-only paging, and a clear answer once its pages are gone."""

from __future__ import annotations

import discord

from bot.ui import Paginator
from tests.e2e.conftest import Club


async def post_pages(club: Club) -> object:
    pages = [discord.Embed(title=f"Page {i + 1}") for i in range(3)]
    channel = club.bot.get_channel(club.g.general.id)
    assert isinstance(channel, discord.TextChannel)
    await channel.send(embed=pages[0], view=Paginator(pages, owner_id=club.g.alice.user.id))
    return await club.fake.wait_for_message(club.g.general, lambda m: bool(m.embeds))


async def test_pages_turn_for_the_owner_only(club: Club) -> None:
    message = await post_pages(club)
    turned = await (await club.fake.click(club.g.alice, message, "Next ▶")).reply()
    assert turned.embeds[0]["title"] == "Page 2"  # type: ignore[attr-defined]
    refused = await (await club.fake.click(club.g.bob, message, "Next ▶")).reply()
    assert refused.ephemeral and "run it yourself" in refused.content
    assert message.embeds[0]["title"] == "Page 2"  # type: ignore[attr-defined]


async def test_after_a_restart_a_click_says_the_pages_expired(club: Club) -> None:
    message = await post_pages(club)
    await club.restart()
    reply = await (await club.fake.click(club.g.alice, message, "Next ▶")).reply()
    assert reply.ephemeral and "expired" in reply.content
    assert message.embeds[0]["title"] == "Page 1"  # type: ignore[attr-defined]
