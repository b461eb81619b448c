"""The installment newsletter: the pure part (no discord, no database).

- Members' texts: :func:`check_preview`, :func:`check_verdict` (limits, thumbs 1 to 5).
- Compiling: :func:`compile_newsletter` turns plain dataclasses (previews, verdicts, trivia facts,
  award results, Basil's Corner notes, the next installment) into a :class:`Newsletter`: a title,
  an intro and :class:`Section`\\ s of paragraphs. Empty sections are left out.
- Trivia facts: :func:`statement` rewrites a question and its answer as one plain sentence
  ("Who directed Rocky?" + "John G. Avildsen" -> "John G. Avildsen directed Rocky.");
  :func:`pick_facts` chooses a few that read well, the same ones every time for a film.
- Rendering: :func:`render_markdown` (the attached file) and :func:`split_messages` (what is posted:
  embeds within Discord's limits, split on section boundaries, a long section continued in another
  embed between paragraphs or sentences, never mid-sentence).
- Times inside paragraphs are stored as a token (``{{t:<unix>}}``) so the posted embeds show a
  Discord timestamp and the Markdown file a plain date in the server's time zone.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.errors import UserError

# --------------------------------------------------------------------------- limits

MAX_PREVIEW = 1500
MAX_VERDICT = 1500
MAX_INTRO = 1500
MIN_THUMBS, MAX_THUMBS = 1, 5
FACTS = 4

#: Discord's limits for embeds and messages.
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
MESSAGE_EMBED_TOTAL = 6000
EMBEDS_PER_MESSAGE = 10

DRAFT, PUBLISHED, DISCARDED = "draft", "published", "discarded"

# Section keys, in the order they appear.
PREVIEWS, VERDICTS, TRIVIA, AWARDS, BASIL, NEXT = "previews", "verdicts", "trivia", "awards", "basil", "next"
HEADINGS: dict[str, str] = {
    PREVIEWS: "🔮 Previews",
    VERDICTS: "🎬 Verdicts",
    TRIVIA: "🧠 Trivia",
    AWARDS: "🍿 Awards",
    BASIL: "🐾 Basil's Corner",
    NEXT: "⏭️ Next time",
}
ORDER = (PREVIEWS, VERDICTS, TRIVIA, AWARDS, BASIL, NEXT)


class NewsletterError(UserError):
    """A newsletter request that cannot be done; the message says why."""


# --------------------------------------------------------------------------- members' texts


def check_preview(text: str | None) -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        raise NewsletterError("Write a few words about what you expect from the film.")
    if len(cleaned) > MAX_PREVIEW:
        raise NewsletterError(
            f"A preview can be at most {MAX_PREVIEW:,} characters; yours has {len(cleaned):,}. "
            "Shorten it and try again."
        )
    return cleaned


def check_verdict(thumbs: str | int, text: str | None) -> tuple[int, str | None]:
    """(thumbs, take or None). ``thumbs`` may be typed text ("4", " 4 👍")."""
    if isinstance(thumbs, int):
        value: int | None = thumbs
    else:
        typed = thumbs.strip()
        m = re.fullmatch(r"(\d+)\s*(?:/\s*5)?\s*(?:👍|thumbs?)?", typed, re.IGNORECASE)
        value = int(m.group(1)) if m else None
        if value is None and typed and set(typed) <= {"👍"}:
            value = len(typed)
    if value is None or not MIN_THUMBS <= value <= MAX_THUMBS:
        raise NewsletterError(f"Thumbs go from {MIN_THUMBS} to {MAX_THUMBS}: type a whole number like `4`.")
    cleaned = (text or "").strip()
    if len(cleaned) > MAX_VERDICT:
        raise NewsletterError(
            f"A verdict can be at most {MAX_VERDICT:,} characters; yours has {len(cleaned):,}. "
            "Shorten it and try again."
        )
    return value, cleaned or None


def check_intro(text: str | None) -> str:
    cleaned = (text or "").strip()
    if len(cleaned) > MAX_INTRO:
        raise NewsletterError(
            f"The intro can be at most {MAX_INTRO:,} characters; yours has {len(cleaned):,}."
        )
    return cleaned


def thumbs_text(thumbs: int) -> str:
    return "👍" * thumbs


def film_label(title: str, year: int | None) -> str:
    return f"{title} ({year})" if year else title


# --------------------------------------------------------------------------- the inputs


@dataclass(frozen=True)
class PreviewItem:
    member_id: int
    name: str
    text: str


@dataclass(frozen=True)
class VerdictItem:
    member_id: int
    name: str
    thumbs: int
    text: str | None = None


@dataclass(frozen=True)
class AwardItem:
    category: str
    nominees: tuple[str, ...]
    winners: tuple[str, ...]
    is_tie: bool
    ballots: int
    counts: tuple[int, ...] = ()
    certified: str | None = None
    runoff: bool = False


@dataclass(frozen=True)
class BasilItem:
    """A memorial published in the period (``years`` None) or an anniversary (``years`` set)."""

    name: str
    species: str | None = None
    years: int | None = None
    url: str | None = None
    when: int = 0


@dataclass(frozen=True)
class NextItem:
    title: str
    year: int | None
    starts_at: int | None = None
    note: str | None = None
    premise: str | None = None
    director: str | None = None
    runtime: int | None = None  # minutes


@dataclass(frozen=True)
class Source:
    """Everything a newsletter is compiled from."""

    film_title: str
    film_year: int | None
    previews: Sequence[PreviewItem] = ()
    verdicts: Sequence[VerdictItem] = ()
    facts: Sequence[str] = ()
    awards: Sequence[AwardItem] = ()
    basil: Sequence[BasilItem] = ()
    next_time: NextItem | None = None


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Section:
    key: str
    heading: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Newsletter:
    title: str
    intro: str
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.sections)


def time_token(unix: int) -> str:
    return "{{t:" + str(int(unix)) + "}}"


_TOKEN = re.compile(r"\{\{t:(-?\d+)\}\}")


def discord_times(text: str) -> str:
    """Time tokens -> ``<t:X:F> (<t:X:R>)``: every member sees their own time zone."""
    return _TOKEN.sub(lambda m: f"<t:{m.group(1)}:F> (<t:{m.group(1)}:R>)", text)


def plain_times(text: str, tz: str = "UTC") -> str:
    """Time tokens -> ``Friday 12 January 2024, 20:00 (Europe/London)``."""
    zone = ZoneInfo(tz)

    def one(m: re.Match[str]) -> str:
        when = datetime.fromtimestamp(int(m.group(1)), UTC).astimezone(zone)
        return f"{when:%A} {when.day} {when:%B %Y, %H:%M} ({tz})"

    return _TOKEN.sub(one, text)


_MD_SPECIAL = re.compile(r"([\\*_~`|\[\]<>#])")
_MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)


def escape_md(text: str) -> str:
    """A name typed by a member, shown as plain text: Markdown neutralised, no mass mention."""
    flat = " ".join(text.split()).replace("{{", "{\u200b{")  # never read as one of our time tokens
    return _MASS_MENTION.sub("@\u200b\\1", _MD_SPECIAL.sub(r"\\\1", flat))


def _balance_fences(text: str) -> str:
    """A member's text with an unclosed code fence would swallow everything after it in the embed."""
    if text.count("```") % 2:
        return text.replace("```", "\\`\\`\\`")
    return text


