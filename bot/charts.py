"""Bar charts as PNG bytes, drawn with Pillow's bundled font (nothing downloaded)."""

from __future__ import annotations

import io
from collections.abc import Collection, Sequence
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

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


@lru_cache(maxsize=4)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no sized default font
        return ImageFont.load_default()


def fit_text(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int
) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


_font = font  # old private names, kept for existing callers
_fit = fit_text


def bar_chart_png(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    highlight: Collection[int] = (),
    value_format: str = "{:g}",
) -> bytes:
    """A horizontal bar chart; bars in ``highlight`` (indexes) are drawn in gold."""
    if len(labels) != len(values):
        raise ValueError("labels and values differ in length")
    rows = max(1, len(labels))
    height = TOP + rows * (BAR_HEIGHT + GAP) + 24
    image = Image.new("RGB", (WIDTH, height), BG)
    draw = ImageDraw.Draw(image)
    title_font, label_font = _font(24), _font(17)
    draw.text((20, 18), _fit(draw, title, title_font, WIDTH - 40), font=title_font, fill=FG)
    top_value = max([float(v) for v in values] + [0.0])
    span = WIDTH - LEFT - 90
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = TOP + i * (BAR_HEIGHT + GAP)
        draw.text((20, y + 8), _fit(draw, label, label_font, LEFT - 30), font=label_font, fill=FG)
        length = int(span * float(value) / top_value) if top_value > 0 else 0
        colour = HIGHLIGHT if i in highlight else BAR
        if length > 0:
            draw.rectangle((LEFT, y, LEFT + length, y + BAR_HEIGHT), fill=colour)
        draw.text((LEFT + length + 10, y + 8), value_format.format(value), font=label_font, fill=MUTED)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
