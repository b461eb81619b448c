"""Logging to stderr, one line per event, with the token scrubbed from every record.

Besides the bot token, interaction tokens are secrets too: for 15 minutes anyone holding one can post and edit
as the bot in that channel. discord.py logs the callback and webhook URLs that carry them (``DEBUG`` of its
HTTP client), so every URL path segment after ``/interactions/<id>/`` or ``/webhooks/<id>/`` and every
``"token": "..."`` field is redacted at every level.
"""

from __future__ import annotations

import logging
import re
import sys

_TOKEN_PATTERNS = (
    re.compile(r"(/interactions/\d+/)[^/\s'\"?]+"),
    re.compile(r"(/webhooks/\d+/)[^/\s'\"?]+"),
    re.compile(r"""(["']token["']\s*:\s*["'])[^"']+"""),
)


class RedactFilter(logging.Filter):
    """Replaces secrets in the formatted message (and in exception text) with ``<redacted>``."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<redacted>")
        for pattern in _TOKEN_PATTERNS:
            text = pattern.sub(r"\1<redacted>", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = self._scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._scrub(record.exc_text)
        return True


class OneLineFormatter(logging.Formatter):
    """Keeps each record on one line: tracebacks are folded with `` | ``."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text.replace("\n", " | ")


def setup_logging(level: str, secrets: list[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("discord.gateway").setLevel(max(logging.getLevelName(level), logging.INFO))
