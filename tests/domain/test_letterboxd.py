"""Reading Letterboxd export files, matching them to the catalogue, planning an import, writing one."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from bot.domain.films import load_catalogue
from bot.domain.letterboxd import (
    MAX_BYTES,
    ClubRating,
    LetterboxdError,
    PriorImport,
    RatingOut,
    export_csv,
    match_entries,
    parse_export,
    plan_import,
)

DIARY = (
    "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n"
    "2024-01-03,Les Misérables,2012,https://boxd.it/1,4.5,,,2024-01-02\n"
    "2024-02-01,Dune,1984,https://boxd.it/2,2,,,2024-01-30\n"
    "2024-02-02,Dune,2021,https://boxd.it/3,3.5,,,2024-02-01\n"
    '2024-03-01,"Tar",2022,https://boxd.it/4,,,"moody, long",2024-02-28\n'
    "2024-03-05,Her,2013,https://boxd.it/5,3,Yes,,2024-03-04\n"
    "2024-01-01,Her,2013,https://boxd.it/5,5,,,2023-12-31\n"
    "2024-04-01,A Film Nobody Made,2024,https://boxd.it/6,1,,,2024-03-31\n"
)


def test_parse_diary_with_bom_and_crlf() -> None:
    data = ("\ufeff" + DIARY).replace("\n", "\r\n").encode("utf-8")
    export = parse_export(data, "diary.csv")
    assert export.kind == "diary"
    assert len(export.entries) == 7
    first = export.entries[0]
    assert (first.row, first.name, first.year, first.stars, first.watched_on) == (
        2, "Les Misérables", 2012, 4.5, date(2024, 1, 2)
    )
    assert export.entries[3].stars is None and export.entries[3].name == "Tar"


def test_kinds_by_columns() -> None:
    ratings = b"Date,Name,Year,Letterboxd URI,Rating\n2024-01-01,Her,2013,https://boxd.it/5,4\n"
    watched = b"Date,Name,Year,Letterboxd URI\n2024-01-01,Her,2013,https://boxd.it/5\n\n"
    assert parse_export(ratings, "ratings.csv").kind == "ratings"
    got = parse_export(watched, "watched.csv")
    assert got.kind == "watched" and got.entries[0].stars is None and got.entries[0].watched_on is None


@pytest.mark.parametrize(
    ("data", "name", "needle"),
    [
        (b"Title,Year,Rating\nHer,2013,4\n", "ratings.csv", "row 1 (the header) has no `Date`, `Name`"),
        (b"Date,Name,Year,Letterboxd URI\n2024-01-01,Her,2013,x\n2024-01-01,Caf\xe9,2013,x\n", "w.csv", "row 3"),
        (b"Date,Name,Year,Letterboxd URI,Rating\n2024-01-01,Her,2013,x,7\n", "r.csv", "Row 2 (`Her`): the Rating `7`"),
        (b"Date,Name,Year,Letterboxd URI,Rating\n2024-01-01,Her,2013,x,4.2\n", "r.csv", "Rating `4.2`"),
        (b"Date,Name,Year,Letterboxd URI\n2024-01-01,Her,20x3,x\n", "w.csv", "Row 2 (`Her`): the Year `20x3`"),
        (b"Date,Name,Year,Letterboxd URI\n\n01/02/2024,Her,2013,x\n", "w.csv", "Row 3 (`Her`): the Date `01/02/2024`"),
        (b"Date,Name,Year,Letterboxd URI\n2024-01-01,,2013,x\n", "w.csv", "Row 2 has no film name"),
        (b"Date,Name,Year,Letterboxd URI\n2024-01-01,Her,2013,x,extra\n", "w.csv", "Row 2 has 5 values"),
        (b"Date,Name,Year,Letterboxd URI\n2024-01-01,\"Her,2013,x\n", "w.csv", "can't be read as CSV"),
        (b"", "w.csv", "empty"),
        (b"Date,Name,Year,Letterboxd URI\n", "watchlist.csv", "watchlist"),
        (b"Date,Name,Year,Letterboxd URI\n", "export.zip", "not a CSV file"),
    ],
)
def test_bad_files_are_refused_with_problem_and_row(data: bytes, name: str, needle: str) -> None:
    with pytest.raises(LetterboxdError) as caught:
        parse_export(data, name)
    assert needle in caught.value.message


def test_too_big() -> None:
    data = b"Date,Name,Year,Letterboxd URI\n" + b"2024-01-01,Her,2013,x\n" * (MAX_BYTES // 20)
    assert len(data) > MAX_BYTES
    with pytest.raises(LetterboxdError, match="up to 2 MB"):
        parse_export(data, "watched.csv")


def test_matching_accents_remakes_and_merging() -> None:
    export = parse_export(DIARY.encode(), "diary.csv")
    result = match_entries(export.entries, load_catalogue())
    by_key = {m.film.key: m for m in result.matched}
    assert set(by_key) == {"les-miserables-2012", "dune-1984", "dune-2021", "tar-2022", "her-2013"}
    assert by_key["dune-1984"].thumbs == 2 and by_key["dune-2021"].thumbs == 4  # 3.5 rounds up
    assert by_key["les-miserables-2012"].thumbs == 5
    assert by_key["tar-2022"].stars is None  # no accent, no rating: still matched
    her = by_key["her-2013"]  # rewatched: the latest rated watch wins, the first watch date stays
    assert her.stars == 3 and her.watched_on == date(2023, 12, 31) and her.rows == (6, 7)
    assert [e.name for e in result.unmatched] == ["A Film Nobody Made"]


def test_year_that_matches_no_remake_is_unmatched() -> None:
    export = parse_export(b"Date,Name,Year,Letterboxd URI\n2024-01-01,A Star Is Born,1954,x\n", "w.csv")
    result = match_entries(export.entries, load_catalogue())
    assert result.matched == () and result.unmatched[0].label == "A Star Is Born (1954)"


def test_plan_import_rule() -> None:
    export = parse_export(DIARY.encode(), "diary.csv")
    result = match_entries(export.entries, load_catalogue())
    # Fresh member: every rated film gets a rating, every film is new.
    plan = plan_import(result, {}, {}, set())
    assert {m.film.key for m in plan.add} == {"les-miserables-2012", "dune-1984", "dune-2021", "her-2013"}
    assert len(plan.new) == 5 and plan.update == () and plan.kept == ()
    # The same file again after it was applied at t=100: nothing changes.
    club = {m.film.key: ClubRating(m.thumbs or 0, 100) for m in plan.add}
    prior = {m.film.key: PriorImport(m.thumbs or 0, 100) for m in plan.add}
    watched = {m.film.key for m in plan.matched}
    again = plan_import(result, club, prior, watched)
    assert not again.changes_anything and again.kept == ()
    # The member re-rated Her with /rate (t=200): an import keeps their rating.
    club["her-2013"] = ClubRating(1, 200)
    assert [m.film.key for m in plan_import(result, club, prior, watched).kept] == ["her-2013"]
    # A new export with a changed star rating updates what the earlier import wrote.
    club["her-2013"] = ClubRating(5, 100)
    prior["her-2013"] = PriorImport(5, 100)
    assert [m.film.key for m in plan_import(result, club, prior, watched).update] == ["her-2013"]


def test_export_csv_is_letterboxd_import_shaped() -> None:
    text = export_csv(
        [RatingOut("Les Misérables", 2012, 4, date(2024, 1, 2), "Sang along, loudly"), RatingOut("Custom", None, 1)]
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["Title", "Year", "Rating", "WatchedDate", "Review"]
    assert rows[0] == {
        "Title": "Les Misérables", "Year": "2012", "Rating": "4", "WatchedDate": "2024-01-02",
        "Review": "Sang along, loudly",
    }
    assert rows[1]["Year"] == "" and rows[1]["Rating"] == "1" and rows[1]["WatchedDate"] == ""


def test_export_csv_never_writes_a_live_formula() -> None:
    text = export_csv([RatingOut('=HYPERLINK("http://x.invalid","Her")', 2013, 4, None, "=1+1 @SUM(A1)")])
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["Title"] == '\'=HYPERLINK("http://x.invalid","Her")' and row["Review"] == "'=1+1 @SUM(A1)"
