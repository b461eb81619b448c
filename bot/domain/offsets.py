"""Reminder offsets such as ``1d,1h,10m``."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.errors import UserError

_PART = re.compile(r"^(\d{1,4})\s*(d|h|m|w)$")
_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
MAX_OFFSETS = 5
MAX_OFFSET = timedelta(days=30)


def parse_offsets(text: str) -> list[timedelta]:
    """Parse ``"1d,1h,10m"`` into offsets, largest first; ``off``/``none`` gives an empty list."""
    cleaned = text.strip().lower()
    if cleaned in {"off", "none", "no", ""}:
        return []
    out: set[timedelta] = set()
    for raw in re.split(r"[,\s]+", cleaned):
        if not raw:
            continue
        match = _PART.match(raw)
        if not match:
            raise UserError(
                f"I couldn't read `{raw[:20]}` as a reminder offset. Use numbers with d, h or m, "
                "separated by commas, like `1d,1h,10m` or `2h`."
            )
        value = int(match.group(1)) * _UNITS[match.group(2)]
        if value <= timedelta(0) or value > MAX_OFFSET:
            raise UserError("Reminder offsets must be between 1 minute and 30 days, like `1d,1h,10m`.")
        out.add(value)
    if len(out) > MAX_OFFSETS:
        raise UserError(f"At most {MAX_OFFSETS} reminder offsets, like `1d,1h,10m`.")
    return sorted(out, reverse=True)


def format_offset(offset: timedelta) -> str:
    """``timedelta(hours=1)`` -> ``1h`` (the largest unit that divides it)."""
    minutes = int(offset.total_seconds() // 60)
    for unit, size in (("w", 7 * 24 * 60), ("d", 24 * 60), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def format_offsets(offsets: list[timedelta]) -> str:
    return ",".join(format_offset(o) for o in offsets) if offsets else "off"
