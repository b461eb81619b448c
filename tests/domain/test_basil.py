"""Basil's Corner domain: names, species, dates, photos, card words, anniversaries."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain import basil
from bot.domain.basil import BasilError
from bot.errors import UserError

TODAY = date(2025, 6, 15)


# ----------------------------------------------------------------------------- names
def test_name_is_tidied_and_limited_to_80() -> None:
    assert basil.clean_name("  Biscuit \n  the\tdog ") == "Biscuit the dog"
    assert basil.clean_name("x" * 80) == "x" * 80
    with pytest.raises(BasilError, match=r"81 characters.*80 or fewer"):
        basil.clean_name("x" * 81)
    with pytest.raises(BasilError, match="name"):
        basil.clean_name("   ")


def test_name_key_ignores_case_and_spacing() -> None:
    assert basil.name_key("Biscuit  The Dog") == basil.name_key("biscuit the dog")
    assert basil.name_key("ＢＩＳＣＵＩＴ") == basil.name_key("biscuit")  # full-width letters
    assert basil.name_key("Biscuit") != basil.name_key("Biscuits")


def test_duplicate_message_asks_for_a_distinguishing_word() -> None:
    text = basil.duplicate_name_message("Biscuit")
    assert "already" in text and "Biscuit the cat" in text


def test_species_optional_and_limited() -> None:
    assert basil.clean_species(None) is None
    assert basil.clean_species("   ") is None
    assert basil.clean_species(" tabby   cat ") == "tabby cat"
    with pytest.raises(BasilError, match="40 characters"):
        basil.clean_species("c" * 41)


def test_story_and_tribute_limits() -> None:
    assert basil.clean_story(None) == ""
    assert basil.clean_story("  she loved the sofa  ") == "she loved the sofa"
    assert len(basil.clean_story("a" * 4000)) == 4000
    with pytest.raises(BasilError, match="4000"):
        basil.clean_story("a" * 4001)
    with pytest.raises(BasilError):
        basil.clean_tribute("   ")
    with pytest.raises(BasilError, match="1000"):
        basil.clean_tribute("a" * 1001)
    assert basil.clean_tribute(" good boy ") == "good boy"


def test_thread_name_fits_discord() -> None:
    assert basil.thread_name("Biscuit") == "Memories of Biscuit"
    long = basil.thread_name("x" * 80 + " y" * 20)
    assert len(long) <= 100 and long.startswith("Memories of ")


def test_errors_are_user_errors() -> None:
    assert issubclass(BasilError, UserError)


# ----------------------------------------------------------------------------- dates
@pytest.mark.parametrize("text", ["2024-05-01", "May 1 2024", "1 May 2024"])
def test_accepted_date_forms(text: str) -> None:
    assert basil.parse_optional_date(text, "passing") == date(2024, 5, 1)


def test_empty_date_is_none_and_bad_date_says_which() -> None:
    assert basil.parse_optional_date(None, "birth") is None
    assert basil.parse_optional_date("  ", "birth") is None
    with pytest.raises(BasilError, match=r"passing date.*2024-05-01"):
        basil.parse_optional_date("last tuesday-ish", "passing")
    with pytest.raises(BasilError, match="birth date"):
        basil.parse_optional_date("2024-02-30", "birth")


def test_passing_in_future_refused() -> None:
    with pytest.raises(BasilError, match="future"):
        basil.check_dates(None, date(2025, 6, 16), TODAY)
    assert basil.check_dates(None, TODAY, TODAY).passed == TODAY


def test_passing_before_birth_refused() -> None:
    with pytest.raises(BasilError, match="before the birth date"):
        basil.check_dates(date(2020, 1, 2), date(2020, 1, 1), TODAY)
    same = basil.check_dates(date(2020, 1, 1), date(2020, 1, 1), TODAY)
    assert same.born == same.passed == date(2020, 1, 1)


def test_birth_in_future_refused() -> None:
    with pytest.raises(BasilError, match=r"birth date.*future"):
        basil.check_dates(date(2026, 1, 1), None, TODAY)


def test_card_words() -> None:
    assert basil.format_date(date(2024, 5, 1)) == "1 May 2024"
    assert basil.dates_line(date(2010, 3, 14), date(2024, 5, 1)) == "14 March 2010 – 1 May 2024"
    assert basil.dates_line(None, date(2024, 5, 1)) == "Until 1 May 2024"
    assert basil.dates_line(date(2010, 3, 14), None) == "Born 14 March 2010"
    assert basil.dates_line(None, None) is None
    assert basil.rainbow_line("Biscuit", date(2024, 5, 1)) == "🌈 Biscuit crossed the rainbow bridge on 1 May 2024."
    assert "crossed the rainbow bridge" in basil.rainbow_line("Biscuit", None)


# ----------------------------------------------------------------------------- photos
@pytest.mark.parametrize(
    ("filename", "content_type", "ext"),
    [("a.PNG", "image/png", "png"), ("b.jpeg", "image/jpeg", "jpg"), ("c.webp", "image/webp", "webp"),
     ("d.gif", "image/gif; charset=binary", "gif")],
)
def test_images_accepted(filename: str, content_type: str, ext: str) -> None:
    assert basil.check_photo(filename, content_type, 1000) == ext


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [("notes.txt", "text/plain"), ("pic.png", "text/plain"), ("pic.exe", "image/png"), ("noext", "image/png"),
     ("pic.png", None), ("pic.svg", "image/svg+xml"), ("pic.png", "image/svg+xml")],
)
def test_non_images_refused(filename: str, content_type: str | None) -> None:
    with pytest.raises(BasilError, match=r"image|PNG"):
        basil.check_photo(filename, content_type, 1000)


def test_photo_too_large() -> None:
    with pytest.raises(BasilError, match="MB"):
        basil.check_photo("a.png", "image/png", basil.MAX_PHOTO_BYTES + 1)
    assert basil.photo_filename("jpg") == "memorial.jpg"


# ----------------------------------------------------------------------------- anniversaries
def test_anniversary_keys() -> None:
    assert basil.anniversary_key(7, 2026) == "basil:7:anniv:2026"
    assert basil.anniversary_key(7, 2026).startswith(basil.anniversary_prefix(7))
    assert not basil.anniversary_key(70, 2026).startswith(basil.anniversary_prefix(7))


def test_next_anniversary_is_at_ten_local_and_a_year_after_at_least() -> None:
    passed = date(2024, 5, 1)
    # Created the same day it happened, before 10:00: the first anniversary is next year.
    due, year = basil.next_anniversary(passed, datetime(2024, 5, 1, 6, tzinfo=UTC), "Europe/London")
    assert year == 2025
    assert due.astimezone(ZoneInfo("Europe/London")) == datetime(2025, 5, 1, 10, tzinfo=ZoneInfo("Europe/London"))
    assert due == datetime(2025, 5, 1, 9, tzinfo=UTC)  # BST
    # Years later, before the date: this year's.
    due2, year2 = basil.next_anniversary(passed, datetime(2027, 4, 30, tzinfo=UTC), "America/New_York")
    assert year2 == 2027 and due2 == datetime(2027, 5, 1, 14, tzinfo=UTC)
    # After 10:00 local on the day: next year's.
    due3, year3 = basil.next_anniversary(passed, due2, "America/New_York")
    assert year3 == 2028 and due3 > due2


def test_leap_day_anniversary_falls_on_feb_28() -> None:
    due, year = basil.next_anniversary(date(2024, 2, 29), datetime(2024, 3, 1, tzinfo=UTC), "UTC")
    assert (year, due.date()) == (2025, date(2025, 2, 28))


def test_gentle_anniversary_words() -> None:
    assert basil.years_phrase(1) == "one year"
    assert basil.years_phrase(3) == "three years"
    assert basil.years_phrase(12) == "12 years"
    text = basil.anniversary_text("Biscuit", 2, "https://discord.com/channels/1/2/3")
    assert "two years since Biscuit crossed the rainbow bridge" in text
    assert "https://discord.com/channels/1/2/3" in text
    assert "@" not in text
    assert "http" not in basil.anniversary_text("Biscuit", 1, None)


# ----------------------------------------------------------------------------- added by the audit
def test_duplicate_message_says_when_the_other_is_waiting() -> None:
    assert "waiting for approval" in basil.duplicate_name_message("Mog", waiting=True)
    assert "waiting" not in basil.duplicate_name_message("Mog")


def test_dates_before_1900_are_refused_as_typos() -> None:
    with pytest.raises(BasilError, match="too long ago"):
        basil.check_dates(None, date(1899, 12, 31), TODAY)
    assert basil.check_dates(date(1900, 1, 1), None, TODAY).born == date(1900, 1, 1)


def test_empty_photo_refused() -> None:
    with pytest.raises(BasilError, match="empty"):
        basil.check_photo("a.png", "image/png", 0)


def test_read_details_new_and_edit() -> None:
    new = basil.read_details("  cat ", "14 March 2012", "2024-05-01", TODAY)
    assert new == basil.PetDetails("cat", date(2012, 3, 14), date(2024, 5, 1))
    # A new memorial: `none` is just a word (a species called "none" is odd but not a removal).
    assert basil.read_details(None, None, None, TODAY) == basil.PetDetails(None, None, None)
    # An edit: left out keeps, `none` removes, a new value replaces, dates are checked together.
    assert basil.read_details(None, None, None, TODAY, new) == new
    assert basil.read_details("none", "-", None, TODAY, new) == basil.PetDetails(None, None, date(2024, 5, 1))
    assert basil.read_details("dog", None, "1 June 2024", TODAY, new).passed == date(2024, 6, 1)
    with pytest.raises(BasilError, match="before the birth date"):
        basil.read_details(None, "2025-01-01", None, TODAY, new)
    with pytest.raises(BasilError, match="passing date"):
        basil.read_details(None, None, "someday", TODAY, new)


def test_card_description_keeps_a_whole_story() -> None:
    rainbow = "*🌈 Biscuit crossed the rainbow bridge on 1 May 2024.*"
    assert basil.card_description(rainbow, "") == (rainbow, [])
    short = basil.card_description(rainbow, "Loved the sofa.")
    assert short == (f"{rainbow}\n\nLoved the sofa.", [])
    story = " ".join(f"word{i}" for i in range(700))  # about 5,000 characters
    result = basil.card_description(rainbow, story, room=5800)
    assert result is not None
    description, more = result
    assert description.startswith(rainbow) and len(description) <= 4096
    assert all(len(part) <= 1024 for part in more) and more
    assert " ".join([description, *more]).split()[len(rainbow.split()):] == story.split()
    assert basil.card_description(rainbow, story, room=4000) is None  # does not fit: the caller falls back


def test_story_is_never_cut_inside_an_escape() -> None:
    rainbow = "*🌈*"
    story = "\\*" * 2500  # an escaped run with no spaces, 5,000 characters
    result = basil.card_description(rainbow, story, room=6000)
    assert result is not None
    description, more = result
    for part in [description, *more]:
        trailing = len(part) - len(part.rstrip("\\"))
        assert trailing % 2 == 0
    assert "".join([description.removeprefix(rainbow + "\n\n"), *more]) == story


def test_wall_pages_respect_count_and_length() -> None:
    assert basil.pages_of([]) == []
    lines = [f"line {i}" for i in range(25)]
    assert [len(p) for p in basil.pages_of(lines)] == [10, 10, 5]
    long = ["x" * 1500] * 5
    pages = basil.pages_of(long, limit=4000)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert all(sum(len(line) + 1 for line in p) <= 4001 for p in pages)
