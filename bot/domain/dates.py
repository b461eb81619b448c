"""Calendar dates without a time: a pet's birth and passing dates, the day the club watched a film.

Accepted (case-insensitive, commas and ``the``/``of`` ignored): ``2024-05-01``, ``2024/05/01``,
``May 1 2024``, ``May 1, 2024``, ``1 May 2024``, ``1st of May 2024``, ``may 1st 2024``; the words
``today``, ``yesterday`` and ``tomorrow``; a weekday (``fri``, ``friday``), meaning the most recent one
(today if today is that day), since date options are about things that have happened. A time of day after
the date is allowed and ignored, so a time option's forms work here too: ``2024-02-10 20:00``,
``today 21:00``, ``fri 8pm``, ``dec 4 2024 8pm``.
With a month, the day and a four-digit year are required: ``May 2024`` and ``May 1`` are refused.
All-number dates other than year-month-day (``1/5/2024``) are refused as ambiguous, and so are times counted
from now (``in 2 hours``): they name an instant, not a day.
Errors are :class:`~bot.domain.timeparse.TimeParseError` with two examples to copy.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot.domain.timeparse import (
    MONTHS,
    WEEKDAYS,
    TimeParseError,
    check_day_exists,
    echo,
    find_time_of_day,
    match_month_day,
    normalize,
    numeric_date_error,
    parse_iso_date,
)

__all__ = ["parse_date"]

EXAMPLES = "Try `2024-05-01`, `1 May 2024` or `yesterday`."
_RELATIVE_DAYS = {"today": 0, "tonight": 0, "yesterday": -1, "tomorrow": 1, "tmrw": 1, "tmr": 1}

_NUMERIC_RE = re.compile(r"^\d{1,2}[/.\-]\d{1,2}(?:[/.\-]\d{2,4})?\.?$")
_YEAR_RE = re.compile(r"^\d{4}$")


def parse_date(text: str, today: date | None = None) -> date:
    """Read a calendar date; raise :class:`TimeParseError` with examples if it can't be read.

    ``today`` (the server's local date) is needed for ``today``/``yesterday``/``tomorrow`` and weekdays;
    without it those words are refused.
    """
    tokens = normalize(text)
    if not tokens:
        raise TimeParseError(f"Please give a date. {EXAMPLES}")
    if tokens[0] == "in":
        raise TimeParseError(f"`{echo(text)}` is a time from now; this option takes a day. {EXAMPLES}")
    for tok in tokens:
        if _NUMERIC_RE.match(tok):
            raise numeric_date_error(tok, EXAMPLES)
    _clock, rest = find_time_of_day(tokens, EXAMPLES)  # a time of day after the date is ignored
    if not rest:
        raise TimeParseError(f"`{echo(text)}` is a time of day; this option takes a day. {EXAMPLES}")
    tokens = rest
    if len(tokens) == 1 and (tokens[0] in _RELATIVE_DAYS or tokens[0] in WEEKDAYS):
        if today is None:
            raise TimeParseError(f"Please give the date itself. {EXAMPLES}")
        if tokens[0] in _RELATIVE_DAYS:
            return today + timedelta(days=_RELATIVE_DAYS[tokens[0]])
        return today - timedelta(days=(today.weekday() - WEEKDAYS[tokens[0]]) % 7)
    if len(tokens) > 1 and tokens[0] in WEEKDAYS:
        tokens = tokens[1:]  # "fri 2024-02-09": the date decides
    if len(tokens) == 1:
        iso = parse_iso_date(tokens[0], EXAMPLES)
        if iso is not None:
            return iso
    md = match_month_day(tokens)
    if md is not None:
        month, day, year = md
        if year is None:
            raise TimeParseError(f"`{echo(text)}` needs the year too. {EXAMPLES}")
        check_day_exists(year, month, day, EXAMPLES)
        return date(year, month, day)
    if len(tokens) == 2 and (
        (tokens[0] in MONTHS and _YEAR_RE.match(tokens[1])) or (tokens[1] in MONTHS and _YEAR_RE.match(tokens[0]))
    ):
        raise TimeParseError(f"`{echo(text)}` needs the day of the month too. {EXAMPLES}")
    raise TimeParseError(f"I couldn't read `{echo(text)}` as a date. {EXAMPLES}")
