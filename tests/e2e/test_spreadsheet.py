"""The Spreadsheet, Letterboxd import/export and the theme shelf, end to end through the fake Discord.

The fake clock starts on Monday 2026-01-05 12:00 UTC; the server's time zone is Europe/London
(UTC in January), so "tomorrow 8pm" is Tuesday 2026-01-06 20:00 UTC.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.films import load_catalogue
from db import screenings as screenings_repo
from db import spreadsheet as sheet_repo
from db import theme as theme_repo
from tests.e2e.conftest import Club
from tests.fakediscord.models import Message

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
        ("watched.csv", b"Date,Name,Year,Letterboxd URI\n" + b"2025-01-01,Her,2013,x\n" * 110_000, "up to 2 MB"),
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
