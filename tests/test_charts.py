from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.charts import bar_chart_png


def test_bar_chart_is_a_png_sized_by_rows() -> None:
    data = bar_chart_png("Best Snacktor", ["Pizza and a Coke", "Cocktails", "Lunch"], [3, 7, 0], highlight={1})
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert image.width == 800
    taller = Image.open(io.BytesIO(bar_chart_png("t", [str(i) for i in range(10)], list(range(10)))))
    assert taller.height > image.height


def test_highlighted_bar_is_gold() -> None:
    image = Image.open(io.BytesIO(bar_chart_png("t", ["a", "b"], [5, 5], highlight={0}))).convert("RGB")
    assert image.getpixel((300, 64 + 10)) == (232, 163, 61)
    assert image.getpixel((300, 64 + 34 + 12 + 10)) == (114, 137, 218)


def test_mismatched_lengths_raise() -> None:
    with pytest.raises(ValueError):
        bar_chart_png("t", ["a"], [1, 2])


def test_all_zero_values_draw_no_bars() -> None:
    image = Image.open(io.BytesIO(bar_chart_png("t", ["a"], [0]))).convert("RGB")
    assert image.getpixel((300, 64 + 10)) == (32, 34, 37)
