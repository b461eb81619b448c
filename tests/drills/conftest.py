"""The drills reuse the end-to-end ``club`` fixtures (the real FilmClubBot in-process against the fake)."""

from tests.e2e.conftest import club, db_backend, db_url, make_club

__all__ = ["club", "db_backend", "db_url", "make_club"]