def _quote(text: str) -> str:
    text = _balance_fences(text).replace("{{", "{\u200b{")
    return "\n".join("> " + line if line.strip() else ">" for line in text.strip().splitlines())


def _bold(text: str) -> str:
    return f"**{text}**"


def _name(text: str) -> str:
    return _bold(escape_md(text))


def _and(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def default_intro(title: str, year: int | None) -> str:
    return (
        f"Welcome back, film friends! This issue rounds up everything the club said and did around "
        f"*{film_label(escape_md(title), year)}*: what we expected, what we thought, what we learned and who took home "
        "the snacks."
    )


def newsletter_title(title: str, year: int | None) -> str:
    return f"📰 Film Club Newsletter: {film_label(title, year)}"


def average(verdicts: Sequence[VerdictItem]) -> float | None:
    if not verdicts:
        return None
    return sum(v.thumbs for v in verdicts) / len(verdicts)


def _previews(items: Sequence[PreviewItem]) -> tuple[str, ...]:
    return tuple(f"{_name(p.name)} expected:\n{_quote(p.text)}" for p in items)


def _verdicts(items: Sequence[VerdictItem]) -> tuple[str, ...]:
    if not items:
        return ()
    avg = average(items)
    assert avg is not None
    n = len(items)
    out = [
        f"The club's average: {_bold(f'{avg:.1f}/5')} {thumbs_text(round(avg))} from {n} "
        f"member{'s' if n != 1 else ''}."
    ]
    for v in items:
        line = f"{_name(v.name)}: {thumbs_text(v.thumbs)} ({v.thumbs}/5)"
        if v.text:
            line += "\n" + _quote(v.text)
        out.append(line)
    return tuple(out)


def _facts(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"• {fact}" for fact in items if fact.strip())


def _award(item: AwardItem) -> str:
    lines = [_name(item.category) + (" (runoff)" if item.runoff else "")]
    if item.nominees:
        lines.append("Nominees: " + _and([escape_md(n) for n in item.nominees]) + ".")
    if not item.ballots or not item.winners:
        lines.append("No votes were cast, so nobody takes it home this time.")
    elif item.is_tie and len(item.winners) > 1:
        lines.append(f"A tie between {_and([_name(w) for w in item.winners])}, "
                     f"with {item.ballots} ballot{'s' if item.ballots != 1 else ''} counted.")
    else:
        votes = ""
        if item.counts and item.nominees and item.winners[0] in item.nominees:
            won = item.counts[item.nominees.index(item.winners[0])]
            votes = f" with {won} of {item.ballots} vote{'s' if item.ballots != 1 else ''}"
        lines.append(f"And the winner is {_name(item.winners[0])}{votes}!")
    if item.certified:
        lines.append(f"*{item.certified}*")
    return "\n".join(lines)


def _basil(items: Sequence[BasilItem]) -> tuple[str, ...]:
    out = []
    for b in sorted(items, key=lambda b: b.when):
        who = _name(b.name) + (f" ({escape_md(b.species)})" if b.species else "")
        if b.years is None:
            text = f"🕯️ We said goodbye to {who}. Basil keeps a warm spot by the screen for them."
        else:
            span = f"{b.years} year{'s' if b.years != 1 else ''}"
            text = f"🌈 It has been {span} since {who} crossed the rainbow bridge. Still missed, still loved."
        if b.url:
            text += f" [Their card]({b.url})"
        out.append(text)
    return tuple(out)


def _next(item: NextItem | None) -> tuple[str, ...]:
    if item is None:
        return ()
    text = f"Next installment: {_bold(film_label(escape_md(item.title), item.year))}."
    facts = []
    if item.director:
        facts.append(f"directed by {escape_md(item.director)}")
    if item.runtime:
        hours, minutes = divmod(item.runtime, 60)
        facts.append(f"{hours} h {minutes} min" if hours and minutes else f"{hours} h" if hours else f"{minutes} min")
    if facts:
        text = text[:-1] + f", {', '.join(facts)}."
    if item.starts_at is not None:
        text += f"\nScreening {time_token(item.starts_at)}."
    else:
        text += "\nThe screening is not scheduled yet: watch the announcements."
    out = [text]
    if item.premise:
        out.append(f"*{escape_md(item.premise)}*")
    if item.note and item.note.strip():
        out.append(f"📝 {escape_md(item.note)}")
    return tuple(out)


def compile_newsletter(src: Source, intro: str | None = None) -> Newsletter:
    """The newsletter for ``src``; sections with nothing in them are left out."""
    parts: dict[str, tuple[str, ...]] = {
        PREVIEWS: _previews(src.previews),
        VERDICTS: _verdicts(src.verdicts),
        TRIVIA: _facts(src.facts),
        AWARDS: tuple(_award(a) for a in src.awards),
        BASIL: _basil(src.basil),
        NEXT: _next(src.next_time),
    }
    sections = tuple(Section(key, HEADINGS[key], parts[key]) for key in ORDER if parts[key])
    return Newsletter(
        title=newsletter_title(src.film_title, src.film_year),
        intro=intro if intro is not None else default_intro(src.film_title, src.film_year),
        sections=sections,
    )


# --------------------------------------------------------------------------- storage form


def sections_to_json(sections: Sequence[Section]) -> str:
    return json.dumps([{"key": s.key, "heading": s.heading, "paragraphs": list(s.paragraphs)} for s in sections])


def sections_from_json(text: str) -> tuple[Section, ...]:
    data: list[dict[str, Any]] = json.loads(text)
    return tuple(Section(str(d["key"]), str(d["heading"]), tuple(str(p) for p in d["paragraphs"])) for d in data)


# --------------------------------------------------------------------------- rendering


def render_markdown(nl: Newsletter, tz: str = "UTC") -> str:
    """The whole newsletter as one Markdown document (the attached file)."""
    out = [f"# {nl.title}", ""]
    if nl.intro.strip():
        out += [nl.intro.strip(), ""]
    for section in nl.sections:
        out += [f"## {section.heading}", ""]
        for paragraph in section.paragraphs:
            out += [paragraph, ""]
    return plain_times("\n".join(out).rstrip() + "\n", tz)


@dataclass(frozen=True)
class EmbedPart:
    """One embed of a posted message."""

    title: str | None
    description: str
    footer: str | None = None

    @property
    def size(self) -> int:
        """Characters Discord counts toward the 6,000 per message."""
        return len(self.title or "") + len(self.description) + len(self.footer or "")


_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")


def sentences(text: str) -> list[str]:
    """``text`` cut after each sentence (the pieces joined back give ``text``)."""
    out: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        out.append(text[start : m.end()])
        start = m.end()
    if start < len(text):
        out.append(text[start:])
    return out


def _hard_cut(text: str, limit: int) -> list[str]:
    """Last resort for a single sentence longer than ``limit``: cut between words."""
    out: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        out.append(text[:cut])
        text = text[cut:].lstrip(" ")
    if text:
        out.append(text)
    return out


def _pieces(paragraph: str, limit: int) -> list[str]:
    """A paragraph as pieces no longer than ``limit``, cut only between sentences (or lines)."""
    if len(paragraph) <= limit:
        return [paragraph]
    units: list[str] = []
    for line in paragraph.splitlines(keepends=True):
        for sentence in sentences(line):
            units.extend(_hard_cut(sentence, limit) if len(sentence) > limit else [sentence])
    pieces: list[str] = []
    current = ""
    for unit in units:
        if current and len(current) + len(unit) > limit:
            pieces.append(current.rstrip())
            current = unit.lstrip(" ") if pieces else unit
        else:
            current += unit
    if current.strip():
        pieces.append(current.rstrip())
    return pieces


def chunk_paragraphs(paragraphs: Sequence[str], limit: int = EMBED_DESCRIPTION_LIMIT) -> list[str]:
    """Join paragraphs (blank line between) into descriptions of at most ``limit`` characters."""
    chunks: list[str] = []
    current = ""
    for paragraph in paragraphs:
        for piece in _pieces(paragraph, limit):
            joined = f"{current}\n\n{piece}" if current else piece
            if len(joined) <= limit:
                current = joined
            else:
                chunks.append(current)
                current = piece
    if current:
        chunks.append(current)
    return chunks


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def embed_parts(nl: Newsletter, transform: Callable[[str], str] = discord_times) -> list[list[EmbedPart]]:
    """Embeds per section: the first group is the title and intro; a long section takes several embeds."""
    title = _clip(nl.title, EMBED_TITLE_LIMIT)
    groups: list[list[EmbedPart]] = []
    intro = transform(nl.intro.strip())
    head = chunk_paragraphs([intro]) if intro else [""]
    groups.append([EmbedPart(title if i == 0 else None, d) for i, d in enumerate(head)])
    for section in nl.sections:
        texts = [transform(p) for p in section.paragraphs]
        chunks = chunk_paragraphs(texts)
        heading = _clip(section.heading, EMBED_TITLE_LIMIT - len(" (continued)"))
        groups.append(
            [EmbedPart(heading if i == 0 else f"{heading} (continued)", c) for i, c in enumerate(chunks)]
        )
    return groups


def split_messages(
    nl: Newsletter,
    *,
    transform: Callable[[str], str] = discord_times,
    max_total: int = MESSAGE_EMBED_TOTAL,
    max_embeds: int = EMBEDS_PER_MESSAGE,
) -> list[list[EmbedPart]]:
    """The posted messages, each a list of embeds within Discord's limits.

    A message starts at a section boundary whenever the next section does not fit whole in what is
    left of the current one; only a section too long for one message is continued in the next.
    """
    messages: list[list[EmbedPart]] = []
    current: list[EmbedPart] = []
    size = 0

    def flush() -> None:
        nonlocal current, size
        if current:
            messages.append(current)
        current, size = [], 0

    for group in embed_parts(nl, transform):
        group_size = sum(e.size for e in group)
        if current and (size + group_size > max_total or len(current) + len(group) > max_embeds):
            flush()
        for embed in group:
            if current and (size + embed.size > max_total or len(current) + 1 > max_embeds):
                flush()
            current.append(embed)
            size += embed.size
    flush()
    return messages


# --------------------------------------------------------------------------- trivia facts

_VERBS_PRESENT_S = {"last": "lasts", "mean": "means", "stand": "stands", "want": "wants", "use": "uses"}
_PAST = {
    "win": "won", "receive": "received", "earn": "earned", "get": "got", "lose": "lost", "make": "made",
    "take": "took", "gross": "grossed", "have": "had", "score": "scored", "land": "landed",
}
_HEAD_VERBS = {
    "plays", "played", "won", "wrote", "directed", "became", "tied", "follows", "lost", "earned", "gives",
    "gave", "was", "is", "were", "are", "made", "supplied", "composed", "offers", "offered", "carried",
    "shot", "beat", "voices", "voiced", "wins", "starred", "stars", "released", "produced", "scored",
    "designed", "edited", "co-wrote", "sang", "sings", "invented", "operated", "runs", "ran", "hosted",
}
_PREPS = {"on", "of", "for", "to", "by", "with", "from", "as", "in", "at", "into", "about", "is", "was", "are",
          "were", "after", "before", "than", "like", "lead", "became", "become", "beat", "beats"}
_BE = {"is", "are", "was", "were", "be"}
_AUX = re.compile(r"\b(do|does|did)\b", re.IGNORECASE)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _finish(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "…")) else text + "."


