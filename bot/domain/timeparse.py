"""The bot's one parser for "when" input, plus Discord timestamp helpers.

Pure domain code: no discord, no database. Every function takes the current
instant (``now``, timezone-aware UTC, from the injected clock) and the server's
IANA time zone, and returns timezone-aware UTC datetimes.

Why a hand grammar and not a library such as ``dateparser``: see the
"Time parser" section of ``docs/benchmarks.md``. In short: standard library only, a few
milliseconds to import and ~20 µs per parse (dateparser: ~70 ms import, ~110 ms warm-up on
first use, ~0.7 ms per parse), and every rule below is ours to document and test, so members
get the same answer every time and a clear refusal (with examples) instead of a guess.

Accepted input (case and spacing do not matter; ``at``/``on``/``the``/``of`` are ignored)
------------------------------------------------------------------------------------------
Times of day
    ``8pm``, ``8 pm``, ``8:30pm``, ``8:30 p.m.`` (hours 1-12 with am/pm; ``12am`` is 00:00,
    ``12pm`` is noon); ``20:00``, ``8:00``, ``20:00:30`` (24-hour clock whenever there is a
    colon and no am/pm); ``noon``; ``midnight``.
    A bare number such as ``8`` is refused as ambiguous (morning or evening?), and so is
    ``20`` (write ``20:00``).
    ``midnight`` means the end of the named day, i.e. 00:00 of the following day: ``fri midnight``
    is the night from Friday to Saturday, bare ``midnight`` is the coming one.
Days
    (nothing)                   today. If the time has already passed the input is refused with a
                                hint to say ``tomorrow``; it never silently rolls over.
    ``today``, ``tonight``      today (``tonight`` is just a friendlier ``today``).
    ``tomorrow`` (``tmrw``)     tomorrow.
    ``fri``, ``friday``         the next Friday on which that time is still ahead: today if today is a
                                Friday and the time has not passed yet, otherwise within 7 days.
                                ``this fri`` is the same.
    ``next fri``                always 7 days after what ``fri`` would give, i.e. the Friday after
                                the coming one. (People disagree about "next Friday", so the bot
                                should echo the resolved date back; ``format_full`` does that.)
    ``2026-12-04`` (also ``2026-12-04T20:00``)
    ``dec 4``, ``december 4``, ``4 dec``, ``4th of december``, optionally with a year
    (``dec 4 2026``, ``4 december 2026``). Without a year the next occurrence is meant: this year
    unless that date is already behind today, else next year (Feb 29 goes to the next leap year).
    If the date is today and the time has passed, the input is refused as past (a year's jump
    would surprise more than help). A leading weekday (``fri dec 4``) is checked against the date.
    ``2026/12/04`` is read as year-month-day too. ``12/4``, ``4-12-2026`` and other all-number
    dates are refused (12 April or 4 December?), even when only one reading is valid, so the
    rule stays simple; dotted forms (``4.12``, ``8.30pm``) are refused as well.
Relative
    ``in 2 hours``, ``in 90 minutes``, ``in 1h30m``, ``in 1 hour and 30 minutes``, ``in an hour``,
    ``in 3 days``, ``in 2 weeks``, ``in 3 days 8pm``.
    Hours and minutes are exact elapsed time, whatever the clocks do in between.
    Days and weeks move the calendar date and keep the local wall-clock time (``in 3 days`` at
    20:00 is 20:00 three days later, even across a DST change); should that wall time fall in a
    spring-forward gap it is moved forward by the gap (02:30 becomes 03:30). With a time of day
    (``in 3 days 8pm``) only whole days/weeks may be given.

Daylight saving time
    A wall time that does not exist (inside the spring-forward gap, e.g. 2026-03-08 02:30 in
    America/New_York) is refused with a message that says the clocks skip that hour and
    offers the times on either side of the gap. A wall time that happens twice (fall-back, e.g.
    2026-11-01 01:30 in America/New_York) means the first of the two (``fold=0``, still on
    summer time).

Limits
    The result must be after ``now`` unless ``allow_past=True`` (that only lifts the check; the
    day rules above stay the same). With ``max_ahead`` the result may be at most that far ahead.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import UserError

__all__ = [
    "DISCORD_STYLES",
    "TimeParseError",
    "discord_timestamp",
    "format_full",
    "format_ts",
    "parse_when",
    "to_zone",
]


class TimeParseError(UserError, ValueError):
    """Input that cannot be read as a time or date. ``message`` is fit to show the member."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------- vocab

