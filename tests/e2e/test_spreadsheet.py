"""The Spreadsheet, Letterboxd import/export and the theme shelf, end to end through the fake Discord.

The fake clock starts on Monday 2026-01-05 12:00 UTC; the server's time zone is Europe/London
(UTC in January), so "tomorrow 8pm" is Tuesday 2026-01-06 20:00 UTC.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain.films import load_catalogue
from db import screenings as screenings_repo
from db import spreadsheet as sheet_repo
from db import theme as theme_repo
from tests.e2e.conftest import BACKENDS, Club
from tests.fakediscord.models import Message
from tests.fakediscord.permissions import P
from tests.fakediscord.server import FakeDiscord

START = datetime(2026, 1, 6, 20, 0, tzinfo=UTC)
TOTAL = sum(len(films) for films in load_catalogue().best_picture_by_ceremony().values())


async def run(c: Club, who: Any, command: str, **options: Any) -> Message:
    handle = await c.fake.slash(who, c.g.general, command, **options)
    return await handle.reply()


async def click(c: Club, who: Any, message: Message, key: str) -> Message:
    handle = await c.fake.click(who, message, key)
    return await handle.reply()


async def two_finished_screenings(c: Club) -> None:
    """Her (tomorrow 8pm) and Parasite (the day after) are screened; Alice goes to Her."""
    g = c.g
    r = await run(c, g.admin, "screening schedule", film="Her (2013)", when="tomorrow 8pm")
    assert r.ephemeral and "Scheduled" in r.content, r.content
    r = await run(c, g.admin, "screening schedule", film="Parasite (2019)", when="2026-01-07 20:00")
    assert r.ephemeral and "Scheduled" in r.content, r.content
    [her_post] = [m for m in c.fake.bot_messages(g.screenings) if m.embeds and "Her" in m.embeds[0].get("title", "")]
    await click(c, g.alice, her_post, "Going")
    await c.clock.advance_to(START + timedelta(days=1, hours=4))
    for key in ("her-2013", "parasite-2019"):
        assert len(await screenings_repo.finished_screenings_for_film(c.bot.store, c.guild_id, key)) == 1


async def rate(c: Club, who: Any, film: str, thumbs: int) -> None:
    r = await run(c, who, "rate", film=film, thumbs=thumbs)
    assert r.ephemeral and f"({thumbs}/5)" in r.content, r.content


# --------------------------------------------------------------------------- the sheet


async def test_check_date_takes_the_time_forms_and_day_words(club: Club) -> None:
    """The fake clock is Monday 2026-01-05 in Europe/London: each form lands on the right watched date."""
    c = club
    cases = {
        "Oppenheimer (2023)": ("2024-02-10 20:00", "2024-02-10"),
        "Parasite (2019)": ("today 21:00", "2026-01-05"),
        "Her (2013)": ("yesterday", "2026-01-04"),
        "Tár (2022)": ("fri", "2026-01-02"),
        "Nomadland (2020)": ("dec 4 2025 8pm", "2025-12-04"),
    }
    for film, (when, _day) in cases.items():
        r = await run(c, c.mod, "spreadsheet check", film=film, date=when)
        assert r.ephemeral and "watched" in r.content and "couldn't read" not in r.content, (when, r.content)
    for when, fragment in (("tomorrow", "2026-01-06 is in the future"), ("in 2 hours", "time from now")):
        r = await run(c, c.mod, "spreadsheet check", film="Gravity (2013)", date=when)
        assert r.ephemeral and fragment in r.content, r.content
    handle = await c.fake.slash(c.g.bob, c.g.general, "spreadsheet export")
    [attachment] = (await handle.reply()).attachments
    rows = {(r["Film"], r["Year"]): r for r in csv.DictReader(io.StringIO(attachment.data.decode("utf-8")))}
    for film, (_when, day) in cases.items():
        title, year = film[:-7], film[-5:-1]
        assert rows[(title, year)]["Watched date"] == day, film
    assert rows[("Gravity", "2013")]["Watched"] != "yes"


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_sheet_progress_averages_comments_pages_checks_and_export(club: Club) -> None:
    c, g = club, club.g
    await two_finished_screenings(c)
    await rate(c, g.alice, "Her (2013)", 4)
    await rate(c, g.bob, "Her (2013)", 5)
    await rate(c, g.alice, "Parasite (2019)", 3)

    # The club's sheet at the 2014 ceremony: progress, Her watched with its average, a picture.
    sheet = await run(c, g.carol, "spreadsheet view", year=2014)
    assert not sheet.ephemeral and not sheet.pings_anyone
    assert sheet.content == f"2 of {TOTAL} watched."
    text = sheet.text()
    assert "86th Academy Awards (2014)" in text and f"**2 of {TOTAL} watched** · this ceremony: 1 of" in text
    assert "✅ **Her** (2013)" in text and "avg **4.5**👍 (2 ratings)" in text
    assert "⬜ **Gravity** (2013)" in text
    [png] = sheet.attachments
    assert png.filename == "progress.png" and png.data.startswith(b"\x89PNG")

    # Comments: one per member per film, editable, at most 280 characters.
    r = await run(c, g.alice, "spreadsheet comment", film="Her (2013)", text="Made me call my mum.")
    assert r.ephemeral and r.content.startswith("Comment saved")
    r = await run(c, g.alice, "spreadsheet comment", film="Her (2013)", text="Made me call my sister.")
    assert r.ephemeral and r.content.startswith("Comment updated")
    r = await run(c, g.bob, "spreadsheet comment", film="her", text="x" * 281)
    assert r.ephemeral and "281 characters" in r.content
    r = await run(c, g.bob, "spreadsheet comment", film="Rocky II (1979)", text="Adrian!")
    assert r.ephemeral and "isn't a Best Picture nominee" in r.content
    comments = await sheet_repo.list_comments(c.bot.store, c.guild_id)
    assert [(x.user_id, x.body) for x in comments] == [(g.alice.user.id, "Made me call my sister.")]

    # Pages: one per ceremony, the buttons belong to whoever asked.
    sheet = await run(c, g.carol, "spreadsheet view", year=2014)
    assert f"💬 <@{g.alice.user.id}>: Made me call my sister." in sheet.text() and "my mum" not in sheet.text()
    assert [b["label"] for b in sheet.buttons()][1] == f"{sheet_page(2014)}/{len(ceremonies())}"
    paged = await click(c, g.carol, sheet, "Next ▶")
    assert "87th Academy Awards (2015)" in paged.text() and f"{TOTAL} watched" in paged.text()
    other = await click(c, g.bob, sheet, "◀ Previous")
    assert other.ephemeral and "belong to whoever ran the command" in other.content
    assert "87th Academy Awards (2015)" in sheet.text()  # Bob's click changed nothing
    parasite = await run(c, g.carol, "spreadsheet view", year=2020)
    assert "✅ **Parasite** (2019) 🏆" in parasite.text() and "avg **3.0**👍 (1 rating)" in parasite.text()
    wrong = await run(c, g.carol, "spreadsheet view", year=1999)
    assert wrong.ephemeral and "no 1999 ceremony" in wrong.content

    # A member's own journey: Alice rated both; Carol has nothing; Bob rated Her only.
    mine = await run(c, g.carol, "spreadsheet view", year=2014, member=g.alice)
    assert mine.content == f"**Alice**: 2 of {TOTAL} watched." and "you: 4👍" in mine.text()
    assert "Alice's journey" in mine.text()
    bob = await run(c, g.carol, "spreadsheet view", year=2020, member=g.bob)
    assert bob.content == f"**Bob**: 1 of {TOTAL} watched." and "⬜ **Parasite** (2019)" in bob.text()

    # Moderators check and uncheck; members can't.
    r = await run(c, g.alice, "spreadsheet check", film="Tár (2022)")
    assert r.ephemeral and "Only moderators" in r.content
    r = await run(c, c.mod, "spreadsheet check", film="Tar (2022)", date="2025-12-01")
    assert r.ephemeral and f"3 of {TOTAL} watched" in r.content
    r = await run(c, c.mod, "spreadsheet check", film="Tár (2022)")
    assert r.ephemeral and "already checked" in r.content
    r = await run(c, c.mod, "spreadsheet uncheck", film="Her (2013)")
    assert r.ephemeral and f"2 of {TOTAL} watched" in r.content
    r = await run(c, c.mod, "spreadsheet uncheck", film="Her (2013)")
    assert r.ephemeral and "isn't checked" in r.content
    r = await run(c, c.mod, "spreadsheet check", film="Her (2013)")
    assert r.ephemeral and f"3 of {TOTAL} watched" in r.content
    choices = await c.fake.autocomplete(c.mod, g.general, "spreadsheet check", "film", "west side")
    assert [x["name"] for x in choices] == ["West Side Story (2021)", "West Side Story (1961)"]

    # The export, parsed back.
    handle = await c.fake.slash(g.bob, g.general, "spreadsheet export")
    reply = await handle.reply()
    assert reply.ephemeral and f"3 of {TOTAL} watched" in reply.content
    [attachment] = reply.attachments
    assert attachment.filename == "filmclub-spreadsheet.csv"
    rows = list(csv.DictReader(io.StringIO(attachment.data.decode("utf-8"))))
    assert len(rows) == TOTAL
    by_film = {(r["Film"], r["Year"]): r for r in rows}
    her = by_film[("Her", "2013")]
    assert her["Ceremony"] == "2014" and her["Watched"] == "yes" and her["Watched date"] == "2026-01-06"
    assert her["Average thumbs"] == "4.5" and her["Ratings"] == "2"
    assert her["Alice thumbs"] == "4" and her["Alice comment"] == "Made me call my sister."
    assert her["Bob thumbs"] == "5" and her["Bob comment"] == ""
    tar = by_film[("Tár", "2022")]
    assert tar["Watched"] == "yes" and tar["Watched date"] == "2025-12-01" and tar["Average thumbs"] == ""
    assert by_film[("Parasite", "2019")]["Best Picture"] == "winner"
    assert by_film[("Gravity", "2013")]["Watched"] == "no"
    assert sum(1 for r in rows if r["Watched"] == "yes") == 3


def ceremonies() -> list[int]:
    return sorted(load_catalogue().best_picture_by_ceremony())


def sheet_page(year: int) -> int:
    return ceremonies().index(year) + 1


# --------------------------------------------------------------------------- Letterboxd

DIARY = (
    "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n"
    "2025-01-03,Les Misérables,2012,https://boxd.it/2aZc,4.5,,,2025-01-02\n"
    "2025-02-01,West Side Story,1961,https://boxd.it/1Tlw,4,,,2025-01-31\n"
    "2025-02-02,West Side Story,2021,https://boxd.it/nOR4,2.5,,,2025-02-01\n"
    "2025-02-03,A Star Is Born,1954,https://boxd.it/1zvE,3,,,2025-02-02\n"
    '2025-03-01,Tár,2022,https://boxd.it/sZxa,,,"cold, brilliant",2025-02-28\n'
    "2025-03-05,Her,2013,https://boxd.it/1Z3k,1,,,2025-03-04\n"
    "2025-04-01,Amélie,2001,https://boxd.it/29CE,5,,,2025-03-31\n"
)


async def import_file(c: Club, who: Any, name: str, data: bytes) -> Message:
    handle = await c.fake.slash(who, c.g.general, "letterboxd import", file=c.fake.attachment(name, data, "text/csv"))
    return await handle.reply()


async def ratings_snapshot(c: Club) -> list[tuple[str, int, int, int]]:
    return sorted(
        (r.film_key, r.user_id, r.thumbs, r.updated_at)
        for r in await screenings_repo.ratings_for_guild(c.bot.store, c.guild_id)
    )


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_letterboxd_import_export(club: Club) -> None:
    c, g = club, club.g
    await two_finished_screenings(c)
    await rate(c, g.alice, "Her (2013)", 4)
    uid = g.alice.user.id

    reply = await import_file(c, g.alice, "diary.csv", DIARY.encode("utf-8"))
    assert reply.ephemeral
    text = reply.content
    assert "Read **diary.csv** (7 rows): **5** films matched the catalogue, **4** new to your journey." in text
    assert "Ratings: 3 added, 0 updated." in text
    assert "Kept your club rating for 1 film you rated here (Her (2013))" in text
    assert "Not in the catalogue (2): A Star Is Born (1954), Amélie (2001)" in text
    mine = {r.film_key: r.thumbs for r in await screenings_repo.ratings_for_member(c.bot.store, c.guild_id, uid)}
    # Accents matched; remakes told apart by year; 4.5 stars -> 5, 2.5 -> 3; Her kept at the club's 4.
    assert mine == {
        "les-miserables-2012": 5, "west-side-story-1961": 4, "west-side-story-2021": 3, "her-2013": 4,
    }  # fmt: skip
    marks = await sheet_repo.watched_marks(c.bot.store, c.guild_id, uid)
    assert marks["tar-2022"] == "2025-02-28" and len(marks) == 5

    # The same file again changes nothing.
    before = await ratings_snapshot(c)
    again = await import_file(c, g.alice, "diary.csv", DIARY.encode("utf-8"))
    assert "**0** new to your journey" in again.content and "Nothing changed" in again.content
    assert await ratings_snapshot(c) == before
    assert await sheet_repo.watched_marks(c.bot.store, c.guild_id, uid) == marks

    # Alice's journey now holds the imported films; the club's sheet does not.
    journey = await run(c, g.bob, "spreadsheet view", member=g.alice, year=2013)
    assert journey.content == f"**Alice**: 5 of {TOTAL} watched."  # the 5 imported (Her also rated and Going)
    assert "✅ **Les Misérables** (2012)" in journey.text() and "you: 5👍" in journey.text()
    club_view = await run(c, g.bob, "spreadsheet view", year=2013)
    assert club_view.content == f"2 of {TOTAL} watched." and "⬜ **Les Misérables** (2012)" in club_view.text()

    # Files that are not Letterboxd exports are refused, naming the problem and the row; nothing changes.
    bad = [
        ("ratings.csv", b"Title,Year,Rating\nHer,2013,4\n", "row 1 (the header) has no `Date`, `Name`"),
        ("diary.csv", "Date,Name,Year,Letterboxd URI\n2025-01-01,Amélie,2001,x\n".encode("latin-1"), "row 2"),
        ("ratings.csv", b"Date,Name,Year,Letterboxd URI,Rating\n2025-01-01,Her,2013,x,4\n2025-01-01,Up,2009,x,9\n",
         "Row 3 (`Up`): the Rating `9`"),
        ("watched.csv", b"Date,Name,Year,Letterboxd URI\n" + b"2025-01-01,Her,2013,x\n" * 110_000, "the limit is 2 MB"),
        ("watchlist.csv", b"Date,Name,Year,Letterboxd URI\n2025-01-01,Dune,2021,x\n", "watchlist"),
    ]
    for name, data, needle in bad:
        refused = await import_file(c, g.bob, name, data)
        assert refused.ephemeral and needle in refused.content, (name, refused.content)
    assert await ratings_snapshot(c) == before
    assert await sheet_repo.watched_marks(c.bot.store, c.guild_id, g.bob.user.id) == {}

    # A later export with a changed rating updates what the import wrote, never Alice's own /rate.
    changed = DIARY.replace("West Side Story,1961,https://boxd.it/1Tlw,4,", "West Side Story,1961,https://boxd.it/1Tlw,1,")
    await c.clock.advance(60)
    third = await import_file(c, g.alice, "diary.csv", changed.encode("utf-8"))
    assert "Ratings: 0 added, 1 updated." in third.content
    mine = {r.film_key: r.thumbs for r in await screenings_repo.ratings_for_member(c.bot.store, c.guild_id, uid)}
    assert mine["west-side-story-1961"] == 1 and mine["her-2013"] == 4

    # The export: a CSV Letterboxd's importer reads (Title, Year, Rating 0.5-5, WatchedDate, Review).
    handle = await c.fake.slash(g.alice, g.general, "letterboxd export")
    out = await handle.reply()
    assert out.ephemeral
    [attachment] = out.attachments
    rows = list(csv.DictReader(io.StringIO(attachment.data.decode("utf-8"))))
    assert list(rows[0]) == ["Title", "Year", "Rating", "WatchedDate", "Review"]
    got = {(r["Title"], r["Year"]): (r["Rating"], r["WatchedDate"]) for r in rows}
    assert got == {
        ("Her", "2013"): ("4", "2025-03-04"),
        ("Les Misérables", "2012"): ("5", "2025-01-02"),
        ("West Side Story", "1961"): ("1", "2025-01-31"),
        ("West Side Story", "2021"): ("3", "2025-02-01"),
    }
    nothing = await run(c, g.carol, "letterboxd export")
    assert nothing.ephemeral and "no club ratings yet" in nothing.content


# --------------------------------------------------------------------------- the theme shelf


def shelves(c: Club) -> list[Message]:
    return [
        m for m in c.fake.bot_messages(c.g.announcements)
        if m.embeds and (m.embeds[0].get("title") or "").startswith("📚")
    ]  # fmt: skip


@pytest.mark.parametrize("db_backend", BACKENDS)
async def test_theme_set_show_clear(club: Club) -> None:
    c, g = club, club.g
    r = await run(c, g.admin, "screening schedule", film="Her (2013)", when="tomorrow 8pm")
    assert "Scheduled" in r.content

    choices = await c.fake.autocomplete(c.mod, g.general, "theme set", "films", "Her (2013); ex mach", title="Robots")
    assert "Her (2013); Ex Machina (2014)" in [x["value"] for x in choices]

    r = await run(c, g.alice, "theme set", title="Robots", films="Her (2013)")
    assert r.ephemeral and "Only moderators" in r.content
    r = await run(c, c.mod, "theme set", title="Robots", films="Her (2013); A Film Nobody Made")
    assert r.ephemeral and "Film 2 of the list" in r.content
    r = await run(c, c.mod, "theme set", title="Remakes", films="West Side Story")
    assert r.ephemeral and "several films called" in r.content
    assert shelves(c) == [] and await theme_repo.get_theme(c.bot.store, c.guild_id) is None

    r = await run(c, c.mod, "theme set", title="Robots with feelings", films="Her (2013); Ex Machina; WALL·E")
    assert r.ephemeral and "posted in" in r.content and "and pinned" in r.content
    [shelf] = shelves(c)
    assert shelf.pinned and not shelf.pings_anyone
    assert shelf.embeds[0]["title"] == "📚 Theme shelf: Robots with feelings"
    text = shelf.text()
    assert "**1. Her** (2013) · Spike Jonze" in text and "**2. Ex Machina** (2014)" in text
    [ann] = [m for m in c.fake.bot_messages(g.screenings) if m.embeds and "Her" in m.embeds[0].get("title", "")]
    assert f"Screening #1 <t:{int(START.timestamp())}:F>" in text and f"/{ann.id})" in text
    [menu] = shelf.selects()
    assert [o["value"] for o in menu["options"]] == ["her-2013", "ex-machina-2014", "wall-e-2008"]

    # The menu opens a film's catalogue card, with its upcoming screening.
    handle = await c.fake.select(g.bob, shelf, "theme:card", ["her-2013"])
    card = await handle.reply()
    assert card.ephemeral and card.embeds[0]["title"] == "Her (2013)"
    assert "Spike Jonze" in card.text() and "Upcoming screenings" in card.text() and "Not watched yet" in card.text()

    # When the screening finishes, the shelf shows Her as watched.
    await c.clock.advance_to(START + timedelta(hours=3))
    assert "✅ watched" in shelf.text() and "Screening #1" not in shelf.text()

    shown = await run(c, g.carol, "theme show")
    assert shown.ephemeral and shown.embeds[0]["title"] == "📚 Theme shelf: Robots with feelings"
    assert "✅ watched" in shown.text() and shown.selects()

    # Replacing the shelf retires the old message; clearing takes the new one down.
    r = await run(c, c.mod, "theme set", title="Boxing", films="Rocky (1976); Creed")
    assert "and pinned" in r.content
    old, new = shelves(c)
    assert not old.pinned and "replaced by **Boxing**" in old.content and old.selects() == []
    assert new.pinned
    r = await run(c, g.bob, "theme clear")
    assert r.ephemeral and "Only moderators" in r.content
    r = await run(c, c.mod, "theme clear")
    assert r.ephemeral and "Cleared the shelf **Boxing**" in r.content
    assert not new.pinned and "has been cleared" in new.content and new.selects() == []
    gone = await run(c, g.carol, "theme show")
    assert gone.ephemeral and "no theme shelf" in gone.content
    again = await run(c, c.mod, "theme clear")
    assert again.ephemeral and "no theme shelf to clear" in again.content


async def test_theme_needs_announcements_channel(club: Club) -> None:
    c = club
    await c.bot.settings.update(c.guild_id, c.bot.now_ts(), announcements_channel_id=None)
    r = await run(c, c.mod, "theme set", title="Robots", films="Her (2013)")
    assert r.ephemeral and "/filmclub setup announcements:" in r.content
    assert await theme_repo.get_theme(c.bot.store, c.guild_id) is None


async def test_theme_without_pin_permission_still_posts(club: Club) -> None:
    c, g = club, club.g
    c.fake.inject("PUT", r"/pins/", 403, code=50013, message="Missing Permissions")
    r = await run(c, c.mod, "theme set", title="Robots", films="Her (2013)")
    assert r.ephemeral and "couldn't pin" in r.content and "and pinned" not in r.content
    [shelf] = shelves(c)
    assert not shelf.pinned
    theme = await theme_repo.get_theme(c.bot.store, c.guild_id)
    assert theme is not None and theme.message_id == shelf.id and not theme.pinned
    assert g.announcements.id == shelf.channel_id


# --------------------------------------------------------------------------- the sheet: pages, restarts, bad input


async def test_sheet_opens_where_the_journey_stands_and_pages_survive_a_restart(club: Club) -> None:
    c, g = club, club.g
    years = ceremonies()
    first = load_catalogue().best_picture_by_ceremony()[years[0]]
    for film in first:  # the oldest ceremony is fully watched: the sheet opens at the next one
        r = await run(c, c.mod, "spreadsheet check", film=f"{film.title} ({film.year})", date="2025-06-01")
        assert r.ephemeral and "Checked" in r.content, r.content
    sheet = await run(c, g.carol, "spreadsheet view")
    assert not sheet.ephemeral and sheet.content == f"{len(first)} of {TOTAL} watched."
    assert f"({years[1]})" in sheet.embeds[0]["title"]
    assert [b["label"] for b in sheet.buttons()] == ["◀ Previous", f"2/{len(years)}", "Next ▶"]
    assert not any(b.get("disabled") for b in sheet.buttons() if b["label"] != f"2/{len(years)}")

    # The bot restarts; the buttons still page, rebuilt from the data as it is now.
    await c.restart()
    r = await import_file(c, g.alice, "ratings.csv", b"Date,Name,Year,Letterboxd URI,Rating\n2025-03-01,Her,2013,x,2\n")
    assert "Ratings: 1 added" in r.content, r.content
    paged = await click(c, g.carol, sheet, "◀ Previous")
    assert f"({years[0]})" in paged.embeds[0]["title"] and paged.buttons()[0].get("disabled")
    assert paged.attachments and paged.attachments[0].filename == "progress.png"  # the picture stays
    jump = await run(c, g.carol, "spreadsheet view", year=2014)
    after = await click(c, g.carol, jump, "Next ▶")
    assert "(2015)" in after.embeds[0]["title"]
    before = await click(c, g.carol, after, "◀ Previous")
    assert "(2014)" in before.embeds[0]["title"] and "avg **2.0**👍 (1 rating)" in before.text()

    # Someone else's clicks are refused privately and change nothing.
    shown = list(jump.embeds)
    handle = await c.fake.click(g.bob, jump, "Next ▶")
    refused = await handle.reply()
    assert refused.ephemeral and "belong to whoever ran the command" in refused.content
    assert jump.embeds == shown

    # Two quick clicks on the same button land on the same page (the button says which page it opens).
    clicks = [await c.fake.click(g.carol, jump, "Next ▶") for _ in range(2)]
    for h in clicks:
        await h.reply()
    assert "(2015)" in jump.embeds[0]["title"]

    # Paging a member's journey keeps it that member's journey.
    mine = await run(c, g.bob, "spreadsheet view", year=2014, member=g.alice)
    nxt = await click(c, g.bob, mine, "Next ▶")
    assert "Alice's journey" in nxt.embeds[0]["title"] and "(2015)" in nxt.embeds[0]["title"]
    back = await click(c, g.bob, nxt, "◀ Previous")
    assert nxt.content == f"**Alice**: 1 of {TOTAL} watched." and "you: 2👍" in back.text()

    # A member who left: their journey still opens and pages, under their Discord name.
    leaver = c.fake.add_member(g.guild, "lee", [g.member_role], global_name="Lee")
    theirs = await run(c, g.bob, "spreadsheet view", member=leaver)
    c.fake.remove_member(g.guild, leaver)
    await c.fake.settle()
    paged = await click(c, g.bob, theirs, "Next ▶")
    assert paged.content == f"**Lee**: 0 of {TOTAL} watched." and "Lee's journey" in paged.embeds[0]["title"]
    stranger = c.fake.create_user("stranger", global_name="Stranger")  # a Discord user who is not a member
    r = await run(c, g.bob, "spreadsheet view", member=stranger)
    assert not r.ephemeral and r.content == f"**Stranger**: 0 of {TOTAL} watched."


async def test_sheet_refuses_bad_input_and_changes_nothing(club: Club) -> None:
    c, g = club, club.g
    for year in (0, -5, 99999, 2013 + 500):
        r = await run(c, g.alice, "spreadsheet view", year=year)
        assert r.ephemeral and f"no {year} ceremony" in r.content and "1938–2026" in r.content

    bad_comments = [
        ("   ", "Write something in the comment"),
        ("y" * 6000, "6000 characters long"),
        ("y" * 281, "281 characters long"),
    ]
    for text, needle in bad_comments:
        r = await run(c, g.alice, "spreadsheet comment", film="Her (2013)", text=text)
        assert r.ephemeral and needle in r.content and len(r.content) <= 2000
    for film, needle in [
        ("x" * 6000, "6000 characters long"),
        ("   ", "Give me a film title"),
        ("Ex Machina", "isn't a Best Picture nominee"),
        ("West Side Story", "several films called"),
        ("A Film Nobody Made", "I don't know"),
    ]:
        r = await run(c, g.alice, "spreadsheet comment", film=film, text="Lovely")
        assert r.ephemeral and needle in r.content and len(r.content) <= 2000, r.content
    assert await sheet_repo.list_comments(c.bot.store, c.guild_id) == []

    # Mentions and markdown in a comment stay text: nobody is pinged, the sheet shows it as typed.
    sneaky = f"@everyone <@{g.bob.user.id}> **loud** ||spoiler||"
    r = await run(c, g.alice, "spreadsheet comment", film="Her (2013)", text=sneaky)
    assert r.ephemeral and not r.pings_anyone and "\\*\\*loud\\*\\*" in r.content
    sheet = await run(c, g.carol, "spreadsheet view", year=2014)
    assert not sheet.pings_anyone and "@\u200beveryone" in sheet.text() and "\\*\\*loud\\*\\*" in sheet.text()
    assert f"<@\u200b{g.bob.user.id}>" in sheet.text()

    # Check dates: unreadable, in the future, before the film existed; members can't check at all.
    for date, needle in [
        ("next tuesday-ish", "couldn't read"),
        ("2030-01-01", "in the future"),
        ("1900-01-01", "came out in 2013"),
    ]:
        r = await run(c, c.mod, "spreadsheet check", film="Her (2013)", date=date)
        assert r.ephemeral and needle in r.content, r.content
    r = await run(c, g.alice, "spreadsheet uncheck", film="Her (2013)")
    assert r.ephemeral and "Only moderators" in r.content
    r = await run(c, c.mod, "spreadsheet check", film="Ex Machina")
    assert r.ephemeral and "isn't a Best Picture nominee" in r.content
    assert await sheet_repo.list_checks(c.bot.store, c.guild_id) == {}
    sheet = await run(c, g.carol, "spreadsheet view", year=2014)
    assert sheet.content == f"0 of {TOTAL} watched."


async def test_sheet_export_keeps_member_text_as_text(club: Club) -> None:
    c, g = club, club.g
    dana = c.fake.add_member(g.guild, "dana", [g.member_role], nick="=Dana, the \"critic\"")
    await import_file(c, dana, "ratings.csv", b"Date,Name,Year,Letterboxd URI,Rating\n2025-03-01,Her,2013,x,3\n")
    r = await run(c, g.alice, "spreadsheet comment", film="Her (2013)", text='=HYPERLINK("http://x.example","click")')
    assert r.ephemeral
    r = await run(c, g.bob, "spreadsheet comment", film="Her (2013)", text="-1 for the ending, +1 for Joaquin")
    handle = await c.fake.slash(g.carol, g.general, "spreadsheet export")
    reply = await handle.reply()
    assert reply.ephemeral and "3 members with ratings or comments" in reply.content
    rows = list(csv.DictReader(io.StringIO(reply.attachments[0].data.decode("utf-8"))))
    her = next(r for r in rows if r["Film"] == "Her")
    assert her["Alice comment"] == '\'=HYPERLINK("http://x.example","click")'
    assert her["Bob comment"] == "'-1 for the ending, +1 for Joaquin"
    assert her["'=Dana, the \"critic\" thumbs"] == "3"
    assert her["Average thumbs"] == "3.0" and her["Ratings"] == "1"


# ------------------------------------------------------------------ Letterboxd: files as Letterboxd writes them

BOM = "\ufeff"
RATINGS = (
    "Date,Name,Year,Letterboxd URI,Rating\r\n"
    '2024-11-02,"Three Billboards Outside Ebbing, Missouri",2017,https://boxd.it/d8Ms,4\r\n'
    "2024-11-03,Emilia Pérez,2024,https://boxd.it/E4Tu,0.5\r\n"
    "2024-11-04,Little Women,2019,https://boxd.it/hY8q,3.5\r\n"
    "2024-11-05,Little Women,1994,https://boxd.it/1Xdg,5\r\n"
    "2024-11-06,Dune,1984,https://boxd.it/1XOG,1.5\r\n"
    '2024-11-07,"The ""Other"" Film, Part 2",2003,https://boxd.it/zzzz,3\r\n'
)
WATCHED = (
    "Date,Name,Year,Letterboxd URI\r\n"
    "2024-10-01,Dune,2021,https://boxd.it/nrVa\r\n"
    "2024-10-02,TAR,2022,https://boxd.it/sZxa\r\n"
    "2024-10-03,Wall-E,2008,https://boxd.it/1Tlw\r\n"
)

IMPORTER_COLUMNS = {
    "LetterboxdURI", "tmdbID", "imdbID", "Title", "Year", "Directors", "WatchedDate", "Rating", "Rating10", "Tags",
    "Review", "Rewatch",
}  # fmt: skip  # the columns Letterboxd's importer documents (letterboxd.com/about/importing-data)


async def test_letterboxd_real_shaped_ratings_and_watched_files(club: Club) -> None:
    c, g = club, club.g
    uid = g.bob.user.id
    reply = await import_file(c, g.bob, "ratings.csv", (BOM + RATINGS).encode("utf-8"))
    assert reply.ephemeral and not reply.pings_anyone
    summary = "Read **ratings.csv** (6 rows): **5** films matched the catalogue, **5** new to your journey."
    assert summary in reply.content
    assert "Ratings: 5 added, 0 updated." in reply.content
    assert 'Not in the catalogue (1): The "Other" Film, Part 2 (2003)' in reply.content
    mine = {r.film_key: r.thumbs for r in await screenings_repo.ratings_for_member(c.bot.store, c.guild_id, uid)}
    assert mine == {
        "three-billboards-outside-ebbing-missouri-2017": 4,  # quoted title with a comma
        "emilia-perez-2024": 1,  # accent; half a star is one thumb
        "little-women-2019": 4, "little-women-1994": 5,  # remakes told apart by year; 3.5 rounds up
        "dune-1984": 2,
    }  # fmt: skip

    reply = await import_file(c, g.bob, "watched.csv", WATCHED.encode("utf-8"))
    assert "(3 rows): **3** films matched the catalogue, **3** new to your journey." in reply.content
    assert "Ratings:" not in reply.content  # watched.csv has no ratings
    marks = await sheet_repo.watched_marks(c.bot.store, c.guild_id, uid)
    assert {"dune-2021", "tar-2022", "wall-e-2008"} <= set(marks) and len(marks) == 8

    # Both files again (the ratings one now without its BOM, with LF endings): nothing changes.
    before = await ratings_snapshot(c)
    again = await import_file(c, g.bob, "ratings.csv", RATINGS.replace("\r\n", "\n").encode("utf-8"))
    assert "**0** new to your journey" in again.content and "Nothing changed" in again.content
    again = await import_file(c, g.bob, "watched.csv", WATCHED.encode("utf-8"))
    assert "Nothing changed" in again.content
    assert await ratings_snapshot(c) == before
    assert await sheet_repo.watched_marks(c.bot.store, c.guild_id, uid) == marks

    # Bob's journey on the sheet: the nominees he rated or watched are checked.
    journey = await run(c, g.alice, "spreadsheet view", member=g.bob, year=2022)
    assert "✅ **Dune** (2021)" in journey.text() and journey.content.startswith("**Bob**: 5 of")

    # The export: only importer columns, ratings in half stars 0.5-5, ISO dates; it reads back as sent.
    handle = await c.fake.slash(g.bob, g.general, "letterboxd export")
    out = await handle.reply()
    assert out.ephemeral and "5 club ratings" in out.content
    [attachment] = out.attachments
    assert attachment.filename.endswith(".csv")
    text = attachment.data.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert set(rows[0]) <= IMPORTER_COLUMNS and {"Title", "Year", "Rating"} <= set(rows[0])
    for row in rows:
        assert float(row["Rating"]) * 2 == int(float(row["Rating"]) * 2) and 0.5 <= float(row["Rating"]) <= 5
        assert row["WatchedDate"] == "" or datetime.strptime(row["WatchedDate"], "%Y-%m-%d")
    got = {(r["Title"], r["Year"]): r["Rating"] for r in rows}
    assert got == {
        ("Three Billboards Outside Ebbing, Missouri", "2017"): "4", ("Emilia Pérez", "2024"): "1",
        ("Little Women", "2019"): "4", ("Little Women", "1994"): "5", ("Dune", "1984"): "2",
    }  # fmt: skip


async def test_letterboxd_refuses_files_that_are_not_exports(club: Club) -> None:
    c, g = club, club.g
    header = "Date,Name,Year,Letterboxd URI,Rating\n"
    cases = [
        # not UTF-8: the row with the bad byte is named
        ("ratings.csv",
         (header + "2024-01-01,Her,2013,x,4\n").encode() + "2024-01-02,Amélie,2001,x,4\n".encode("cp1252"), "row 3"),
        # wrong columns (Letterboxd's *import* format is not an export)
        ("ratings.csv", b"Title,Year,Rating,WatchedDate\nHer,2013,4,2024-01-01\n", "`Date`, `Name`, `Letterboxd URI`"),
        # a title with a comma and no quotes: too many values on that row
        ("ratings.csv", (header + "2024-01-01,Her,2013,x,4\n2024-01-02,Paris, Texas,1984,x,5\n").encode(),
         "Row 3 has 6 values"),
        ("ratings.csv", (header + "2024-01-01,Her,2013,x,four\n").encode(), "Row 2 (`Her`): the Rating `four`"),
        ("ratings.csv", (header + "2024-01-01,Her,2013,x,0\n").encode(), "Row 2 (`Her`): the Rating `0`"),
        ("diary.csv", b"Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n2024-01-01,Her,2013,x,4,,,"
         b"yesterday\n", "Row 2 (`Her`): the Watched Date `yesterday`"),
        ("ratings.csv", header.encode(), "has no films in it"),
        ("ratings.csv", b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)), "not UTF-8"),
        ("letterboxd-export.zip", b"PK\x03\x04", "not a CSV file"),
        ("ratings.csv", (header + "2024-01-01,Her,2013,x,4\n" * 90_000).encode(), "the limit is 2 MB"),
    ]
    for name, data, needle in cases:
        refused = await import_file(c, g.alice, name, data)
        assert refused.ephemeral and needle in refused.content, (name, refused.content)
        assert len(refused.content) <= 2000 and not refused.pings_anyone
    assert await screenings_repo.ratings_for_member(c.bot.store, c.guild_id, g.alice.user.id) == []
    assert await sheet_repo.watched_marks(c.bot.store, c.guild_id, g.alice.user.id) == {}
    nothing = await run(c, g.alice, "letterboxd export")
    assert nothing.ephemeral and "no club ratings yet" in nothing.content


# ------------------------------------------------------------- the theme shelf: permissions, deletions, restarts


def deny_bot(c: Club, deny: int) -> None:
    """The announcements channel as the standard guild has it, with ``deny`` taken from the bot's role there."""
    g = c.g
    c.fake.set_overwrites(
        g.announcements,
        [
            c.fake.overwrite(g.guild, deny=P.SEND_MESSAGES | P.CREATE_PUBLIC_THREADS),
            c.fake.overwrite(c.fake.bot_role(g.guild), allow=P.SEND_MESSAGES & ~deny, deny=deny),
        ],
    )


