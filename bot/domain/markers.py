"""Identity markers: the exact texts by which the bot recognises its own things later.

After a crash, a restart or a long outage the bot finds what it already did by these markers: a poll post by
its footer, a results post by its file name, a resent message by its nonce, the scheduled posts of a poll or a
screening by their key prefix. Posts made by an earlier version carry the markers of that version, so
rewording one silently breaks recovery: change them only with a migration of the stored keys, and the test
(tests/domain/test_markers.py) pins each one.
"""

from __future__ import annotations


# --------------------------------------------------------------------------- award polls
def award_poll_footer(poll_id: int, runoff_of: int | None = None) -> str:
    """The poll post's footer; a poll whose post id was never stored (crash while opening) is found by it."""
    return f"Award poll #{poll_id}" + (f" · runoff of #{runoff_of}" if runoff_of else "")


def award_results_file(poll_id: int) -> str:
    """The results chart's file name; an earlier results post is found by it before posting again."""
    return f"award-{poll_id}.png"


def award_results_nonce(poll_id: int, fallback: bool = False) -> str:
    """The results post's nonce (``fallback``: posted in the announcements channel instead)."""
    return f"fcaward{poll_id}" + ("b" if fallback else "")


def award_key_prefix(poll_id: int) -> str:
    """Every scheduled post of a poll (its closing) has a key starting with this."""
    return f"award:{poll_id}:"


def award_close_key(poll_id: int) -> str:
    return f"{award_key_prefix(poll_id)}close"


# --------------------------------------------------------------------------- screenings
def screening_key_prefix(screening_id: int) -> str:
    """Every scheduled post of a screening (reminders, start, end, discussion) has a key starting with this."""
    return f"screening:{screening_id}:"


def screening_personal_prefix(screening_id: int, user_id: int) -> str:
    """A member's personal reminders of a screening."""
    return f"{screening_key_prefix(screening_id)}personal:{user_id}:"


# --------------------------------------------------------------------------- series of club nights
def series_key_prefix(series_id: int) -> str:
    """Every scheduled post of a series (its planner) has a key starting with this."""
    return f"series:{series_id}:"


def series_plan_key(series_id: int, due_ts: int) -> str:
    """The planner's post that announces the series' next night(s), due at ``due_ts``."""
    return f"{series_key_prefix(series_id)}plan@{due_ts}"


def series_night_nonce(series_id: int, starts_at: int) -> str:
    """A night's announcement nonce: the same night always sends the same one, so a resend after a crash is
    dropped by Discord (at most 25 characters)."""
    return f"s{series_id}n{starts_at}"[:25]


def series_calendar_uid(series_id: int, guild_id: int) -> str:
    """The series' calendar UID: a calendar app updates the same event when the file is imported again."""
    return f"series-{series_id}-{guild_id}@filmclub"


# --------------------------------------------------------------------------- scheduled posts
def scheduled_post_nonce(post_id: int) -> str:
    """Sent with a scheduled post's message so Discord drops a second copy (``enforce_nonce``)."""
    return f"fcsp{post_id}"