# English names, spelled out rather than taken from ``calendar`` (which follows the C locale).
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
MONTH_ABBR = tuple(name[:3].lower() for name in MONTH_NAMES)
MONTHS: dict[str, int] = {}
for _number, _name in enumerate(MONTH_NAMES, start=1):
    MONTHS[_name.lower()] = _number
    MONTHS[_name[:3].lower()] = _number
MONTHS["sept"] = 9

WEEKDAYS: dict[str, int] = {
    "mon": 0, "monday": 0,
    "tue": 1, "tues": 1, "tuesday": 1,
    "wed": 2, "weds": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3,
    "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5,
    "sun": 6, "sunday": 6,
}  # fmt: skip

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAY_ABBR = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

FILLERS = frozenset({"at", "on", "the", "of", "@"})

_DAY_RE = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$")
_YEAR_RE = re.compile(r"^\d{4}$")
_ISO_RE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
_AMPM_RE = re.compile(r"^(\d{1,2})(?::(\d{2}))?(am|pm)$")
_H24_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_TIMEISH_RE = re.compile(r"^\d+(?::\d+){1,2}$|^\d+(?::\d+)?(?:am|pm)$")
_BARE_INT_RE = re.compile(r"^\d{1,2}$")
_NUMERIC_DATE_RE = re.compile(r"^\d{1,2}[/\-]\d{1,2}(?:[/\-]\d{2,4})?$")
_DOTTED_RE = re.compile(r"^\d{1,4}\.\d{1,2}(?:\.\d{0,4})?(?:am|pm)?$")

_AMPM_JOIN_RE = re.compile(r"(\d)\s*([ap])\.?\s?m\b\.?")
_ISO_T_RE = re.compile(r"(\d{4}[-/]\d{1,2}[-/]\d{1,2})t(?=\d)")
_SPACE_RE = re.compile(r"\s+")

_UNITS: dict[str, str] = {
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "weeks"),
    **dict.fromkeys(("d", "day", "days"), "days"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "hours"),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "minutes"),
}
_REL_PART_RE = re.compile(r"(\d+|an?|one)\s*([a-z]+)")

DISCORD_STYLES = frozenset("tTdDfFR")


# --------------------------------------------------------------------------- helpers


def to_zone(tz: ZoneInfo | str) -> ZoneInfo:
    """The ``ZoneInfo`` for ``tz``; an unknown name raises :class:`TimeParseError`."""
    if isinstance(tz, ZoneInfo):
        return tz
    name = tz.strip()
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeParseError(
            f"`{echo(tz)}` isn't a time zone I know. Use an IANA name such as `Europe/London` or `America/New_York`."
        ) from None


def echo(text: str, limit: int = 40) -> str:
    """User input made safe to quote inside backticks in a message."""
    flat = _SPACE_RE.sub(" ", text.replace("`", "'")).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def normalize(text: str) -> list[str]:
    """Lower-case tokens: commas dropped, ``8 p.m.`` joined to ``8pm``, ISO ``T`` split off."""
    s = text.casefold().replace(",", " ")
    s = _AMPM_JOIN_RE.sub(r"\1\2m", s)
    s = _ISO_T_RE.sub(r"\1 ", s)
    tokens = []
    for tok in s.split():
        tok = tok.rstrip(".") if not _DOTTED_RE.match(tok) else tok
        if tok and tok not in FILLERS:
            tokens.append(tok)
    return tokens