async def test_theme_without_pin_permission_says_so_and_repost_pins_later(club: Club) -> None:
    c, g = club, club.g
    deny_bot(c, P.PIN_MESSAGES | P.MANAGE_MESSAGES)
    await c.fake.settle()
    r = await run(c, c.mod, "theme set", title="Robots", films="Her (2013); Ex Machina")
    assert r.ephemeral and "posted in" in r.content and "and pinned" not in r.content
    assert "I need the Pin Messages permission" in r.content and "`/theme repost`" in r.content
    [shelf] = shelves(c)
    assert not shelf.pinned and not c.fake.calls("PUT", r"/pins/")  # it didn't even try

    # The moderators give the permission back; /theme repost posts the shelf again, pinned, and removes the old one.
    deny_bot(c, 0)
    await c.fake.settle()
    r = await run(c, c.mod, "theme repost")
    assert r.ephemeral and "posted again" in r.content and "and pinned" in r.content
    live = [m for m in shelves(c) if not m.deleted]
    assert shelf.deleted and len(live) == 1 and live[0].pinned
    theme = await theme_repo.get_theme(c.bot.store, c.guild_id)
    assert theme is not None and theme.message_id == live[0].id and theme.pinned
    r = await run(c, g.alice, "theme repost")
    assert r.ephemeral and "Only moderators" in r.content


