"""Text in the pictures the bot draws: fonts that cover every title and name members type, with fallback per character.

Pillow's bundled font has glyphs for little beyond ASCII, so "Amélie", "기생충" or "千と千尋の神隠し" came out as
boxes. The fonts here are installed with the package, nothing is downloaded (all SIL Open Font License 1.1):

- Noto Sans (Latin with diacritics, Greek, Cyrillic) and Noto Sans for other scripts (Hebrew, Arabic, Devanagari,
  Thai, ...), Noto Sans Symbols and the monochrome Noto Emoji: the ``manimgx-fonts`` package;
- Noto Sans CJK (Chinese, Japanese, Korean): the ``noto-cjk-sans-otc`` package, a collection with one face per
  region; a label with kana takes the Japanese face, one with Hangul the Korean face, other Han text the
  Simplified Chinese one;
- colour emoji: ``bot/data/fonts/FilmclubEmoji-40.ttf``, Noto Color Emoji with its bitmaps at 40 pixels per em
  (``tools/shrink_emoji_font.py``; licence in ``bot/data/fonts/OFL.txt``). A bitmap font draws at its one size,
  so an emoji run is drawn at 40 pixels and scaled to the text.

A label is cut into clusters (a character with its combining marks, variation selectors, skin-tone modifiers,
keycap and ZWJ sequences, flag pairs). Each cluster takes the first font of the chain whose cmap (read with
fontTools) has its base character; an emoji cluster (presentation selector, ZWJ, keycap, or a pictograph) tries
the colour emoji font first. A space or punctuation between two clusters of one font stays in that font, so a
right-to-left phrase stays one run. Consecutive clusters with the same font are drawn as one run with Pillow's
Raqm layout (shaping; right to left within a run). A character no font has is left out, never drawn as a box.
A label whose first strong character is right-to-left has its runs laid out right to left (a simplified
bidirectional algorithm: stretches of left-to-right runs keep their order); other labels run left to right.

Everything is cached per process: fonts by size, cmaps on first use (~30 ms for all of them).
"""

from __future__ import annotations

import logging
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from importlib import resources
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features

log = logging.getLogger(__name__)

ELLIPSIS = "…"
EMOJI_PPEM = 40  # the one size the colour emoji font has
EMOJI_FILE = f"FilmclubEmoji-{EMOJI_PPEM}.ttf"


@dataclass(frozen=True)
class Face:
    """One font file (and face in a collection) in the fallback chain."""

    name: str
    path: str
    index: int = 0
    colour_bitmap: bool = False  # drawn at EMOJI_PPEM and scaled
    cmap_index: int | None = None  # read the cmap of this face instead (the CJK faces share their coverage)

    @cached_property
    def coverage(self) -> frozenset[int]:
        return _coverage(self.path, self.index if self.cmap_index is None else self.cmap_index)

    def covers(self, codepoint: int) -> bool:
        return codepoint in self.coverage

    def font(self, size: int) -> ImageFont.FreeTypeFont:
        return _load(self.path, self.index, EMOJI_PPEM if self.colour_bitmap else size)


@cache
def _coverage(path: str, index: int) -> frozenset[int]:
    """The code points the face maps to a glyph."""
    from fontTools.ttLib import TTFont  # imported on first use: ~0.1 s that the bot's start need not pay

    font = TTFont(path, fontNumber=index, lazy=True)
    try:
        ranges = _format12_ranges(font.reader["cmap"])
        if ranges is None:
            return frozenset(font.getBestCmap() or {})
        return frozenset(code for start, end in ranges for code in range(start, end + 1))
    finally:
        font.close()


def _format12_ranges(cmap: bytes) -> list[tuple[int, int]] | None:
    """The ranges of a Unicode format 12 subtable, read straight from the bytes, or None if there is none.

    fontTools' getBestCmap names every glyph on the way, 0.2 s for the CJK collection; this takes a few ms.
    """
    _, tables = struct.unpack_from(">HH", cmap)
    for i in range(tables):
        platform, encoding, offset = struct.unpack_from(">HHL", cmap, 4 + 8 * i)
        if (platform, encoding) in ((3, 10), (0, 4), (0, 6)) and struct.unpack_from(">H", cmap, offset)[0] == 12:
            (groups,) = struct.unpack_from(">L", cmap, offset + 12)
            found = []
            for start, end, glyph in struct.iter_unpack(">LLL", cmap[offset + 16 : offset + 16 + 12 * groups]):
                found.append((start + 1 if glyph == 0 else start, end))  # glyph 0 is .notdef: not a glyph
            return found
    return None


@lru_cache(maxsize=128)
def _load(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index, layout_engine=_layout())


@cache
def _layout() -> ImageFont.Layout:
    """Raqm (shaping, right to left, emoji sequences) when Pillow finds it; its wheels bundle it but load the
    system's FriBiDi (``libfribidi0``, installed in the Docker image). Without it, text is drawn unshaped, left to
    right, emoji sequences as their parts: still no boxes."""
    if features.check_feature("raqm"):
        return ImageFont.Layout.RAQM
    log.warning("Pillow has no Raqm layout (is libfribidi installed?): right-to-left text is drawn unshaped")
    return ImageFont.Layout.BASIC