def _check_aware(name: str, dt: datetime) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {dt!r})")


def parse_day_number(token: str) -> int | None:
    """``4``, ``4th``, ``21st`` -> the number, else None (no range check)."""
    m = _DAY_RE.match(token)
    return int(m.group(1)) if m else None


def match_month_day(tokens: Sequence[str]) -> tuple[int, int, int | None] | None:
    """``[dec, 4]``, ``[4, dec]``, with an optional 4-digit year last -> (month, day, year|None).

    Returns None when the tokens have another shape. Day range is not checked here.
    """
    year: int | None = None
    toks = list(tokens)
    if len(toks) == 3 and _YEAR_RE.match(toks[2]):
        year = int(toks[2])
        toks = toks[:2]
    if len(toks) != 2:
        return None
    a, b = toks
    if a in MONTHS and (day := parse_day_number(b)) is not None:
        return MONTHS[a], day, year
    if b in MONTHS and (day := parse_day_number(a)) is not None:
        return MONTHS[b], day, year
    return None


def check_day_exists(year: int | None, month: int, day: int, examples: str) -> None:
    """Raise a friendly error if ``day`` is not in ``month`` (of ``year``, or of any year)."""
    if year is not None and year < 1:
        raise TimeParseError(f"There's no year {year}: years start at 1. {examples}")
    last = calendar.monthrange(year if year is not None else 2000, month)[1]
    if 1 <= day <= last:
        return
    name = MONTH_NAMES[month - 1]
    if day == 29 and month == 2 and year is not None:
        raise TimeParseError(f"{year} isn't a leap year, so February {year} has no 29th. {examples}")
    if day < 1:
        raise TimeParseError(f"There's no day {day} in a month: days start at 1. {examples}")
    raise TimeParseError(f"{name} has only {last} days, so there's no {name} {day}. {examples}")


def parse_iso_date(token: str, examples: str) -> date | None:
    """``2026-12-04`` (or ``2026/12/04``) -> date; None if not that shape; error if no such day."""
    m = _ISO_RE.match(token)
    if m is None:
        return None
    year, month, day = (int(g) for g in m.groups())
    if not 1 <= month <= 12:
        raise TimeParseError(f"`{echo(token)}` has no month {month}: dates are year-month-day. {examples}")
    check_day_exists(year, month, day, examples)
    return date(year, month, day)


def numeric_date_error(token: str, examples: str) -> TimeParseError:
    """The refusal for ``12/4``-style dates: day-first or month-first depends on the country."""
    first, second = (int(p) for p in re.split(r"[/.\-]", token)[:2])
    if 1 <= first <= 12 and 1 <= second <= 12 and first != second:
        why = (
            f"`{echo(token)}` is ambiguous: it could be {first} {MONTH_NAMES[second - 1]} or "
            f"{MONTH_NAMES[first - 1]} {second}, depending on the country."
        )
    else:
        why = f"I don't read all-number dates like `{echo(token)}`: some countries put the day first, others the month."
    return TimeParseError(f"{why} Write the month as a word or use year-month-day. {examples}")


def dotted_error(token: str, examples: str) -> TimeParseError:
    return TimeParseError(
        f"I can't tell whether `{echo(token)}` is a time or a date. Use a colon for times (`20:30`) "
        f"and a month name or year-month-day for dates. {examples}"
    )


@dataclass(frozen=True, slots=True)
class TimeOfDay:
    """A time of day as typed: wall time plus ``next_day`` for ``midnight`` (end of the day)."""

    at: time
    next_day: bool = False
    text: str = ""


