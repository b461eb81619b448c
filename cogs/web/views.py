"""What the web feature shows: HTML pages (Jinja2 templates, autoescaped) and the commands' replies.

Every template is autoescaped, whatever its file name: a film title, a comment or a pet's story written as
``<script>`` arrives on the page as text. The pages carry no script, no external font or image, and no link
that would send the token elsewhere in a Referer (the server sends ``Referrer-Policy: no-referrer``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from db.web import Site

TEMPLATES = Path(__file__).parent / "templates"
PAGES = (("", "Home"), ("spreadsheet", "Spreadsheet"), ("ratings", "Ratings"), ("awards", "Awards"),
         ("basil", "Basil's wall"), ("newsletters", "Newsletters"))


_ESCAPED = re.compile(r"\\([\\*_~`|\[\]<>#])")
_PLACEHOLDER = re.compile("\x00(\\d+)\x00")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![\w*])[*_](?!\s)(.+?)(?<!\s)[*_](?![\w*])")


def _inline(text: str) -> str:
    """One line of the newsletter's Markdown as safe HTML: escaped first, then bold and italics."""
    held = _ESCAPED.sub(lambda m: f"\x00{ord(m.group(1))}\x00", text.replace("\x00", ""))
    html = str(escape(held))
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    html = _ITALIC.sub(r"<em>\1</em>", html)
    return _PLACEHOLDER.sub(lambda m: str(escape(chr(int(m.group(1))))), html)


def newsletter_html(markdown: str) -> Markup:
    """The published newsletter (``render_markdown``'s document) as HTML: ``##`` headings, paragraphs, bold and
    italics; everything else is text. The document's own ``#`` title is shown by the page already."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", markdown.strip()):
        lines = block.splitlines()
        if not lines:
            continue
        if lines[0].startswith("# "):
            lines = lines[1:]
            if not lines:
                continue
        if lines[0].startswith("## "):
            out.append(f"<h3>{_inline(lines[0][3:])}</h3>")
            lines = lines[1:]
        if lines:
            out.append("<p>" + "<br>\n".join(_inline(line) for line in lines) + "</p>")
    return Markup("\n".join(out))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every template, every variable
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, *, page: str, **context: Any) -> bytes:
    """A page as UTF-8 bytes; ``page`` is the nav entry to mark as current."""
    return environment().get_template(template).render(pages=PAGES, current=page, **context).encode()


# --------------------------------------------------------------------------- command replies

WEB_OFF = (
    "The club's web pages aren't running on this bot: whoever hosts it can turn them on with "
    "`FILMCLUB_WEB_PORT` (see the README, \"Configuration\"). Nothing was changed."
)


def calendar_off_text(is_moderator: bool) -> str:
    if is_moderator:
        return "The club's calendar and pages are off. Turn them on with `/filmclub web action:On`."
    return "The club's calendar and pages are off. Ask a moderator to turn them on with `/filmclub web`."


def calendar_text(feed_webcal: str, google: str, personal_webcal: str, personal_url: str) -> str:
    return (
        "📅 **Subscribe to the club's screenings** (your calendar app keeps it up to date when a screening "
        "moves or is cancelled):\n"
        f"• Calendar app: <{feed_webcal}>\n"
        f"• Google Calendar: <{google}>\n\n"
        "🎟️ **Only the screenings you said Going or Maybe to** (your own link: don't share it):\n"
        f"• <{personal_webcal}>\n"
        f"• or add by URL: <{personal_url}>"
    )


def web_status_text(site: Site | None, page_url: str | None, *, changed: str | None = None) -> str:
    lines = []
    if changed:
        lines.append(changed)
    if site is None or not site.enabled:
        lines.append("🌐 The club's pages and calendar feeds are **off**: nothing is visible on the web.")
        lines.append("Turn them on with `/filmclub web action:On`.")
    else:
        lines.append("🌐 The club's pages and calendar feeds are **on**. Anyone with this link can read them:")
        lines.append(f"<{page_url}>")
        lines.append(
            "Rotate the link with `/filmclub web action:Rotate link` (old links, personal feeds included, stop "
            "working at once); turn everything off with `/filmclub web action:Off`."
        )
    return "\n".join(lines)