async def test_theme_refused_when_it_cannot_be_posted_changes_nothing(club: Club) -> None:
    c, g = club, club.g
    deny_bot(c, P.SEND_MESSAGES)
    await c.fake.settle()
    r = await run(c, c.mod, "theme set", title="Robots", films="Her (2013)")
    assert r.ephemeral and f"I can't post the shelf in <#{g.announcements.id}>: I need Send Messages" in r.content
    deny_bot(c, P.EMBED_LINKS)
    await c.fake.settle()
    r = await run(c, c.mod, "theme set", title="Robots", films="Her (2013)")
    assert r.ephemeral and "I need Embed Links there" in r.content
    assert shelves(c) == [] and await theme_repo.get_theme(c.bot.store, c.guild_id) is None

    c.fake.delete_channel(g.announcements)
    await c.fake.settle()
    r = await run(c, c.mod, "theme set", title="Robots", films="Her (2013)")
    assert r.ephemeral and "can't find the announcements channel" in r.content and "/filmclub setup" in r.content
    assert await theme_repo.get_theme(c.bot.store, c.guild_id) is None

    # Long or odd input: clear errors that fit in a message.
    for title, films, needle in [
        ("   ", "Her (2013)", "Give the theme a title"),
        ("x" * 6000, "Her (2013)", "6000 characters long"),
        ("Robots", "x" * 6000, "Film 1 of the list is 6000 characters long"),
        ("Robots", " ; ;; ", "Put at least one film on the shelf"),
        ("Robots", "; ".join(["Her (2013)"] * 26), "at most 25"),
        ("Robots", "Her (2013); her", "on the list twice"),
    ]:
        r = await run(c, c.mod, "theme set", title=title, films=films)
        assert r.ephemeral and needle in r.content and len(r.content) <= 2000, r.content