_WORD = re.compile(r"\w+")


def _how_many(body: str) -> tuple[str, str, str, str] | None:
    """``How many <things> did|does <subject> <verb>`` split into its four parts, in one pass over the words.

    The same reading as the pattern ``How many (.+?) (did|does) (.+) (\\w+)`` (the first did/does that leaves a
    subject and a final verb word), without the regular expression's backtracking, which took seconds on long
    hostile questions such as ``How many did did did ... Her!?``.
    """
    words = body.split(" ")
    if len(words) < 6 or words[0] != "How" or words[1] != "many" or not _WORD.fullmatch(words[-1]):
        return None
    for i in range(3, len(words) - 2):
        if words[i] in ("did", "does"):
            return " ".join(words[2:i]), words[i], " ".join(words[i + 1 : -1]), words[-1]
    return None


def _one(question: str, answer: str) -> str | None:
    q = question.strip()
    if not q.endswith("?"):
        return None
    body = q[:-1].strip()
    m = re.fullmatch(r"Who (?!do\b|does\b|did\b)(.+)", body)
    if m:
        return f"{answer} {m.group(1)}"
    m = re.fullmatch(r"(?:Which|What) ([^?]+)", body)
    if m and not _AUX.search(m.group(1)) and m.group(1).split(" ")[0] not in _BE:
        words = m.group(1).split(" ")
        for i, word in enumerate(words[1:], start=1):
            if words[i - 1].endswith(","):
                break
            if word in _HEAD_VERBS:
                return f"{answer} {' '.join(words[i:])}"
    m = re.fullmatch(r"What (is|are|was|were) (.+?)( called)?", body)
    if m and not _AUX.search(m.group(2)):
        subject = _cap(m.group(2))
        return f"{subject} {m.group(1)}{' called' if m.group(3) else ''} {answer}"
    m = re.fullmatch(r"In which \w+ (is|was|were|are) (.+?) (first |originally )?(\w+)", body)
    if m and m.group(4).endswith(("ed", "set", "shot")):
        adverb = m.group(3) or ""
        return f"{_cap(m.group(2))} {m.group(1)} {adverb}{m.group(4)} in {answer}"
    how_many = _how_many(body)
    if how_many is not None and answer[:1].isdigit():
        things, aux, subject, verb = how_many
        done = _PAST.get(verb.lower()) if aux == "did" else _VERBS_PRESENT_S.get(verb.lower(), verb.lower() + "s")
        if done:
            return f"{_cap(subject)} {done} {answer} {things}"
    # "... is based on the memoir of which man?" / "... talks to how many others while ...?"
    lowered = body.lower()
    if not lowered.startswith(("which", "what", "who", "how", "in which", "where", "when", "why")):
        idx = max(lowered.rfind(" which "), lowered.rfind(" what "))
        if idx > 0:
            before = body[:idx].rstrip()
            tail = body[idx + 1 :]
            last_word = before.split(" ")[-1].lower()
            if (
                last_word in _PREPS and len(before.split()) >= 3 and "," not in tail
                and not _AUX.search(tail) and not _BE & set(tail.lower().split())
            ):
                return f"{before} {answer}"
        m = re.fullmatch(r"(.+?) how many (\w+)(.*)", body)
        if m and not _AUX.search(m.group(3)) and answer[:1].isdigit():
            return f"{m.group(1)} {answer} {m.group(2)}{m.group(3)}"
    return None