def parse_time_of_day(token: str) -> TimeOfDay | None:
    """Read one normalized token as a time of day.

    Returns None if the token does not look like a time; raises :class:`TimeParseError` if it
    looks like one but is out of range (``13pm``, ``25:00``, ``8:75``).
    """
    if token == "noon":
        return TimeOfDay(time(12, 0), text=token)
    if token == "midnight":
        return TimeOfDay(time(0, 0), next_day=True, text=token)
    m = _AMPM_RE.match(token)
    if m:
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if not 1 <= hour <= 12 or minute > 59:
            raise TimeParseError(
                f"`{echo(token)}` isn't a time: with am/pm the hour goes from 1 to 12 and minutes "
                "from 00 to 59. Try `8pm` or `20:00`."
            )
        hour = hour % 12 + (12 if m.group(3) == "pm" else 0)
        return TimeOfDay(time(hour, minute), text=token)
    m = _H24_RE.match(token)
    if m:
        hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise TimeParseError(
                f"`{echo(token)}` isn't a time: the 24-hour clock goes from 00:00 to 23:59. Try `20:00` or `8pm`."
            )
        return TimeOfDay(time(hour, minute, second), text=token)
    if _TIMEISH_RE.match(token):
        raise TimeParseError(f"`{echo(token)}` isn't a time I can read. Try `8pm` or `20:00`.")
    return None


def ambiguous_hour_error(hour: int, rewrite: list[str], index: int) -> TimeParseError:
    """Refusal for a bare ``8``: offers the am/pm and 24-hour spellings in the member's input."""

    def with_token(tok: str) -> str:
        return " ".join([*rewrite[:index], tok, *rewrite[index + 1 :]])

    if 1 <= hour <= 12:
        evening = hour % 12 + 12
        first, second = with_token(f"{hour}pm"), with_token(f"{evening:02d}:00")
        return TimeParseError(
            f"`{hour}` on its own could be morning or evening. Say am or pm, or use the 24-hour "
            f"clock: try `{first}` or `{second}`."
        )
    if 0 <= hour <= 23:
        twelve = f"{hour % 12 or 12}{'pm' if hour >= 12 else 'am'}"
        first, second = with_token(f"{hour:02d}:00"), with_token(twelve)
        return TimeParseError(f"Please write `{hour}` as a time with minutes or am/pm: try `{first}` or `{second}`.")
    return TimeParseError(f"`{hour}` isn't an hour of the day. Try `{with_token('8pm')}` or `{with_token('20:00')}`.")


def find_time_of_day(tokens: list[str], examples: str) -> tuple[TimeOfDay | None, list[str]]:
    """Split tokens into (the one time-of-day token, the rest). Two times is an error."""
    clock: TimeOfDay | None = None
    rest: list[str] = []
    for tok in tokens:
        found = parse_time_of_day(tok)
        if found is None:
            rest.append(tok)
        elif clock is not None:
            raise TimeParseError(f"I found two times, `{clock.text}` and `{tok}`; give just one. {examples}")
        else:
            clock = found
    return clock, rest


def localize(day: date, at: time, zone: ZoneInfo) -> tuple[datetime, bool]:
    """Local wall time -> (aware UTC instant, whether the wall time exists).

    An ambiguous (fall-back) wall time gives the first occurrence (``fold=0``). A wall time in a
    spring-forward gap does not exist; the instant returned for it is the wall time moved forward
    by the gap (02:30 -> 03:30), and the flag is False.
    """
    naive = datetime.combine(day, at)
    local = naive.replace(tzinfo=zone, fold=0)
    instant = local.astimezone(UTC)
    exists = instant.astimezone(zone).replace(tzinfo=None) == naive
    return instant, exists


def format_local(dt: datetime, zone: ZoneInfo) -> str:
    """``Fri 4 Dec 2026, 20:00 (Europe/London)`` for messages."""
    local = dt.astimezone(zone)
    weekday, month = WEEKDAY_NAMES[local.weekday()][:3], MONTH_NAMES[local.month - 1][:3]
    return f"{weekday} {local.day} {month} {local.year}, {local:%H:%M} ({zone.key})"


