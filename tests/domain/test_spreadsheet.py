"""The Spreadsheet's pure rules: stars to thumbs, averages, club watched marks, the sheet, its CSV."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

import pytest

from bot.domain.csvsafe import safe_cell
from bot.domain.films import load_catalogue
from bot.domain.spreadsheet import (
    Check,
    average,
    build_sheet,
    ceremony_ordinal,
    check_comment,
    club_watched,
    format_average,
    sheet_csv,
    stars_to_thumbs,
    thumbs_to_stars,
)
from bot.domain.theme import check_title, complete_shelf, parse_shelf
from bot.errors import UserError


@pytest.mark.parametrize(
    ("stars", "thumbs"),
    [(0.5, 1), (1.0, 1), (1.5, 2), (2.0, 2), (2.5, 3), (3.0, 3), (3.5, 4), (4.0, 4), (4.5, 5), (5.0, 5)],
)
def test_stars_to_thumbs_rounds_half_up(stars: float, thumbs: int) -> None:
    assert stars_to_thumbs(stars) == thumbs


def test_stars_to_thumbs_clamps_and_refuses_nan() -> None:
    assert stars_to_thumbs(0.0) == 1
    assert stars_to_thumbs(7.0) == 5
    with pytest.raises(ValueError):
        stars_to_thumbs(float("nan"))


def test_thumbs_round_trip_through_stars() -> None:
    for thumbs in range(1, 6):
        assert stars_to_thumbs(thumbs_to_stars(thumbs)) == thumbs
    with pytest.raises(ValueError):
        thumbs_to_stars(0)


def test_average_rounds_half_up_to_one_decimal() -> None:
    assert average([]) is None
    assert average([4, 5]) == 4.5
    assert average([3, 4, 4]) == 3.7  # 3.666...
    assert average([1, 2, 2, 2]) == 1.8  # 1.75 rounds up, not to even
    assert format_average(None) == "–" and format_average(4.0) == "4.0"


def test_ceremony_ordinal() -> None:
    assert ceremony_ordinal(2014) == "86th"
    assert ceremony_ordinal(1929) == "1st"
    assert ceremony_ordinal(2023) == "95th"
    assert ceremony_ordinal(1940) == "12th"
    assert ceremony_ordinal(2021) == "93rd"


def test_comment_rules() -> None:
    assert check_comment("  so   good \n") == "so good"
    assert len(check_comment("x" * 280)) == 280
    with pytest.raises(UserError, match="281 characters"):
        check_comment("x" * 281)
    with pytest.raises(UserError):
        check_comment("   ")


def test_club_watched_by_screening_check_and_uncheck() -> None:
    assert club_watched([], [], None) is None
    assert club_watched([100, 50], [200, 150], None) == 50
    assert club_watched([], [], Check(True, at=900, watched_at=700)) == 700
    assert club_watched([1000], [1100], Check(True, at=900, watched_at=700)) == 700
    # An uncheck hides screenings that ended before it, not ones that finish later.
    assert club_watched([100], [200], Check(False, at=300)) is None
    assert club_watched([100, 400], [200, 500], Check(False, at=300)) == 400


def test_build_sheet_club_progress_and_averages() -> None:
    cat = load_catalogue()
    groups = cat.best_picture_by_ceremony()
    total = sum(len(films) for films in groups.values())
    sheet = build_sheet(
        cat,
        club_watched_at={"her-2013": 1000, "oppenheimer-2023": 2000, "rocky-ii-1979": 5},
        ratings=[("her-2013", 1, 4), ("her-2013", 2, 5), ("her-2013", 3, 2), ("oppenheimer-2023", 1, 5)],
        comments=[("her-2013", 2, "Lovely"), ("tar-2022", 9, "Odd")],
    )
    assert sheet.total == total
    assert sheet.watched == 2  # Rocky II is not a nominee: not on the sheet
    assert sheet.progress_line == f"2 of {total} watched"
    her = sheet.row("her-2013")
    assert her is not None and her.watched and her.watched_at == 1000
    assert her.average == 3.7 and her.comments == {2: "Lovely"}
    assert sheet.members == (1, 2, 3, 9)
    assert [g.ceremony for g in sheet.groups] == sorted(groups)
    g2014 = sheet.groups[sheet.index_of(2014)]
    assert g2014.watched == 1 and g2014.total == len(groups[2014])
    assert g2014.rows[0].film.is_winner  # the winner comes first
    assert "86th Academy Awards (2014)" in g2014.title and "films of 2013" in g2014.title
    with pytest.raises(UserError, match="no 1999 ceremony"):
        sheet.index_of(1999)


def test_member_sheet_keeps_only_their_marks() -> None:
    cat = load_catalogue()
    sheet = build_sheet(
        cat,
        club_watched_at={"her-2013": 1000},
        ratings=[("her-2013", 1, 4), ("tar-2022", 2, 5), ("parasite-2019", 2, 3)],
        comments=[("her-2013", 1, "mine"), ("her-2013", 2, "theirs")],
        member_id=2,
        member_watched_at={"dune-2021": 77},
    )
    assert sheet.watched == 3  # tar and parasite (rated), dune (marked); not her (club only)
    her = sheet.row("her-2013")
    assert her is not None and not her.watched and her.ratings == {} and her.comments == {2: "theirs"}
    dune = sheet.row("dune-2021")
    assert dune is not None and dune.watched and dune.watched_at == 77


def test_sheet_csv_parses_back() -> None:
    cat = load_catalogue()
    sheet = build_sheet(
        cat,
        club_watched_at={"her-2013": 1_388_577_600},  # 2014-01-01 12:00 UTC
        ratings=[("her-2013", 1, 4), ("her-2013", 2, 5)],
        comments=[("her-2013", 2, 'Said "hi", then, left')],
    )
    text = sheet_csv(sheet, {1: "Ana", 2: "Ana"}, ZoneInfo("Pacific/Auckland"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == sheet.total
    her = next(r for r in rows if r["Film"] == "Her")
    assert her["Year"] == "2013" and her["Ceremony"] == "2014" and her["Best Picture"] == "nominee"
    assert her["Watched"] == "yes" and her["Watched date"] == "2014-01-02"  # the server's time zone
    assert her["Average thumbs"] == "4.5" and her["Ratings"] == "2"
    # Two members with one name get their ids in their columns.
    assert her["Ana (1) thumbs"] == "4" and her["Ana (2) thumbs"] == "5"
    assert her["Ana (2) comment"] == 'Said "hi", then, left' and her["Ana (1) comment"] == ""
    tar = next(r for r in rows if r["Film"] == "Tár")
    assert tar["Watched"] == "no" and tar["Watched date"] == "" and tar["Average thumbs"] == ""


def test_member_text_never_becomes_a_formula() -> None:
    assert safe_cell("=SUM(A1:A9)") == "'=SUM(A1:A9)"
    assert [safe_cell(x) for x in ("+1", "-1", "@me")] == ["'+1", "'-1", "'@me"]
    assert safe_cell("Great = good") == "Great = good" and safe_cell("") == ""
    sheet = build_sheet(load_catalogue(), club_watched_at={}, ratings=[("her-2013", 1, 4)],
                        comments=[("her-2013", 1, "=1+1")])  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(sheet_csv(sheet, {1: "@ana"}, ZoneInfo("UTC")))))
    her = next(r for r in rows if r["Film"] == "Her")
    assert her["'@ana thumbs"] == "4" and her["'@ana comment"] == "'=1+1"


def test_theme_shelf_rules() -> None:
    films = parse_shelf("Her (2013); ex machina ;; WALL-E ")
    assert [f.key for f in films] == ["her-2013", "ex-machina-2014", "wall-e-2008"]
    with pytest.raises(UserError, match="Film 2 of the list is 201 characters long"):
        parse_shelf("Her (2013); " + "x" * 201)
    with pytest.raises(UserError, match="on the list twice"):
        parse_shelf("Her (2013); HER")
    with pytest.raises(UserError, match="at most 25"):
        parse_shelf(";".join(["Her (2013)"] * 26))
    with pytest.raises(UserError, match="Film 1 of the list"):
        parse_shelf("West Side Story")  # two films: the year is needed
    assert check_title("  Robots   with feelings ") == "Robots with feelings"
    with pytest.raises(UserError, match="101 characters"):
        check_title("x" * 101)
    assert complete_shelf("Her (2013); ex mach", load_catalogue())[0] == "Her (2013); Ex Machina (2014)"
