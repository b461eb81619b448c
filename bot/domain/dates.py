"""Calendar dates without a time, e.g. a pet's birth and passing dates for Basil's Corner.

Accepted (case-insensitive, commas and ``the``/``of`` ignored): ``2024-05-01``, ``2024/05/01``,
``May 1 2024``, ``May 1, 2024``, ``1 May 2024``, ``1st of May 2024``, ``may 1st 2024``.
A day, a month and a four-digit year are all required: ``May 2024`` and ``May 1`` are refused.
All-number dates other than year-month-day (``1/5/2024``) are refused as ambiguous.
Errors are :class:`~bot.domain.timeparse.TimeParseError` with two examples to copy.
"""

from __future__ import annotations

import re
from datetime import date

from bot.domain.timeparse import (
    MONTHS,
    TimeParseError,
    check_day_exists,
    echo,
    match_month_day,
    normalize,
    numeric_date_error,
    parse_iso_date,
)

__all__ = ["parse_date"]

EXAMPLES = "Try `2024-05-01` or `1 May 2024`."

_NUMERIC_RE = re.compile(r"^\d{1,2}[/.\-]\d{1,2}(?:[/.\-]\d{2,4})?\.?$")
_YEAR_RE = re.compile(r"^\d{4}$")


def parse_date(text: str) -> date:
    """Read a calendar date; raise :class:`TimeParseError` with examples if it can't be read."""
    tokens = normalize(text)
    if not tokens:
        raise TimeParseError(f"Please give a date. {EXAMPLES}")
    for tok in tokens:
        if _NUMERIC_RE.match(tok):
            raise numeric_date_error(tok, EXAMPLES)
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
