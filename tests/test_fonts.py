"""The fonts of the pictures: every script the club types is drawn, never as the missing-glyph box."""

from __future__ import annotations

import io
import unicodedata
from importlib import metadata, resources

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont, features

from bot import fonts
from bot.charts import BG, LABEL_SIZE, LEFT, TOP, bar_chart_png

LABELS = ["Amélie", "Niño", "—", "’", "기생충", "千と千尋の神隠し", "Ελληνικά", "Кино", "🍿", "Jalapeño poppers"]
NO_FONT_HAS = "\U0010fffd"  # a private-use code point: every font draws its .notdef box for it
SIZE = 24


def rendering(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str, colour: bool = False) -> Image.Image:
    image = Image.new("RGBA", (200, 80))
    ImageDraw.Draw(image).text((10, 10), text, font=font, fill="white", embedded_color=colour)
    return image


def is_box(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str, colour: bool = False) -> bool:
    """True if ``text`` renders as nothing or exactly as the font's .notdef glyph."""
    drawn = rendering(font, text, colour)
    notdef = rendering(font, NO_FONT_HAS, colour)
    return drawn.getbbox() is None or ImageChops.difference(drawn, notdef).getbbox() is None


def test_the_box_detector_sees_boxes_in_pillows_default_font() -> None:
    # What main drew before: Pillow's bundled font has none of these, so the test below can fail.
    default = ImageFont.load_default(size=SIZE)
    assert is_box(default, "기")
    assert is_box(default, "千")
    assert not is_box(default, "A")


@pytest.mark.parametrize("label", LABELS)
def test_every_character_of_the_label_has_a_glyph_and_none_is_the_box(label: str) -> None:
    runs = fonts.runs(label)
    assert "".join(run.text for run in runs) == unicodedata.normalize("NFC", label)  # nothing left out
    for run in runs:
        for cluster in fonts.clusters(run.text):
            assert run.face.covers(ord(cluster[0])), f"{cluster!r} not in the cmap of {run.face.name}"
            if cluster.isspace():
                continue
            font = run.face.font(SIZE)
            assert not is_box(font, cluster, run.face.colour_bitmap), f"{cluster!r} drawn as a box in {run.face.name}"
    assert not fonts.missing(label)


def test_each_script_takes_its_font() -> None:
    names = {label: [run.face.name for run in fonts.runs(label)] for label in LABELS}
    assert names["Amélie"] == names["Ελληνικά"] == names["Кино"] == ["Noto Sans"]
    assert names["기생충"] == ["Noto Sans CJK KR"]
    assert names["千と千尋の神隠し"] == ["Noto Sans CJK JP"]  # kana: the Japanese forms of the kanji
    assert [run.face.name for run in fonts.runs("霸王别姬")] == ["Noto Sans CJK SC"]
    assert names["🍿"] == ["Filmclub Emoji"]


def test_the_collection_faces_are_the_ones_named() -> None:
    from fontTools.ttLib import TTFont

    for region in ("JP", "KR", "SC"):
        face = fonts._faces()[f"cjk-{region.lower()}"]
        assert TTFont(face.path, fontNumber=face.index, lazy=True)["name"].getDebugName(1) == f"Noto Sans CJK {region}"


def test_emoji_are_drawn_in_colour_and_scaled_to_the_text() -> None:
    image = Image.new("RGB", (200, 60), BG)
    width = fonts.draw_text(image, (10, 10), "🍿", SIZE, (230, 230, 230))
    coloured = [p for p in image.getdata() if p != BG and max(p) - min(p) > 60]  # red and white stripes, not grey
    assert len(coloured) > 50
    box = ImageChops.difference(image, Image.new("RGB", image.size, BG)).getbbox()
    assert box is not None
    assert 0.8 * SIZE <= box[3] - box[1] <= 1.4 * SIZE  # about one line high, not the font's 40 px
    assert width == pytest.approx(fonts.text_width("🍿", SIZE))


def test_emoji_sequences_stay_whole_and_skin_tones_are_left_out_cleanly() -> None:
    assert fonts.clusters("🇫🇷👨‍👩‍👧1️⃣") == ["🇫🇷", "👨‍👩‍👧", "1️⃣"]
    runs = fonts.runs("👍🏽 ok")
    assert [(run.text, run.face.name) for run in runs] == [("👍", "Filmclub Emoji"), (" ok", "Noto Sans")]


def test_characters_no_font_has_and_invisible_controls_are_left_out() -> None:
    old_italic = "\U00010300"  # a letter, but in none of the fonts
    assert "".join(run.text for run in fonts.runs(f"a{NO_FONT_HAS}b\u200b\u202ec{old_italic}")) == "abc"
    assert fonts.missing(f"a{NO_FONT_HAS}{old_italic}") == [old_italic]