def statement(question: str, answer: str) -> str | None:
    """The question and its answer as one plain sentence, or None when it does not read well.

    Sentences before the question are kept as context ("Spike Jonze is a nickname. What is the
    filmmaker's real name?" -> "Spike Jonze is a nickname. The filmmaker's real name is Adam Spiegel.").
    """
    text = " ".join(question.split())
    answer = " ".join(answer.split())
    if not text or not answer:
        return None
    parts = re.split(r"(?<=[.!])\s+(?=[A-Z])", text)
    context, last = parts[:-1], parts[-1]
    if re.search(r"\bthat\b", last, re.IGNORECASE) and not context:
        return None  # "that spin-off": needs a question before it to make sense
    sentence = _one(last, answer)
    if sentence is None:
        return None
    return " ".join([*context, _finish(_cap(sentence))])


@dataclass(frozen=True)
class QA:
    question: str
    answer: str


def pack_names_for(film_key: str) -> list[str]:
    """Candidate shipped pack names for a film key (``her-2013`` -> ``her-2013``, ``her``)."""
    key = film_key.removeprefix("custom:")
    bare = re.sub(r"-\d{4}$", "", key)
    return list(dict.fromkeys([key, bare]))


def questions_for_film(
    packs: Mapping[str, Sequence[QA]], film_key: str, title: str
) -> list[QA]:
    """The film's own pack, plus questions of other packs about it (answer is the title, or the title
    is named in the question)."""
    own_names = [n for n in pack_names_for(film_key) if n in packs]
    out: list[QA] = []
    for name in own_names:
        out.extend(packs[name])
    named = re.compile(rf"(?<![\w'’]){re.escape(title)}(?![\w])") if title.strip() else None
    for name, questions in packs.items():
        if name in own_names:
            continue
        for qa in questions:
            if qa.answer.strip().casefold() == title.strip().casefold() or (named and named.search(qa.question)):
                out.append(qa)
    return out


#: Questions a draft reads at most (in pack order): enough for a film's facts, and a bound on the work a
#: server's own pack can cause.
MAX_FACT_QUESTIONS = 500


def pick_facts(questions: Sequence[QA], *, seed: str, count: int = FACTS) -> list[str]:
    """Up to ``count`` facts (as statements) from the first :data:`MAX_FACT_QUESTIONS` ``questions``, the same
    ones for the same seed."""
    facts = list(
        dict.fromkeys(s for qa in questions[:MAX_FACT_QUESTIONS] if (s := statement(qa.question, qa.answer)))
    )
    rng = random.Random(seed)
    rng.shuffle(facts)
    return facts[:count]
