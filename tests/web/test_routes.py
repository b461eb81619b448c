"""Every route of the web pages and feeds through aiohttp's test client, over a real store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import html5lib
import pytest
from aiohttp.test_utils import TestClient, TestServer
from icalendar import Calendar
from multidict import CIMultiDictProxy

from cogs.web.server import RateLimiter, WebApp
from cogs.web.service import WebKeys
from db import screenings as screenings_repo
from db import web as web_repo
from tests.web.conftest import GUILD, OTHER_GUILD, Web, make_service
from tests.web.seed import ALICE, BOB, CAROL, MOD

PAGES = ("", "spreadsheet", "ratings", "awards", "basil", "newsletters")


def routes(web: Web) -> list[str]:
    s = web.seeded
    return [*PAGES, "ratings.png", "spreadsheet.png", f"awards/{s.poll_id}.png", f"basil/{s.memorial_id}/photo",
            f"newsletters/{s.newsletter_id}", "screenings.ics"]


async def get(web: Web, path: str, **headers: str) -> tuple[int, bytes, CIMultiDictProxy[str]]:
    response = await web.client.get(path, headers=headers)
    return response.status, await response.read(), response.headers


async def test_every_route_answers_with_the_right_token(web: Web) -> None:
    kinds = {"screenings.ics": "text/calendar"}
    for path in routes(web):
        status, body, headers = await get(web, web.base + path)
        assert status == 200, path
        assert body, path
        want = kinds.get(path, "image/png" if path.endswith(("png", "photo")) else "text/html")
        assert headers["Content-Type"].startswith(want), path
        assert headers["Referrer-Policy"] == "no-referrer"
        assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none' covers scripts
        assert headers["ETag"].startswith('"')
    status, body, _ = await get(web, await web.personal(ALICE))
    assert status == 200 and body.startswith(b"BEGIN:VCALENDAR")


async def test_wrong_token_is_404_with_no_hint(web: Web) -> None:
    _, nothing, _ = await get(web, "/nothing-here")
    wrong = "A" * 32
    for path in routes(web):
        for token in (wrong, web.token[:-1], web.token + "x", "../" + web.token):
            status, body, headers = await get(web, f"/c/{token}/{path}")
            assert status == 404, (token, path)
            assert body == nothing == b"Not found\n"
            assert "ETag" not in headers and "aiohttp" not in body.decode().lower()
    for path in ("/m/" + wrong + ".ics", "/m/.ics", f"/m/{web.token}.ics"):  # a server token is no personal token
        assert (await get(web, path))[0] == 404


async def test_a_server_token_never_reaches_another_servers_rows(web: Web) -> None:
    other_poll, other_memorial = web.seeded.poll_id + 1, web.seeded.memorial_id + 1
    assert (await get(web, web.base + f"awards/{other_poll}.png"))[0] == 404
    assert (await get(web, web.base + f"basil/{other_memorial}/photo"))[0] == 404
    assert (await get(web, web.base + f"newsletters/{web.seeded.newsletter_id + 1}"))[0] == 404
    other = await web.service.site(OTHER_GUILD)
    assert other is not None
    _, body, _ = await get(web, f"/c/{web.service.site_token(other)}/")
    assert b"Thursday Film Club" in body and b"Kim" not in body.split(b"<main>")[0]


async def test_rotated_token_and_pages_off_are_404_everywhere(web: Web) -> None:
    personal = await web.personal(ALICE)
    await get(web, web.base)  # cached under the old token
    site = await web.service.rotate(GUILD, MOD)
    for path in routes(web):
        assert (await get(web, web.base + path))[0] == 404, path
    assert (await get(web, personal))[0] == 404  # personal links were derived from the old token
    new_base = f"/c/{web.service.site_token(site)}/"
    assert (await get(web, new_base))[0] == 200
    assert (await get(web, await web.personal(ALICE)))[0] == 200

    personal = await web.personal(ALICE)
    await web.service.switch(GUILD, False, MOD)
    for path in routes(web):
        assert (await get(web, new_base + path))[0] == 404, path
    assert (await get(web, personal))[0] == 404
    await web.service.switch(GUILD, True, MOD)  # on again: the same links work again
    assert (await get(web, new_base))[0] == 200
    assert (await get(web, personal))[0] == 200


async def test_tokens_are_stored_hashed_and_long(web: Web) -> None:
    site = await web.service.site(GUILD)
    assert site is not None
    token = web.service.site_token(site)
    assert len(token) == 32  # 24 bytes: 192 bits
    rows = await web.store.fetchall("SELECT * FROM web_sites")
    member = await web.personal(ALICE)
    stored = [str(v) for row in rows for v in tuple(row)]
    stored += [str(v) for row in await web.store.fetchall("SELECT * FROM web_member_tokens") for v in tuple(row)]
    assert token not in " ".join(stored) and member[3:-4] not in " ".join(stored)


async def test_hostile_text_is_escaped_on_every_page(web: Web) -> None:
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
    for path in (*PAGES, f"newsletters/{web.seeded.newsletter_id}"):
        _, body, _ = await get(web, web.base + path)
        text = body.decode()
        assert "<script" not in text.lower(), path
        if path in ("", "spreadsheet", "awards", "basil", f"newsletters/{web.seeded.newsletter_id}"):
            assert escaped in text, path
    _, body, _ = await get(web, web.base + "spreadsheet")
    assert "Bob &lt;b&gt;B&lt;/b&gt;" in body.decode()  # a display name is user text too


async def test_pages_pass_a_strict_html5_parser(web: Web) -> None:
    parser = html5lib.HTMLParser(strict=True)
    for path in (*PAGES, f"newsletters/{web.seeded.newsletter_id}"):
        _, body, _ = await get(web, web.base + path)
        document = parser.parse(body.decode())  # raises on any parse error
        assert document.find(".//{http://www.w3.org/1999/xhtml}title") is not None, path
        assert not parser.errors, (path, parser.errors)


async def test_display_names_only_never_ids(web: Web) -> None:
    _, sheet, _ = await get(web, web.base + "spreadsheet")
    _, basil, _ = await get(web, web.base + "basil")
    assert b"Alice A." in sheet and b"Remembered by Alice A." in basil
    for path in (*PAGES, "screenings.ics"):
        _, body, _ = await get(web, web.base + path)
        for user in (ALICE, BOB, CAROL, MOD):
            assert str(user).encode() not in body, (path, user)
    # A member not in Discord's cache: the name last seen in an interaction (servers with pages on only).
    web.directory.members.pop((GUILD, ALICE))
    await web.service.note_member(GUILD, ALICE, "Alice (seen)")
    await web.service.note_member(OTHER_GUILD + 1, ALICE, "never stored")
    _, sheet, _ = await get(web, web.base + "spreadsheet")
    assert b"Alice (seen)" in sheet
    rows = await web.store.fetchall("SELECT guild_id, display_name FROM web_names")
    assert [(r[0], r[1]) for r in rows] == [(GUILD, "Alice (seen)")]  # Carol was seen before pages were on


async def test_etag_gives_304_until_something_changes(web: Web) -> None:
    for path in ("screenings.ics", "", "spreadsheet", "ratings.png"):
        status, body, headers = await get(web, web.base + path)
        etag = headers["ETag"]
        status, again, headers = await get(web, web.base + path, **{"If-None-Match": etag})
        assert status == 304 and again == b"" and headers["ETag"] == etag, path
        status, _, _ = await get(web, web.base + path, **{"If-None-Match": '"other", ' + etag})
        assert status == 304
    _, _, headers = await get(web, web.base + "screenings.ics")
    etag = headers["ETag"]
    web.clock._now += timedelta(minutes=5)
    await screenings_repo.reschedule(web.store, web.seeded.next_id, int(web.clock.now().timestamp()) + 86400,
                                     int(web.clock.now().timestamp()))
    status, body, headers = await get(web, web.base + "screenings.ics", **{"If-None-Match": etag})
    assert status == 200 and headers["ETag"] != etag and body


async def test_chart_is_the_bots_png_with_caching_headers(web: Web) -> None:
    _, page, _ = await get(web, web.base + "ratings")
    status, png, headers = await get(web, web.base + "ratings.png")
    assert png.startswith(b"\x89PNG") and "max-age" in headers["Cache-Control"]
    assert headers["ETag"].strip('"').encode() in page  # the page links this very chart version
    status, png, headers = await get(web, web.base + f"awards/{web.seeded.poll_id}.png")
    assert status == 200 and png.startswith(b"\x89PNG")


def events(body: bytes) -> dict[str, dict[str, object]]:
    cal = Calendar.from_ical(body)
    for prop in ("PRODID", "VERSION"):
        assert cal.get(prop), prop
    assert str(cal["VERSION"]) == "2.0"
    found: dict[str, dict[str, object]] = {}
    for event in cal.walk("VEVENT"):
        for prop in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "SEQUENCE", "STATUS", "LAST-MODIFIED"):
            assert event.get(prop) is not None, prop
        assert event.decoded("DTEND") > event.decoded("DTSTART")
        assert event.decoded("DTSTART").tzinfo is not None
        assert str(event["STATUS"]) in ("CONFIRMED", "CANCELLED")
        found[str(event["UID"])] = {k: event.get(k) for k in event}
    return found


async def test_server_feed_parses_and_has_every_screening(web: Web) -> None:
    _, body, _ = await get(web, web.base + "screenings.ics")
    found = events(body)
    s = web.seeded
    assert set(found) == {f"screening-{i}-{GUILD}@filmclub" for i in (s.next_id, s.later_id, s.hostile_id,
                                                                     s.finished_id)}
    her = found[f"screening-{s.next_id}-{GUILD}@filmclub"]
    assert "discord.com/channels" in str(her["URL"]) and str(her["LOCATION"]) == "Kim's living room"


async def test_personal_feed_holds_only_going_and_maybe(web: Web) -> None:
    s = web.seeded

    async def uids(user: int) -> set[int]:
        _, body, _ = await get(web, await web.personal(user))
        return {int(uid.split("-")[1]) for uid in events(body)}

    assert await uids(ALICE) == {s.next_id, s.hostile_id}  # going, maybe (not "can't", not unanswered)
    assert await uids(BOB) == {s.next_id, s.later_id}  # maybe, going
    assert await uids(CAROL) == {s.next_id}  # "Interested" on the event counts as Maybe
    assert await uids(MOD) == set()
    await screenings_repo.set_rsvp(web.store, s.next_id, CAROL, "cant", web.service.now())
    assert await uids(CAROL) == set()  # a button answer wins over "Interested"


async def test_per_ip_rate_limit(web: Web) -> None:
    now = [0.0]
    app = WebApp(web.service, RateLimiter(rate=1.0, burst=3, now=lambda: now[0]))
    client = TestClient(TestServer(app.app))
    await client.start_server()
    try:
        path = web.base + "screenings.ics"
        assert [(await client.get(path)).status for _ in range(3)] == [200, 200, 200]
        limited = await client.get(path)
        assert limited.status == 429 and limited.headers["Retry-After"] == "1"
        # Behind a reverse proxy on this machine, each forwarded client has its own bucket.
        assert (await client.get(path, headers={"X-Forwarded-For": "203.0.113.9"})).status == 200
        now[0] += 1.0
        assert (await client.get(path)).status == 200
    finally:
        await client.close()


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_no_write_action_on_the_web(web: Web, method: str) -> None:
    for path in (web.base, web.base + "screenings.ics", "/nothing"):
        response = await web.client.request(method, path, data=b"x")
        assert response.status == 405 and response.headers["Allow"] == "GET, HEAD"


async def test_head_and_unknown_paths(web: Web) -> None:
    response = await web.client.head(web.base + "screenings.ics")
    assert response.status == 200
    assert (await get(web, web.base + "admin"))[0] == 404
    assert (await get(web, f"/c/{web.token}"))[0] == 404


async def test_site_switch_keeps_one_row_per_server(web: Web) -> None:
    before = await web_repo.get_site(web.store, GUILD)
    assert before is not None and before.enabled
    await web.service.switch(GUILD, True, MOD)
    after = await web_repo.get_site(web.store, GUILD)
    assert after is not None and after.token_hash == before.token_hash
    assert len(await web.store.fetchall("SELECT guild_id FROM web_sites WHERE guild_id = ?", (GUILD,))) == 1


async def test_a_failing_page_answers_500_and_never_logs_the_token(
    web: Web, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(site: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(web.service, "home", broken)
    status, body, _ = await get(web, web.base)
    assert status == 500 and web.token.encode() not in body
    assert "web request failed" in caplog.text and web.token not in caplog.text


async def test_a_lost_key_file_makes_a_new_working_link(web: Web, tmp_path: Path) -> None:
    site = await web.service.site(GUILD)
    assert site is not None
    web.service.keys = WebKeys.load_or_create(tmp_path / "another.webkey")  # the database moved without its key
    fixed = await web.service.ensure_token(site)
    assert fixed.token_hash != site.token_hash
    assert (await get(web, f"/c/{web.service.site_token(fixed)}/"))[0] == 200
    assert (await get(web, web.base))[0] == 404
    with pytest.raises(ValueError):
        WebKeys(b"short")


async def test_names_are_not_rewritten_after_a_restart(web: Web, tmp_path: Path) -> None:
    await web.service.note_member(GUILD, ALICE, "Alice again")
    restarted = await make_service(web.store, web.clock, tmp_path, web.directory)
    before = web.store.version()
    await restarted.note_member(GUILD, ALICE, "Alice again")  # the same name: nothing written
    assert web.store.version() == before
    await restarted.note_member(GUILD, ALICE, "Alice renamed")
    assert web.store.version() != before
    assert await restarted.names(GUILD, [ALICE]) == {ALICE: "Alice A."}  # Discord's cache comes first


async def test_pages_load_nothing_from_elsewhere(web: Web) -> None:
    import re

    for path in (*PAGES, f"newsletters/{web.seeded.newsletter_id}"):
        _, body, _ = await get(web, web.base + path)
        text = body.decode()
        for attr, url in re.findall(r'\b(src|href)="([^"]*)"', text):
            if attr == "src" or not url.startswith("https://discord.com/channels/"):
                assert url.startswith((web.base, "data:")), (path, attr, url)
        assert "<link rel=\"stylesheet\"" not in text and "@import" not in text and "url(" not in text


async def test_newsletter_markdown_becomes_safe_html(web: Web) -> None:
    _, body, _ = await get(web, web.base + f"newsletters/{web.seeded.newsletter_id}")
    text = body.decode()
    assert "<h3>Verdicts</h3>" in text and "<strong>Alice</strong>: <em>Stairs!</em>" in text
    assert "*not* bold &lt;b&gt;" in text  # Markdown escapes shown as the characters they stand for
    assert "We watched it on Monday 2 March 2026, 12:00 (UTC)." in text  # time tokens in the server's zone
    assert "{{t:" not in text and "# Parasite" not in text