def test_right_to_left_text_is_one_shaped_run_not_boxes() -> None:
    for phrase, face in (("שלום עולם", "Noto Sans Hebrew"), ("مرحبا بالعالم", "Noto Sans Arabic")):
        runs = fonts.runs(phrase)
        assert [(run.text, run.face.name) for run in runs] == [(phrase, face)]
        font = runs[0].face.font(SIZE)
        for char in phrase.replace(" ", ""):
            assert not is_box(font, char)
    if not features.check_feature("raqm"):
        pytest.skip("Pillow finds no Raqm here (libfribidi missing): right-to-left order is not drawn")
    # Raqm lays a Hebrew run out right to left: its first letter ends up on the right.
    font = fonts.runs("אב")[0].face.font(SIZE)
    alef_alone = rendering(font, "א").getbbox()
    both = rendering(font, "אב").getbbox()
    assert alef_alone is not None and both is not None and both[2] - alef_alone[2] > 5


def test_a_label_that_starts_right_to_left_is_laid_out_right_to_left() -> None:
    def drawn(label: str) -> list[str]:
        return [run.text for run in fonts.visual_order(fonts.runs(label))]

    assert drawn("Hi, שלום") == ["Hi, ", "שלום"]  # starts left to right: as typed
    assert drawn("שלום, עולם!") == ["!", "עולם", ", ", "שלום"]  # Noto Sans Hebrew has no comma: three runs
    # a Latin title and an emoji inside a Hebrew label keep their own order
    assert drawn("סרט Amélie (2001) 🍿 טוב") == ["טוב", " Amélie (2001) ", "🍿", " ", "סרט"]


def test_long_labels_are_cut_with_an_ellipsis_by_rendered_width() -> None:
    assert fonts.fit_text("Her", LABEL_SIZE, 200) == "Her"
    for label in ("Everything Everywhere All at Once", "千と千尋の神隠し千と千尋の神隠し", "👨‍👩‍👧" * 20):
        cut = fonts.fit_text(label, LABEL_SIZE, 120)
        assert cut.endswith("…") and len(cut) < len(label)
        assert fonts.text_width(cut, LABEL_SIZE) <= 120
        assert label.startswith(cut[:-1])
        # the next cluster would not have fitted
        longer = "".join(fonts.clusters(label)[: len(fonts.clusters(cut[:-1])) + 1]) + "…"
        assert fonts.text_width(longer, LABEL_SIZE) > 120
    assert all(c == "👨‍👩‍👧" for c in fonts.clusters(fonts.fit_text("👨‍👩‍👧" * 20, LABEL_SIZE, 120)[:-1]))


def test_a_chart_of_such_labels_draws_every_label() -> None:
    labels = [f"{i + 1}. {label}" for i, label in enumerate(LABELS)]
    image = Image.open(io.BytesIO(bar_chart_png("Best Snack 🏆 Amélie", labels, [1] * len(labels)))).convert("RGB")
    for i, label in enumerate(labels):
        y = TOP + i * (34 + 12)
        row = image.crop((20, y, LEFT - 10, y + 34))
        drawn = ImageChops.difference(row, Image.new("RGB", row.size, BG)).getbbox()
        assert drawn is not None, label
        # the label is as wide as its glyphs (a box per character would be as wide, but the test above rules
        # boxes out; here: nothing dropped between measuring and drawing)
        assert drawn[2] - drawn[0] == pytest.approx(fonts.text_width(label, LABEL_SIZE), abs=4), label


def test_the_fonts_are_installed_with_their_licences() -> None:
    shipped = resources.files("bot") / "data" / "fonts"
    assert (shipped / fonts.EMOJI_FILE).is_file()
    assert "SIL OPEN FONT LICENSE Version 1.1" in (shipped / "OFL.txt").read_text()
    for package in ("manimgx-fonts", "noto-cjk-sans-otc"):
        files = metadata.files(package) or []
        licence = next(f for f in files if "LICENSE" in f.name)
        assert "SIL Open Font License" in licence.read_text()


def test_without_raqm_the_labels_are_still_drawn_not_boxes(monkeypatch: pytest.MonkeyPatch) -> None:
    # A machine without libfribidi: Pillow lays text out without Raqm; nothing may turn into boxes.
    monkeypatch.setattr(fonts, "_layout", lambda: ImageFont.Layout.BASIC)
    fonts._load.cache_clear()
    try:
        for label in [*LABELS, "שלום", "🇫🇷"]:
            for run in fonts.runs(label):
                font = run.face.font(SIZE)
                assert font.layout_engine == ImageFont.Layout.BASIC
                for cluster in fonts.clusters(run.text.replace(" ", "")):
                    assert not is_box(font, cluster, run.face.colour_bitmap), cluster
        image = Image.open(io.BytesIO(bar_chart_png("Amélie 🍿", LABELS, [1] * len(LABELS)))).convert("RGB")
        assert any(max(p) - min(p) > 60 for p in image.getdata())  # the emoji still in colour
    finally:
        fonts._load.cache_clear()
