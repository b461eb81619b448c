"""`/filmclub calendar` and `/filmclub web` end to end through the fake Discord, and the feeds they hand out
following a screening through schedule -> reschedule -> cancel (read with aiohttp's test client)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from urllib.parse import unquote, urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from icalendar import Calendar

from cogs.web.cog import Web
from cogs.web.server import RateLimiter
from db import web as web_repo
from tests.e2e.conftest import Club

LINK = re.compile(r"<((?:https?|webcal)://[^>]+)>")


@pytest.fixture
async def webclub(club: Club) -> AsyncIterator[tuple[Club, TestClient]]:  # type: ignore[type-arg]
    await club.restart(web_port=0)  # the system picks a free port on 127.0.0.1
    cog = web_cog(club)
    assert club.bot.web.server is not None and club.bot.web.server.port > 0
    client = TestClient(TestServer(cog.new_webapp(RateLimiter(rate=1000, burst=1000)).app))
    await client.start_server()
    try:
        yield club, client
    finally:
        await client.close()


def web_cog(club: Club) -> Web:
    """The loaded cog (a restart imports the extension again, so its class is not this module's ``Web``)."""
    cog = club.bot.get_cog("Web")
    assert cog is not None and type(cog).__name__ == "Web"
    return cog  # type: ignore[return-value]


def path_of(url: str) -> str:
    """The path of a link the bot handed out (http://127.0.0.1:PORT/..., or its webcal:// form)."""
    return urlsplit(url.replace("webcal://", "http://", 1)).path


async def slash_text(club: Club, who: object, command: str, **options: object) -> tuple[str, bool]:
    reply = await (await club.slash(who, club.g.general, command, **options)).reply()  # type: ignore[arg-type]
    assert not reply.pings_anyone
    return reply.content, reply.ephemeral


async def test_commands_say_so_when_the_web_server_is_not_configured(club: Club) -> None:
    for who, command in ((club.g.alice, "filmclub calendar"), (club.g.admin, "filmclub web")):
        text, ephemeral = await slash_text(club, who, command)
        assert ephemeral and "FILMCLUB_WEB_PORT" in text and "Nothing was changed" in text
    assert not club.bot.web.running and web_cog(club).service is club.bot.web
    assert not (club.config.db_path.with_name(club.config.db_path.name + ".webkey")).exists()  # no key file made


async def test_web_switch_link_rotation_and_refusal(webclub: tuple[Club, TestClient]) -> None:  # type: ignore[type-arg]
    club, client = webclub
    g = club.g
    text, ephemeral = await slash_text(club, g.alice, "filmclub calendar")
    assert ephemeral and "off" in text and "Ask a moderator" in text

    text, ephemeral = await slash_text(club, g.alice, "filmclub web", action="on")
    assert ephemeral and "Only moderators" in text
    assert await club.bot.web.site(club.guild_id) is None

    text, ephemeral = await slash_text(club, club.mod, "filmclub web")  # show: off, nothing made
    assert ephemeral and "**off**" in text

    text, ephemeral = await slash_text(club, club.mod, "filmclub web", action="on")
    assert ephemeral and "Turned on" in text and "**on**" in text
    [page] = LINK.findall(text)
    assert page.startswith("http://127.0.0.1:") and re.search(r"/c/[A-Za-z0-9_-]{32}/$", page)
    home = await client.get(path_of(page))
    assert home.status == 200 and "Next screenings" in await home.text()

    text, _ = await slash_text(club, g.alice, "filmclub calendar")
    feed_webcal, google, personal_webcal, personal = LINK.findall(text)
    assert feed_webcal.startswith("webcal://127.0.0.1:") and feed_webcal.endswith("/screenings.ics")
    assert google.startswith("https://calendar.google.com/calendar/render?cid=")
    assert unquote(google.split("cid=", 1)[1]) == feed_webcal
    assert personal_webcal == "webcal://" + personal.split("://", 1)[1] and "/m/" in personal
    assert (await client.get(path_of(feed_webcal))).status == 200
    assert (await client.get(path_of(personal))).status == 200
    text, _ = await slash_text(club, g.alice, "filmclub calendar")
    assert LINK.findall(text)[3] == personal  # the same personal link when asked again
    text, _ = await slash_text(club, g.bob, "filmclub calendar")
    assert LINK.findall(text)[3] != personal  # each member has their own

    text, _ = await slash_text(club, g.alice, "filmclub web", action="rotate")
    assert "Only moderators" in text
    text, ephemeral = await slash_text(club, club.mod, "filmclub web", action="rotate")
    assert ephemeral and "New link" in text
    [new_page] = LINK.findall(text)
    assert new_page != page
    for old in (page, feed_webcal, personal):
        assert (await client.get(path_of(old))).status == 404
    assert (await client.get(path_of(new_page))).status == 200

    text, _ = await slash_text(club, g.admin, "filmclub web", action="off")  # Manage Server counts too
    assert "Turned off" in text and "**off**" in text
    assert (await client.get(path_of(new_page))).status == 404
    text, _ = await slash_text(club, g.alice, "filmclub calendar")
    assert "off" in text and not LINK.findall(text)


async def test_feed_follows_schedule_reschedule_cancel(webclub: tuple[Club, TestClient]) -> None:  # type: ignore[type-arg]
    club, client = webclub
    g, fake = club.g, club.fake
    await slash_text(club, club.mod, "filmclub web", action="on")
    text, _ = await slash_text(club, g.alice, "filmclub calendar")
    feed_url, _, _, alice_feed = LINK.findall(text)
    bob_feed = LINK.findall((await slash_text(club, g.bob, "filmclub calendar"))[0])[3]
    carol_feed = LINK.findall((await slash_text(club, g.carol, "filmclub calendar"))[0])[3]

    async def read(url: str) -> list[dict[str, object]]:
        response = await client.get(path_of(url))
        assert response.status == 200
        cal = Calendar.from_ical(await response.read())
        assert cal.get("PRODID") and str(cal["VERSION"]) == "2.0"
        found = []
        for event in cal.walk("VEVENT"):
            for prop in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "SEQUENCE", "STATUS", "LAST-MODIFIED"):
                assert event.get(prop) is not None, prop
            found.append({"uid": str(event["UID"]), "seq": int(event["SEQUENCE"]), "status": str(event["STATUS"]),
                          "start": event.decoded("DTSTART"), "modified": event.decoded("LAST-MODIFIED"),
                          "summary": str(event["SUMMARY"]), "url": str(event.get("URL", ""))})
        return found

    assert await read(feed_url) == []
    reply = await (await club.slash(g.admin, g.general, "screening schedule", film="Her (2013)",
                                    when="tomorrow 8pm")).reply()
    assert "Scheduled" in reply.content
    [first] = await read(feed_url)
    assert first["uid"].endswith("@filmclub") and first["status"] == "CONFIRMED"
    # The same UID as the file `/screening ics` gives: a calendar that imported it is updated by the feed.
    single = await (await club.slash(g.alice, g.general, "screening ics", id=1)).reply()
    [vevent] = list(Calendar.from_ical(single.attachments[0].data).walk("VEVENT"))
    assert str(vevent["UID"]) == first["uid"]
    assert first["summary"] == "Watch party: Her (2013)" and "discord.com/channels/" in first["url"]
    announcement = next(m for m in fake.bot_messages(g.screenings) if m.buttons())
    await (await fake.click(g.alice, announcement, "Going")).reply()
    await (await fake.click(g.carol, announcement, "Maybe")).reply()
    await (await fake.click(g.bob, announcement, "Can't")).reply()
    assert [e["uid"] for e in await read(alice_feed)] == [first["uid"]]
    assert [e["uid"] for e in await read(carol_feed)] == [first["uid"]]
    assert await read(bob_feed) == []

    etag = (await client.get(path_of(feed_url))).headers["ETag"]
    assert (await client.get(path_of(feed_url), headers={"If-None-Match": etag})).status == 304

    await club.clock.advance(300)
    reply = await (await club.slash(g.admin, g.general, "screening reschedule", id=1, when="wed 21:00")).reply()
    assert "Moved" in reply.content
    [moved] = await read(feed_url)
    assert moved["uid"] == first["uid"] and moved["seq"] > first["seq"]  # type: ignore[operator]
    assert moved["start"] != first["start"] and moved["modified"] > first["modified"]  # type: ignore[operator]
    assert (await client.get(path_of(feed_url), headers={"If-None-Match": etag})).status == 200
    [mine] = await read(alice_feed)
    assert mine["seq"] == moved["seq"] and mine["start"] == moved["start"]

    await club.clock.advance(300)
    reply = await (await club.slash(g.admin, g.general, "screening cancel", id=1, reason="<b>Projector</b>")).reply()
    assert "Cancelled" in reply.content
    [cancelled] = await read(feed_url)
    assert cancelled["uid"] == first["uid"] and cancelled["status"] == "CANCELLED"
    assert cancelled["seq"] > moved["seq"]  # type: ignore[operator]
    assert [e["status"] for e in await read(alice_feed)] == ["CANCELLED"]  # her calendar strikes it out too

    home = await (await client.get(path_of(feed_url).replace("screenings.ics", ""))).text()
    assert "No screening is scheduled yet" in home


async def test_names_seen_in_interactions_show_on_pages(webclub: tuple[Club, TestClient]) -> None:  # type: ignore[type-arg]
    club, _ = webclub
    g = club.g
    await slash_text(club, g.alice, "filmclub calendar")  # pages off: her name is not kept
    assert await web_repo.names(club.bot.store, club.guild_id, [g.alice.user.id]) == {}
    await slash_text(club, club.mod, "filmclub web", action="on")
    await slash_text(club, g.alice, "filmclub calendar")
    # The listener runs beside the command (discord.py dispatches it as its own task): wait for its write.
    for _ in range(200):
        if await web_repo.names(club.bot.store, club.guild_id, [g.alice.user.id]):
            break
        await asyncio.sleep(0.005)
    assert await web_repo.names(club.bot.store, club.guild_id, [g.alice.user.id]) == {
        g.alice.user.id: g.alice.display_name
    }
    rest_before = len(club.fake.rest_log)
    assert await club.bot.web.names(club.guild_id, [g.alice.user.id, 123]) == {g.alice.user.id: g.alice.display_name}
    assert len(club.fake.rest_log) == rest_before  # names never cost a REST call