def _package_dir(package: str) -> Path:
    return Path(str(resources.files(package)))


@cache
def _faces() -> dict[str, Face]:
    noto = _package_dir("manimgx_fonts")
    cjk = _package_dir("noto_cjk_sans_otc") / "NotoSansCJK-Regular.ttc"
    faces = {
        "sans": Face("Noto Sans", str(noto / "NotoSans[wght].ttf")),
        "symbols": Face("Noto Sans Symbols", str(noto / "NotoSansSymbols[wght].ttf")),
        "emoji-mono": Face("Noto Emoji", str(noto / "NotoEmoji[wght].ttf")),
        "emoji": Face("Filmclub Emoji", str(_package_dir("bot") / "data" / "fonts" / EMOJI_FILE), colour_bitmap=True),
    }
    # The collection's faces: 0 JP, 1 KR, 2 SC (tests/test_fonts.py checks the names).
    for index, region in enumerate(("jp", "kr", "sc")):
        faces[f"cjk-{region}"] = Face(f"Noto Sans CJK {region.upper()}", str(cjk), index, cmap_index=0)
    for path in sorted(noto.glob("NotoSans?*[[]wght[]].ttf")):
        script = path.name.removeprefix("NotoSans").removesuffix("[wght].ttf")
        if script and script not in ("Symbols", "-Italic"):
            faces[f"script-{script.lower()}"] = Face(f"Noto Sans {script}", str(path))
    return faces


def _chain(cjk_region: str) -> tuple[Face, ...]:
    faces = _faces()
    scripts = [face for key, face in faces.items() if key.startswith("script-")]
    return (faces["sans"], *scripts, faces[f"cjk-{cjk_region}"], faces["symbols"], faces["emoji"], faces["emoji-mono"])


def _cjk_region(text: str) -> str:
    for char in text:
        code = ord(char)
        if 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9F:
            return "jp"  # kana
        if 0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
            return "kr"  # Hangul
    return "sc"


# --- clusters --------------------------------------------------------------------------------------------------

ZWJ = 0x200D
VS15, VS16 = 0xFE0E, 0xFE0F
KEYCAP = 0x20E3


def _is_skin_tone(code: int) -> bool:
    return 0x1F3FB <= code <= 0x1F3FF


def _is_tag(code: int) -> bool:
    return 0xE0020 <= code <= 0xE007F


def _is_regional(code: int) -> bool:
    return 0x1F1E6 <= code <= 0x1F1FF


def _joins_previous(char: str, previous: str) -> bool:
    code = ord(char)
    if ord(previous) == ZWJ:
        return True
    if code in (ZWJ, VS15, VS16) or 0xFE00 <= code <= 0xFE0D or _is_skin_tone(code) or _is_tag(code):
        return True
    return unicodedata.category(char).startswith("M")


def clusters(text: str) -> list[str]:
    """``text`` cut into what is drawn as one unit: a base character with what attaches to it."""
    found: list[str] = []
    for char in text:
        if found and (
            _joins_previous(char, found[-1][-1])
            or (_is_regional(ord(char)) and len(found[-1]) == 1 and _is_regional(ord(found[-1])))
        ):
            found[-1] += char
        else:
            found.append(char)
    return found


def _wants_emoji(cluster: str) -> bool:
    codes = [ord(c) for c in cluster]
    if VS15 in codes:
        return False
    if VS16 in codes or ZWJ in codes or KEYCAP in codes or any(map(_is_skin_tone, codes)):
        return True
    base = codes[0]
    return _is_regional(base) or 0x1F000 <= base <= 0x1FAFF


def _droppable(char: str) -> bool:
    """Characters never drawn on their own: controls, format characters (bidi marks, zero-width space)."""
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn")


def _sticky(cluster: str) -> bool:
    """Spaces and punctuation: they take the font of the letters around them."""
    return unicodedata.category(cluster[0])[0] in ("Z", "P")


@dataclass(frozen=True)
class Run:
    text: str
    face: Face


def runs(text: str) -> tuple[Run, ...]:
    """``text`` (NFC-normalised) as runs of clusters that share a font; clusters no font has are left out."""
    return _runs(unicodedata.normalize("NFC", text))


