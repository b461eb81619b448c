"""Cells of the CSV files the bot writes (the Spreadsheet export, the Letterboxd export).

A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a
formula (CSV injection: ``=HYPERLINK(...)`` in a film title or a review). Every text cell a member could have
typed goes through :func:`safe_cell`, which adds a leading ``'`` so it is shown as text.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """``text`` for a CSV cell that a spreadsheet program shows as text, never runs as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