async def test_theme_deleted_shelf_message_restart_and_double_set(club: Club) -> None:
    c, g = club, club.g
    title = f"@everyone <@{g.bob.user.id}> robots"
    r = await run(c, c.mod, "theme set", title=title, films="Her (2013); WALL·E")
    assert r.ephemeral and not r.pings_anyone
    [shelf] = shelves(c)
    assert not shelf.pings_anyone and shelf.pinned

    # The shelf keeps opening catalogue cards after a restart.
    await c.restart()
    card = await (await c.fake.select(g.carol, shelf, "theme:card", ["wall-e-2008"])).reply()
    assert card.ephemeral and card.embeds[0]["title"] == "WALL·E (2008)" and "Not watched yet" in card.text()

    # Someone deletes the shelf message: /theme show says so and how to post it again.
    await c.fake.delete(shelf)
    theme = await theme_repo.get_theme(c.bot.store, c.guild_id)
    assert theme is not None and theme.message_id is None
    shown = await run(c, g.alice, "theme show")
    assert shown.ephemeral and "message was deleted" in shown.text() and "/theme repost" in shown.text()
    r = await run(c, c.mod, "theme repost")
    assert r.ephemeral and "posted again" in r.content
    live = [m for m in shelves(c) if not m.deleted]
    assert len(live) == 1 and live[0].pinned
    shown = await run(c, g.alice, "theme show")
    assert f"/{live[0].id})" in shown.text()

    # The posted shelf is deleted, then cleared: the clear still works.
    await c.fake.delete(live[0])
    r = await run(c, c.mod, "theme clear")
    assert r.ephemeral and "Cleared the shelf" in r.content
    r = await run(c, c.mod, "theme repost")
    assert r.ephemeral and "no theme shelf to post" in r.content

    # Two moderators set a shelf at the same moment: one shelf is current and pinned, the other is retired.
    h1 = await c.fake.slash(c.mod, g.general, "theme set", title="One", films="Her (2013)")
    h2 = await c.fake.slash(g.admin, g.general, "theme set", title="Two", films="Rocky (1976)")
    await h1.reply()
    await h2.reply()
    await c.fake.settle()
    theme = await theme_repo.get_theme(c.bot.store, c.guild_id)
    assert theme is not None and theme.title in ("One", "Two")
    pinned = [m for m in shelves(c) if not m.deleted and m.pinned]
    assert [m.id for m in pinned] == [theme.message_id]


