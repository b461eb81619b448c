"""The Spreadsheet's progress picture: one overall bar, then a row of squares per ceremony.

Pillow with the fonts shipped with the package (bot/fonts.py); nothing downloaded. Returns PNG bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

from bot.charts import BG, FG, HIGHLIGHT, MUTED, TITLE_SIZE
from bot.fonts import draw_text, fit_text

WIDTH = 800
MARGIN = 20
BAR_TOP = 64
BAR_HEIGHT = 28
GRID_TOP = BAR_TOP + BAR_HEIGHT + 28
ROW_HEIGHT = 26
LABEL_SIZE = 15
CELL = 18
CELL_GAP = 6
LABEL_WIDTH = 70
WATCHED = (67, 181, 129)
EMPTY = (64, 68, 75)


@dataclass(frozen=True)
class Cell:
    watched: bool
    winner: bool = False


def progress_png(title: str, rows: Sequence[tuple[str, Sequence[Cell]]]) -> bytes:
    """``rows``: (label, cells) per ceremony. Watched films are green squares; winners have a gold rim."""
    cells = [cell for _, row in rows for cell in row]
    done, total = sum(1 for c in cells if c.watched), len(cells)
    height = GRID_TOP + max(1, len(rows)) * ROW_HEIGHT + MARGIN
    image = Image.new("RGB", (WIDTH, height), BG)
    draw = ImageDraw.Draw(image)
    draw_text(image, (MARGIN, 14), fit_text(title, TITLE_SIZE, WIDTH - 2 * MARGIN), TITLE_SIZE, FG)

    span = WIDTH - 2 * MARGIN - 170
    draw.rectangle((MARGIN, BAR_TOP, MARGIN + span, BAR_TOP + BAR_HEIGHT), fill=EMPTY)
    filled = int(span * done / total) if total else 0
    if filled > 0:
        draw.rectangle((MARGIN, BAR_TOP, MARGIN + filled, BAR_TOP + BAR_HEIGHT), fill=WATCHED)
    share = f"{done} of {total} watched" + (f" ({100 * done // total}%)" if total else "")
    draw_text(image, (MARGIN + span + 12, BAR_TOP + BAR_HEIGHT / 2), share, LABEL_SIZE, FG, anchor="middle")

    per_row = max(1, (WIDTH - 2 * MARGIN - LABEL_WIDTH) // (CELL + CELL_GAP))
    for i, (label, row) in enumerate(rows):
        y = GRID_TOP + i * ROW_HEIGHT
        label = fit_text(label, LABEL_SIZE, LABEL_WIDTH - 8)
        draw_text(image, (MARGIN, y + CELL / 2), label, LABEL_SIZE, MUTED, anchor="middle")
        for j, cell in enumerate(row[:per_row]):
            x = MARGIN + LABEL_WIDTH + j * (CELL + CELL_GAP)
            box = (x, y, x + CELL, y + CELL)
            draw.rectangle(box, fill=WATCHED if cell.watched else EMPTY, outline=HIGHLIGHT if cell.winner else None,
                           width=2)  # fmt: skip
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
