"""Every kind of scheduled post, and its grace window: how late it may still go out after downtime.

One table, so the README's rule ("a post late by less than its grace window still goes out; an older one is
marked missed and moderators are told") has one set of numbers. The windows are chosen for what members
expect of each post:

* a reminder is only useful before the screening, and one that arrives long after it was due reads like a
  mistake: 15 minutes;
* "Now showing" is still useful while the film is in its first half hour: 30 minutes;
* a teaser sent "now" by a moderator: 15 minutes; a custom teaser: 1 hour; the post-credits teaser (right after
  a screening ends): 2 hours; the teasers a week or a day ahead: 6 hours;
* the next-day discussion thread is fine a day late: 1 day;
* a pet's anniversary is still the right day for 12 hours;
* a plain queued message (the schedule cog's own kind): 15 minutes;
* closing a poll, finishing a screening and announcing a series' next night (bookkeeping) are never skipped:
  ``None`` means "always, however late".

Pure data: no discord, aiosqlite or db imports.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

SCREENING_REMINDER: Final = "screening.reminder"
SCREENING_PERSONAL_REMINDER: Final = "screening.personal_reminder"
SCREENING_START: Final = "screening.start"
SCREENING_FINISH: Final = "screening.finish"
SCREENING_DISCUSSION: Final = "screening.discussion"
AWARD_CLOSE: Final = "award.close"
BASIL_ANNIVERSARY: Final = "basil.anniversary"
TEASER_POSTCREDITS: Final = "teaser.postcredits"
TEASER_BEFORE: Final = "teaser.before"
TEASER_CUSTOM: Final = "teaser.custom"
TEASER_NOW: Final = "teaser.now"
MESSAGE: Final = "message"
SERIES_PLAN: Final = "series.plan"

#: kind -> grace window; None = always sent, however late.
GRACE: Final[dict[str, timedelta | None]] = {
    SCREENING_REMINDER: timedelta(minutes=15),
    SCREENING_PERSONAL_REMINDER: timedelta(minutes=15),
    SCREENING_START: timedelta(minutes=30),
    SCREENING_FINISH: None,
    SCREENING_DISCUSSION: timedelta(days=1),
    AWARD_CLOSE: None,
    BASIL_ANNIVERSARY: timedelta(hours=12),
    TEASER_POSTCREDITS: timedelta(hours=2),
    TEASER_BEFORE: timedelta(hours=6),
    TEASER_CUSTOM: timedelta(hours=1),
    TEASER_NOW: timedelta(minutes=15),
    MESSAGE: timedelta(minutes=15),
    SERIES_PLAN: None,
}

#: What the README and ``/schedule list`` call each kind.
LABELS: Final[dict[str, str]] = {
    SCREENING_REMINDER: "screening reminder",
    SCREENING_PERSONAL_REMINDER: "personal reminder",
    SCREENING_START: '"Now showing"',
    SCREENING_FINISH: "end of a screening",
    SCREENING_DISCUSSION: "next-day discussion",
    AWARD_CLOSE: "poll closing",
    BASIL_ANNIVERSARY: "anniversary",
    TEASER_POSTCREDITS: "post-credits teaser",
    TEASER_BEFORE: "teaser before a screening",
    TEASER_CUSTOM: "custom teaser",
    TEASER_NOW: "teaser sent now",
    MESSAGE: "queued message",
    SERIES_PLAN: "announcing a series' next night",
}


def grace_for(kind: str) -> timedelta | None:
    """The grace window of ``kind``; raises ``KeyError`` for a kind missing from the table."""
    return GRACE[kind]


def is_missed(kind: str, late_by: timedelta) -> bool:
    """True when a post of ``kind`` that is ``late_by`` late must not go out any more."""
    grace = grace_for(kind)
    return grace is not None and late_by > grace
