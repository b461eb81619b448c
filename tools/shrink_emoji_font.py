"""Make bot/data/fonts/FilmclubEmoji-40.ttf from Noto Color Emoji (Debian's fonts-noto-color-emoji, OFL 1.1).

Noto Color Emoji keeps one colour bitmap per emoji at 109 pixels per em (11 MB). The pictures draw emoji at
17-24 pixels, so this keeps every emoji but the skin-tone variants (an emoji with a skin-tone modifier is drawn
in its default colour; the modifier is left out) and rewrites each bitmap at 40 pixels per em in 32 colours:
about 1.6 MB. It is renamed "Filmclub Emoji" (a modified font keeps the OFL but not the upstream name; "Noto"
is Google's trademark). The cmap and the GSUB ligatures (flags, ZWJ sequences, keycaps) stay as they are. Run by hand
when the emoji font is updated; nothing runs it at build or run time:

    apt-get download fonts-noto-color-emoji && dpkg -x fonts-noto-color-emoji_*.deb emoji
    .venv/bin/python tools/shrink_emoji_font.py emoji/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont
from PIL import Image

PPEM = 40
COLOURS = 32
SKIN_TONES = range(0x1F3FB, 0x1F3FF + 1)
FAMILY = "Filmclub Emoji"
OUT = Path(__file__).resolve().parents[1] / "bot" / "data" / "fonts" / f"FilmclubEmoji-{PPEM}.ttf"


def shrink(source: Path, out: Path, ppem: int = PPEM) -> None:
    font = TTFont(source)
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[cp for cp in font.getBestCmap() if cp not in SKIN_TONES])
    subsetter.subset(font)

    size = font["CBLC"].strikes[0].bitmapSizeTable
    scale = ppem / size.ppemX
    for glyph in font["CBDT"].strikeData[0].values():
        metrics = glyph.metrics
        image = Image.open(io.BytesIO(glyph.imageData)).convert("RGBA")
        width, height = max(1, round(metrics.width * scale)), max(1, round(metrics.height * scale))
        small = image.resize((width, height), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        small.quantize(COLOURS, method=Image.Quantize.FASTOCTREE).save(buffer, format="PNG", optimize=True)
        glyph.imageData = buffer.getvalue()
        metrics.width, metrics.height = width, height
        metrics.BearingX = round(metrics.BearingX * scale)
        metrics.BearingY = round(metrics.BearingY * scale)
        metrics.Advance = round(metrics.Advance * scale)
    size.ppemX = size.ppemY = ppem
    for line in (size.hori, size.vert):
        for name in ("ascender", "descender", "widthMax", "minOriginSB", "minAdvanceSB", "maxBeforeBL", "minAfterBL"):
            setattr(line, name, round(getattr(line, name) * scale))
    rename(font, ppem)
    out.parent.mkdir(parents=True, exist_ok=True)
    font.save(out)


def rename(font: TTFont, ppem: int) -> None:
    names = font["name"]
    upstream = names.getDebugName(5) or ""
    for record in list(names.names):
        if record.nameID in (1, 3, 4, 16, 17, 18, 21, 22):
            names.removeNames(nameID=record.nameID)
    names.setName(FAMILY, 1, 3, 1, 0x409)
    names.setName(FAMILY, 4, 3, 1, 0x409)
    names.setName(f"{FAMILY} {ppem}", 3, 3, 1, 0x409)
    names.setName(FAMILY.replace(" ", "") + f"-{ppem}", 6, 3, 1, 0x409)
    about = f"Noto Color Emoji ({upstream}) with its bitmaps redrawn at {ppem} ppem for filmclub"
    names.setName(about, 10, 3, 1, 0x409)


if __name__ == "__main__":
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else OUT
    shrink(Path(sys.argv[1]), target)
    print(target)