def human_delta(delta: timedelta) -> str:
    """``timedelta(days=365)`` -> ``365 days``; ``timedelta(hours=36)`` -> ``1 day 12 hours``."""
    total = int(delta.total_seconds() // 60)
    days, rem = divmod(total, 24 * 60)
    hours, minutes = divmod(rem, 60)
    parts = []
    for value, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")):
        if value:
            parts.append(f"{value} {unit}{'s' if value != 1 else ''}")
    return " ".join(parts) or "0 minutes"


# --------------------------------------------------------------------------- discord timestamps


def format_ts(dt: datetime, style: str = "F") -> str:
    """Discord timestamp markup, e.g. ``<t:1796414400:F>``; each reader sees their own time zone."""
    _check_aware("dt", dt)
    if style not in DISCORD_STYLES:
        raise ValueError(f"unknown Discord timestamp style {style!r}; use one of {sorted(DISCORD_STYLES)}")
    return f"<t:{int(dt.timestamp())}:{style}>"


discord_timestamp = format_ts


def format_full(dt: datetime) -> str:
    """Full date and time plus relative: ``<t:X:F> (<t:X:R>)``."""
    return f"{format_ts(dt, 'F')} ({format_ts(dt, 'R')})"


# --------------------------------------------------------------------------- the parser


@dataclass(frozen=True, slots=True)
class _Fixed:
    day: date


@dataclass(frozen=True, slots=True)
class _Weekday:
    weekday: int
    skip: bool  # "next fri"


@dataclass(frozen=True, slots=True)
class _MonthDay:
    month: int
    day: int


_DateSpec = _Fixed | _Weekday | _MonthDay


class _Ctx:
    """Per-call state: the zone, now, and example strings that are valid for this ``now``."""

    __slots__ = ("iso_example", "now", "raw", "today", "word_example", "zone")

    def __init__(self, raw: str, now: datetime, zone: ZoneInfo) -> None:
        self.raw = raw
        self.now = now
        self.zone = zone
        self.today = now.astimezone(zone).date()
        ahead = self.today + timedelta(days=7)
        self.iso_example = f"{ahead.isoformat()} 20:00"
        self.word_example = f"{MONTH_ABBR[ahead.month - 1]} {ahead.day} 8pm"

    def examples(self) -> str:
        return f"Try `fri 8pm` or `{self.iso_example}`."

    def unreadable(self) -> TimeParseError:
        return TimeParseError(f"I couldn't read `{echo(self.raw)}` as a time. {self.examples()}")


def _parse_date_tokens(tokens: list[str], ctx: _Ctx) -> _DateSpec | None:
    """Read the day part. None = not a day expression; raises for a recognised but bad day."""
    if not tokens:
        return _Fixed(ctx.today)
    if len(tokens) == 1:
        tok = tokens[0]
        if tok in ("today", "tonight"):
            return _Fixed(ctx.today)
        if tok in ("tomorrow", "tmrw", "tmr", "tomorow", "tommorow"):
            return _Fixed(ctx.today + timedelta(days=1))
        if tok in WEEKDAYS:
            return _Weekday(WEEKDAYS[tok], skip=False)
        iso = parse_iso_date(tok, ctx.examples())
        if iso is not None:
            return _Fixed(iso)
    if len(tokens) == 2 and tokens[0] in ("this", "next") and tokens[1] in WEEKDAYS:
        return _Weekday(WEEKDAYS[tokens[1]], skip=tokens[0] == "next")
    stated_weekday: int | None = None
    if tokens[0] in WEEKDAYS and len(tokens) > 1:
        stated_weekday = WEEKDAYS[tokens[0]]
        tokens = tokens[1:]
    spec: _Fixed | _MonthDay | None = None
    md = match_month_day(tokens)
    if md is not None:
        month, day, year = md
        check_day_exists(year, month, day, ctx.examples())
        spec = _MonthDay(month, day) if year is None else _Fixed(date(year, month, day))
    elif stated_weekday is not None and len(tokens) == 1:
        iso = parse_iso_date(tokens[0], ctx.examples())
        spec = _Fixed(iso) if iso is not None else None
    if spec is None or stated_weekday is None:
        return spec
    # A weekday was given together with a date: the two must agree.
    resolved = spec.day if isinstance(spec, _Fixed) else _next_month_day(spec, ctx.today)
    if resolved.weekday() != stated_weekday:
        raise TimeParseError(
            f"{resolved.day} {MONTH_NAMES[resolved.month - 1]} {resolved.year} is a "
            f"{WEEKDAY_NAMES[resolved.weekday()]}, not a {WEEKDAY_NAMES[stated_weekday]}. "
            f"Try `{WEEKDAY_ABBR[resolved.weekday()]} {MONTH_ABBR[resolved.month - 1]} "
            f"{resolved.day} 8pm` or `{ctx.iso_example}`."
        )
    return spec


def _next_month_day(spec: _MonthDay, today: date) -> date:
    """The first date with this month and day on or after ``today``."""
    for year in range(today.year, today.year + 9):
        if spec.day <= calendar.monthrange(year, spec.month)[1]:
            candidate = date(year, spec.month, spec.day)
            if candidate >= today:
                return candidate
    raise AssertionError("unreachable: every valid month/day recurs within 8 years")


def _gap_error(day: date, at: time, zone: ZoneInfo) -> TimeParseError:
    instant, _ = localize(day, at, zone)
    after = instant.astimezone(zone)
    naive = datetime.combine(day, at)
    gap = after.replace(tzinfo=None) - naive
    before = naive - gap
    return TimeParseError(
        f"The clocks go forward on {day.isoformat()} in {zone.key}, so {at:%H:%M} doesn't exist "
        f"that day. Try `{before:%Y-%m-%d %H:%M}` or `{after:%Y-%m-%d %H:%M}`."
    )


def _at(day: date, clock: TimeOfDay, zone: ZoneInfo, *, strict: bool) -> datetime:
    if clock.next_day:
        day = day + timedelta(days=1)
    instant, exists = localize(day, clock.at, zone)
    if strict and not exists:
        raise _gap_error(day, clock.at, zone)
    return instant


def _resolve(spec: _DateSpec, clock: TimeOfDay, ctx: _Ctx) -> datetime:
    if isinstance(spec, _Fixed):
        return _at(spec.day, clock, ctx.zone, strict=True)
    if isinstance(spec, _MonthDay):
        return _at(_next_month_day(spec, ctx.today), clock, ctx.zone, strict=True)
    day = ctx.today + timedelta(days=(spec.weekday - ctx.today.weekday()) % 7)
    if _at(day, clock, ctx.zone, strict=False) <= ctx.now:
        day += timedelta(days=7)
    if spec.skip:
        day += timedelta(days=7)
    return _at(day, clock, ctx.zone, strict=True)


def _parse_relative(tokens: list[str], ctx: _Ctx) -> datetime:
    clock, rest = find_time_of_day(tokens, ctx.examples())
    body = " ".join(t for t in rest if t != "and")
    amounts = {"weeks": 0, "days": 0, "hours": 0, "minutes": 0}
    pos = 0
    for m in _REL_PART_RE.finditer(body):
        if body[pos : m.start()].strip() or m.group(2) not in _UNITS:
            raise ctx.unreadable()
        number = m.group(1)
        amounts[_UNITS[m.group(2)]] += 1 if number in ("a", "an", "one") else int(number)
        pos = m.end()
    if not body or body[pos:].strip():
        raise ctx.unreadable()
    days = amounts["weeks"] * 7 + amounts["days"]
    try:
        exact = timedelta(hours=amounts["hours"], minutes=amounts["minutes"])
        if clock is not None:
            if exact:
                raise TimeParseError(
                    "Give either a time of day or hours/minutes from now, not both: "
                    "try `in 2 days 8pm` or `in 2 hours`."
                )
            return _at(ctx.today + timedelta(days=days), clock, ctx.zone, strict=True)
        if not days and not exact:
            raise TimeParseError(f"`{echo(ctx.raw)}` is right now. Give a time ahead: try `in 2 hours` or `fri 8pm`.")
        if days:
            wall = ctx.now.astimezone(ctx.zone).replace(tzinfo=None) + timedelta(days=days)
            start, _ = localize(wall.date(), wall.time(), ctx.zone)
        else:
            start = ctx.now
        return start + exact
    except OverflowError:
        raise TimeParseError(f"`{echo(ctx.raw)}` is too far away. Try `in 2 hours` or `{ctx.iso_example}`.") from None


def _parse_absolute(tokens: list[str], ctx: _Ctx) -> tuple[datetime, TimeOfDay, _DateSpec]:
    clock, rest = find_time_of_day(tokens, ctx.examples())
    if clock is None:
        # No time of day. Either the member forgot it, or wrote a bare hour like "fri 8".
        if _parse_date_tokens(rest, ctx) is not None:
            shown = " ".join(rest)
            raise TimeParseError(f"`{echo(shown)}` needs a time of day too. Try `{shown} 8pm` or `{shown} 20:00`.")
        for index in (len(rest) - 1, 0):
            if rest and _BARE_INT_RE.match(rest[index]):
                others = rest[:index] + rest[index + 1 :]
                try:
                    ok = _parse_date_tokens(others, ctx) is not None
                except TimeParseError:
                    ok = False
                if ok:
                    raise ambiguous_hour_error(int(rest[index]), rest, index)
        raise ctx.unreadable()
    spec = _parse_date_tokens(rest, ctx)
    if spec is None:
        raise ctx.unreadable()
    return _resolve(spec, clock, ctx), clock, spec


def parse_when(
    text: str,
    now: datetime,
    tz: ZoneInfo | str,
    *,
    allow_past: bool = False,
    max_ahead: timedelta | None = None,
) -> datetime:
    """Read a member's "when" as an aware UTC datetime, in the server's time zone ``tz``.

    ``now`` is the current instant (aware). See the module docstring for the grammar and rules.
    Raises :class:`TimeParseError` with a message for the member (always with examples to copy).
    """
    _check_aware("now", now)
    zone = to_zone(tz)
    now = now.astimezone(UTC)
    ctx = _Ctx(text, now, zone)
    tokens = normalize(text)
    if not tokens:
        raise TimeParseError(f"Tell me when, please. {ctx.examples()}")
    for tok in tokens:
        if _NUMERIC_DATE_RE.match(tok):
            raise numeric_date_error(tok, f"Try `{ctx.word_example}` or `{ctx.iso_example}`.")
        if _DOTTED_RE.match(tok) and tokens[0] != "in":
            raise dotted_error(tok, ctx.examples())

    clock: TimeOfDay | None = None
    spec: _DateSpec | None = None
    try:
        if tokens[0] == "in":
            result = _parse_relative(tokens[1:], ctx)
        else:
            result, clock, spec = _parse_absolute(tokens, ctx)
    except OverflowError:  # e.g. 9999-12-31 23:00 west of Greenwich
        raise TimeParseError(f"`{echo(text)}` is outside the calendar I can handle. {ctx.examples()}") from None

    if not allow_past and result <= now:
        when = format_local(result, zone)
        hint = clock.text if clock is not None else "8pm"
        if clock is not None and isinstance(spec, _Fixed) and spec.day == ctx.today:
            raise TimeParseError(
                f"{hint} today has already passed (it's {now.astimezone(zone):%H:%M} now in "
                f"{zone.key}). Did you mean `tomorrow {hint}`? Or give a date: `{ctx.iso_example}`."
            )
        raise TimeParseError(f"That time is in the past: {when}. Try `tomorrow {hint}` or `{ctx.iso_example}`.")
    if max_ahead is not None and result - now > max_ahead:
        raise TimeParseError(
            f"That's too far ahead: {format_local(result, zone)} is more than {human_delta(max_ahead)} "
            f"from now. Pick something sooner. Try `in 2 hours` or `tomorrow 8pm`."
        )
    return result