async def test_letterboxd_export_neutralises_formulas(club: Club) -> None:
    c, g = club, club.g
    await two_finished_screenings(c)
    r = await run(c, g.alice, "rate", film="Her (2013)", thumbs=4, review="=1+1 @SUM(A1)")
    assert r.ephemeral, r.content
    out = await run(c, g.alice, "letterboxd export")
    [attachment] = out.attachments
    [row] = list(csv.DictReader(io.StringIO(attachment.data.decode("utf-8"))))
    assert row["Title"] == "Her" and row["Review"] == "'=1+1 @SUM(A1)"


@pytest.mark.process
async def test_hostile_letterboxd_files_do_not_stall_other_members(
    fake: FakeDiscord, bot_process: Any, tmp_path: Path
) -> None:
    """Ten members import 2 MB files of 419,000 one-letter rows at once, one of them twice; meanwhile
    other members keep running a command, and every one is answered in time (the fake answers Unknown
    interaction to a callback later than 3 s). The bot runs as a real process, so a stalled event loop shows."""
    from bot.domain.letterboxd import MAX_ROWS

    g = fake.standard_guild("Film Club")
    proc = bot_process("bot", env={"FILMCLUB_DB": str(tmp_path / "club.db"), "FILMCLUB_DEV_GUILD": str(g.guild.id)},
                       commands=True)
    await proc.start()
    hostile = ("Date,Name,Year,Letterboxd URI\n" + ",a,,\n" * 419_000).encode()
    assert len(hostile) <= 2 * 1024 * 1024
    importers = [fake.add_member(g.guild, f"importer{i}", [g.member_role]) for i in range(10)]
    imports = []
    for who in [*importers, importers[0]]:
        attachment = fake.attachment("watched.csv", hostile, "text/csv")
        imports.append(await fake.slash(who, g.general, "letterboxd import", file=attachment))
    probes = []
    for _ in range(8):
        probes.append(await fake.slash(g.alice, g.general, "filmclub about"))
        await asyncio.sleep(0.1)
    for probe in probes:
        reply = await probe.reply(timeout=10)
        assert reply.embeds and reply.embeds[0]["title"] == "filmclub", reply.content
    answers = [(await handle.reply(timeout=20)).content for handle in imports]
    assert sum(f"more than {MAX_ROWS:,} films" in a for a in answers) == 10, answers
    assert sum("previous import is still being read" in a for a in answers) == 1, answers
    await proc.stop()
