"""Bar charts as PNG bytes, drawn with the fonts shipped with the package (bot/fonts.py; nothing downloaded)."""

from __future__ import annotations

import io
from collections.abc import Collection, Sequence

from PIL import Image, ImageDraw

from bot.fonts import draw_text, fit_text

WIDTH = 800
BAR_HEIGHT = 34
GAP = 12
LEFT = 260
TOP = 64
BG = (32, 34, 37)
FG = (230, 230, 230)
MUTED = (150, 150, 150)
BAR = (114, 137, 218)
HIGHLIGHT = (232, 163, 61)
TITLE_SIZE = 24
LABEL_SIZE = 17


def bar_chart_png(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    highlight: Collection[int] = (),
    value_format: str = "{:g}",
) -> bytes:
    """A horizontal bar chart; bars in ``highlight`` (indexes) are drawn in gold. Labels too wide are cut with "…"."""
    if len(labels) != len(values):
        raise ValueError("labels and values differ in length")
    rows = max(1, len(labels))
    height = TOP + rows * (BAR_HEIGHT + GAP) + 24
    image = Image.new("RGB", (WIDTH, height), BG)
    draw = ImageDraw.Draw(image)
    draw_text(image, (20, 14), fit_text(title, TITLE_SIZE, WIDTH - 40), TITLE_SIZE, FG)
    top_value = max([float(v) for v in values] + [0.0])
    span = WIDTH - LEFT - 90
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = TOP + i * (BAR_HEIGHT + GAP)
        middle = y + BAR_HEIGHT / 2
        draw_text(image, (20, middle), fit_text(label, LABEL_SIZE, LEFT - 30), LABEL_SIZE, FG, anchor="middle")
        length = int(span * float(value) / top_value) if top_value > 0 else 0
        colour = HIGHLIGHT if i in highlight else BAR
        if length > 0:
            draw.rectangle((LEFT, y, LEFT + length, y + BAR_HEIGHT), fill=colour)
        draw_text(image, (LEFT + length + 10, middle), value_format.format(value), LABEL_SIZE, MUTED, anchor="middle")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