@lru_cache(maxsize=2048)
def _runs(text: str) -> tuple[Run, ...]:
    chain = _chain(_cjk_region(text))
    emoji_first = (_faces()["emoji"], *chain)
    parts = [c for c in clusters(text) if not _droppable(c[0])]

    def first_face(cluster: str) -> Face | None:
        order = emoji_first if _wants_emoji(cluster) else chain
        return next((f for f in order if f.covers(ord(cluster[0]))), None)

    sticky = [_sticky(c) for c in parts]
    faces: list[Face | None] = [None if s else first_face(c) for c, s in zip(parts, sticky, strict=True)]
    after: list[Face | None] = [None] * len(parts)  # the font of the next letter (not space or punctuation)
    following: Face | None = None
    for i in reversed(range(len(parts))):
        after[i] = following
        if not sticky[i]:
            following = faces[i]
    # A space or punctuation between two clusters of one font stays in that font (a Hebrew phrase stays one run,
    # shaped right to left); elsewhere it takes the first font that has it.
    before: Face | None = None
    for i, cluster in enumerate(parts):
        if sticky[i]:
            keep = before is not None and after[i] in (None, before) and before.covers(ord(cluster[0]))
            faces[i] = before if keep else first_face(cluster)
        before = faces[i] or before
    out: list[Run] = []
    for cluster, face in zip(parts, faces, strict=True):
        if face is None:
            continue  # left out: no box
        if face.colour_bitmap:
            cluster = "".join(c for c in cluster if not _is_skin_tone(ord(c)))  # the font has no skin tones
        if out and out[-1].face is face:
            out[-1] = Run(out[-1].text + cluster, face)
        else:
            out.append(Run(cluster, face))
    return tuple(out)


# --- measuring and drawing -------------------------------------------------------------------------------------


def _scale(face: Face, size: int) -> float:
    return size / EMOJI_PPEM if face.colour_bitmap else 1.0


def _run_width(run: Run, size: int) -> float:
    return run.face.font(size).getlength(run.text) * _scale(run.face, size)


def text_width(text: str, size: int) -> float:
    """The rendered width of ``text`` at ``size`` pixels, in pixels."""
    return sum(_run_width(run, size) for run in runs(text))


def fit_text(text: str, size: int, width: float) -> str:
    """``text`` as it is if it fits in ``width`` pixels, else cut (between clusters) to fit with an ellipsis."""
    if text_width(text, size) <= width:
        return text
    parts = clusters(unicodedata.normalize("NFC", text))
    lo, hi = 0, len(parts)  # the longest prefix that fits with the ellipsis, by bisection
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text_width("".join(parts[:mid]).rstrip() + ELLIPSIS, size) <= width:
            lo = mid
        else:
            hi = mid - 1
    return "".join(parts[:lo]).rstrip() + ELLIPSIS


def ascent(size: int) -> int:
    """Pixels from the top of a line to its baseline (Noto Sans at ``size``)."""
    return _faces()["sans"].font(size).getmetrics()[0]


def line_height(size: int) -> int:
    top, bottom = _faces()["sans"].font(size).getmetrics()
    return top + bottom


def draw_text(
    image: Image.Image, xy: tuple[float, float], text: str, size: int, fill: tuple[int, int, int],
    *, anchor: str = "top",
) -> float:  # fmt: skip
    """Draw ``text`` with its line's top (``anchor="top"``) or middle (``"middle"``) at ``xy``; returns its width."""
    x, y = xy
    baseline = y + ascent(size) if anchor == "top" else y + (ascent(size) - (line_height(size) - ascent(size))) / 2
    draw = ImageDraw.Draw(image)
    start = x
    for run in visual_order(runs(text)):
        font = run.face.font(size)
        if run.face.colour_bitmap:
            x += _draw_bitmap_run(image, (x, baseline), run.text, font, _scale(run.face, size))
        else:
            draw.text((x, baseline), run.text, font=font, fill=fill, anchor="ls")
            x += font.getlength(run.text)
    return x - start


def _rtl(text: str) -> bool | None:
    """True if the first strong character of ``text`` is right-to-left, False if left-to-right, None if none."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return None


def visual_order(found: Sequence[Run]) -> list[Run]:
    """Runs in the order they are drawn, left to right: a label that starts right to left (its first strong
    character) has its runs reversed, keeping each stretch of left-to-right runs (a Latin title, a number, an
    emoji) in its own order. Raqm orders the characters within each run."""
    if _rtl("".join(run.text for run in found)) is not True:
        return list(found)
    groups: list[list[Run]] = []  # each right-to-left run alone; consecutive other runs together
    for run in found:
        if groups and _rtl(run.text) is not True and _rtl(groups[-1][-1].text) is not True:
            groups[-1].append(run)
        else:
            groups.append([run])
    return [run for group in reversed(groups) for run in group]


def _draw_bitmap_run(
    image: Image.Image, origin: tuple[float, float], text: str, font: ImageFont.FreeTypeFont, scale: float
) -> float:
    left, top, right, bottom = (int(v) for v in font.getbbox(text, anchor="ls"))
    if right > left and bottom > top:
        layer = Image.new("RGBA", (right - left, bottom - top))
        ImageDraw.Draw(layer).text((-left, -top), text, font=font, anchor="ls", embedded_color=True)
        size = (max(1, round(layer.width * scale)), max(1, round(layer.height * scale)))
        layer = layer.resize(size, Image.Resampling.LANCZOS)
        x, y = origin
        image.paste(layer, (round(x + left * scale), round(y + top * scale)), layer)
    return font.getlength(text) * scale


def missing(text: str) -> list[str]:
    """The characters of ``text`` (NFC) that no font of the chain has: drawing leaves them out."""
    text = unicodedata.normalize("NFC", text)
    chain = (*_chain(_cjk_region(text)), _faces()["emoji"])
    return [c for c in text if not _droppable(c) and not any(f.covers(ord(c)) for f in chain)]
