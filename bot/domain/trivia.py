"""Trivia: packs, answer matching, multiple-choice options, scoring and a game state machine.

Pure logic, no Discord. The cog on top of this module owns the clock: it measures how long a
player took and passes ``elapsed`` seconds in.

Pack format (the Red-DiscordBot trivia YAML format)::

    AUTHOR: The Film Club          # optional
    DESCRIPTION: Questions on Her  # optional
    CONFIG:                        # optional mapping, kept as-is for the cog
      delay: 20
    Who wrote and directed Her?:
    - Spike Jonze                  # the first answer is the one shown
    - Jonze                        # then accepted alternatives
    - Adam Spiegel

Matching (:func:`is_correct`): both sides go through :func:`normalize_answer`; an exact match
wins. Otherwise a fuzzy match is allowed when ``rapidfuzz.fuzz.ratio`` is at least
:data:`FUZZY_THRESHOLD` (85), which forgives one slip in a word of seven letters or more
("Joaquin Phenix"), but never when the two sides carry different numbers ("Rocky" vs
"Rocky II", "1976" vs "1977") and never when either side is three characters or shorter
("Her" must be typed as "her", not "hers" or "here").

Scoring: in button mode a correct answer earns :func:`score_buttons` points, 1,000 for an instant
answer falling linearly to 500 at the time limit. In typed mode the first correct answer earns a
flat :data:`TYPED_POINTS` (1,000) and closes the question.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

import yaml
from rapidfuzz import fuzz

from bot.errors import UserError

# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class TriviaError(UserError):
    """A trivia problem whose message (``.message``) can be shown to the user as-is."""


class PackError(TriviaError):
    """A trivia pack could not be read. ``line`` is 1-based, or None when no line applies."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class AlreadyAnswered(TriviaError):
    """The user already picked an answer for this question."""


class QuestionClosed(TriviaError):
    """There is no open question to answer (time is up, or it was already won)."""


class GameOver(TriviaError):
    """The game has ended; no more questions."""


# --------------------------------------------------------------------------------------------
# Packs
# --------------------------------------------------------------------------------------------

MAX_QUESTION_LENGTH = 1000
MAX_ANSWER_LENGTH = 200
_NULL_TAG = "tag:yaml.org,2002:null"


@dataclass(frozen=True)
class Question:
    text: str
    answers: tuple[str, ...]

    @property
    def answer(self) -> str:
        """The answer to show: the first one listed."""
        return self.answers[0]


@dataclass
class TriviaPack:
    name: str
    author: str | None
    description: str | None
    questions: list[Question]
    config: dict[str, Any] = field(default_factory=dict)
    _index: tuple[tuple[int, int], list[_Entry]] | None = field(default=None, init=False, repr=False, compare=False)


def _short(text: str, limit: int = 60) -> str:
    """A question as quoted in an error, inside backticks: one line, no backticks of its own."""
    text = " ".join(text.replace("`", "'").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _scalar_text(node: yaml.Node) -> str | None:
    """The literal text of a scalar node ("" for null), or None if the node is not a scalar.

    Using the source text rather than the constructed value keeps answers such as ``007``,
    ``1.10`` or ``yes`` exactly as written (YAML would turn them into 7, 1.1 and True).
    """
    if not isinstance(node, yaml.ScalarNode):
        return None
    if node.tag == _NULL_TAG:
        return ""
    return str(node.value).strip()


# Errors whose "context" mark, not the "problem" mark, is on the line the author has to fix: PyYAML
# only notices an unclosed quote or bracket, or a question without its colon, at a later line.
_CONTEXT_HINTS = {
    "while scanning a simple key": "this line is neither `question:` nor `- answer`; is the `:` after the "
    "question or the `- ` before the answer missing?",
    "while scanning a quoted scalar": "a quote opened on this line is never closed",
    "while parsing a flow sequence": "a `[` opened on this line is never closed with `]`",
    "while parsing a flow mapping": "a `{` opened on this line is never closed with `}`",
}


_TOO_DEEP = (
    "This file nests lists or mappings far too deeply to be a trivia pack. A pack is flat: "
    "`Who directed Her?:` lines, each followed by `- Spike Jonze` answer lines."
)


def _yaml_error(exc: yaml.YAMLError, text: str) -> PackError:
    """A :class:`PackError` naming the line to fix, with PyYAML's own words in brackets."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, max(int(exc.position), 0)) + 1
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        return PackError(
            f"Line {line}: this file contains a character YAML does not allow (U+{char:04X}); "
            "is it really a text file?",
            line,
        )
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = exc.problem or exc.context or "unreadable YAML"
        context = exc.context or ""
        if exc.context_mark is not None and context in _CONTEXT_HINTS:
            line = int(exc.context_mark.line) + 1
            return PackError(
                f"Line {line}: this is not valid YAML: {_CONTEXT_HINTS[context]} (PyYAML: {problem}).", line
            )
        if context == "expected a single document in the stream" and exc.problem_mark is not None:
            line = int(exc.problem_mark.line) + 1
            return PackError(
                f"Line {line}: this is not valid YAML: a pack is one document, so remove this `---` "
                "or split the file in two.",
                line,
            )
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            line = int(mark.line) + 1
            return PackError(f"Line {line}: this is not valid YAML ({problem}).", line)
        return PackError(f"This is not valid YAML: {problem}.")
    return PackError(f"This is not valid YAML: {exc}.")


def parse_pack(text: str, name: str) -> TriviaPack:
    """Parse and check a trivia pack. Raises :class:`PackError` naming the offending line."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:  # the reader refuses control characters up front
        raise _yaml_error(exc, text) from exc
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise _yaml_error(exc, text) from exc
        except RecursionError as exc:  # PyYAML composes nested collections recursively
            raise PackError(_TOO_DEEP) from exc
        if root is None:
            raise PackError("The pack is empty: add at least one question with its answers.")
        if not isinstance(root, yaml.MappingNode):
            line = _line(root)
            raise PackError(
                f"Line {line}: a trivia pack must be made of `question: answers` entries, "
                "like `Who directed Her?:` followed by `- Spike Jonze`.",
                line,
            )
        try:
            return _build_pack(loader, root, name)
        except RecursionError as exc:
            raise PackError(_TOO_DEEP) from exc
    finally:
        loader.dispose()


def _build_pack(loader: yaml.SafeLoader, root: yaml.MappingNode, name: str) -> TriviaPack:
    author: str | None = None
    description: str | None = None
    config: dict[str, Any] = {}
    questions: list[Question] = []
    seen: dict[str, int] = {}

    for key_node, value_node in root.value:
        line = _line(key_node)
        key = _scalar_text(key_node)
        if key is None:
            raise PackError(f"Line {line}: each question must be plain text.", line)
        if not key:
            raise PackError(f"Line {line}: a question is empty.", line)
        dedup_key = " ".join(key.casefold().split())
        if dedup_key in seen:
            raise PackError(
                f"Line {line}: the question `{_short(key)}` is already asked on line {seen[dedup_key]}.",
                line,
            )
        seen[dedup_key] = line

        if key in ("AUTHOR", "DESCRIPTION"):
            value = _scalar_text(value_node)
            if value is None:
                raise PackError(f"Line {line}: {key} must be plain text.", line)
            if key == "AUTHOR":
                author = value or None
            else:
                description = value or None
            continue
        if key == "CONFIG":
            if isinstance(value_node, yaml.ScalarNode) and value_node.tag == _NULL_TAG:
                continue
            if not isinstance(value_node, yaml.MappingNode):
                raise PackError(
                    f"Line {line}: CONFIG must be a mapping, like `CONFIG:` followed by indented `delay: 20` lines.",
                    line,
                )
            try:
                constructed = loader.construct_object(value_node, deep=True)
            except yaml.YAMLError as exc:
                raise PackError(f"Line {line}: CONFIG could not be read ({exc}).", line) from exc
            config = {str(k): v for k, v in dict(constructed).items()}
            continue

        questions.append(_build_question(key, value_node, line))

    if not questions:
        raise PackError("The pack has no questions. Add one like `Who directed Her?:` followed by `- Spike Jonze`.")
    return TriviaPack(name=name, author=author, description=description, questions=questions, config=config)


def _build_question(key: str, value_node: yaml.Node, line: int) -> Question:
    q = _short(key)
    if len(key) > MAX_QUESTION_LENGTH:
        raise PackError(
            f"Line {line}: the question `{q}` is {len(key):,} characters long; the limit is {MAX_QUESTION_LENGTH:,}.",
            line,
        )
    if not isinstance(value_node, yaml.SequenceNode):
        raise PackError(f"Line {line}: the answers for `{q}` must be a list, like `- Spike Jonze`.", line)
    if not value_node.value:
        raise PackError(f"Line {line}: `{q}` needs at least one answer, like `- Spike Jonze`.", line)
    answers: list[str] = []
    for item in value_node.value:
        answer = _scalar_text(item)
        if answer is None:
            raise PackError(
                f"Line {line}: each answer for `{q}` must be a word, name or number, not a list or a mapping.",
                line,
            )
        if not answer:
            raise PackError(f"Line {line}: `{q}` has an empty answer.", line)
        if len(answer) > MAX_ANSWER_LENGTH:
            raise PackError(
                f"Line {line}: an answer for `{q}` is {len(answer):,} characters long; "
                f"the limit is {MAX_ANSWER_LENGTH}.",
                line,
            )
        answers.append(answer)
    return Question(text=key, answers=tuple(answers))


def load_shipped_packs() -> dict[str, TriviaPack]:
    """Every pack in ``bot/data/trivia/*.yaml``, keyed by file name without ``.yaml``."""
    packs: dict[str, TriviaPack] = {}
    folder = resources.files("bot.data.trivia")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml") or not entry.is_file():
            continue
        name = entry.name[: -len(".yaml")]
        try:
            packs[name] = parse_pack(entry.read_text(encoding="utf-8"), name)
        except PackError as exc:
            raise PackError(f"{entry.name}: {exc.message}", exc.line) from exc
    return packs


# --------------------------------------------------------------------------------------------
# Answer matching
# --------------------------------------------------------------------------------------------

FUZZY_THRESHOLD = 85.0
"""Minimum ``fuzz.ratio`` (0-100) for a near miss to count. One typo in a 7+ letter word passes."""

SHORT_ANSWER_LENGTH = 3
"""Normalised answers (or guesses) this short must match exactly."""

_PUNCT_MAP = str.maketrans(
    {
        "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'", "´": "'",
        "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
        "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-",
    }
)  # fmt: skip

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20,
}  # fmt: skip
_TENS = {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_TENS_WITH_UNITS = {**_TENS, "twenty": 20}
# Roman numerals II..XX as used in sequel titles. I, V and X alone are left alone ("Malcolm X").
_ROMAN = {
    "ii": 2, "iii": 3, "iv": 4, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "xi": 11, "xii": 12,
    "xiii": 13, "xiv": 14, "xv": 15, "xvi": 16, "xvii": 17, "xviii": 18, "xix": 19, "xx": 20,
}  # fmt: skip
_ARTICLES = {"the", "a", "an"}


def _read_below_hundred(tokens: list[str], i: int) -> tuple[int, int] | None:
    if i >= len(tokens):
        return None
    word = tokens[i]
    if word in _TENS_WITH_UNITS:
        value = _TENS_WITH_UNITS[word]
        if i + 1 < len(tokens) and tokens[i + 1] in _UNITS and 1 <= _UNITS[tokens[i + 1]] <= 9:
            return value + _UNITS[tokens[i + 1]], i + 2
        return value, i + 1
    if word in _UNITS:
        return _UNITS[word], i + 1
    return None


def _read_number(tokens: list[str], i: int) -> tuple[int, int] | None:
    """Read a spelled-out number (up to the hundreds) starting at ``tokens[i]``."""
    first = _read_below_hundred(tokens, i)
    value, j = first if first is not None else (None, i)
    if j < len(tokens) and tokens[j] == "hundred" and (value is None or 1 <= value <= 9):
        value = (value or 1) * 100
        j += 1
        k = j + 1 if j < len(tokens) and tokens[j] == "and" else j
        rest = _read_below_hundred(tokens, k)
        if rest is not None and rest[0] > 0:
            value += rest[0]
            j = rest[1]
    if value is None:
        return None
    return value, j


def _words_to_digits(tokens: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        read = _read_number(tokens, i)
        if read is None:
            out.append(str(_ROMAN.get(tokens[i], tokens[i])))
            i += 1
        else:
            out.append(str(read[0]))
            i = read[1]
    return out


def normalize_answer(s: str) -> str:
    """Canonical form for comparing answers.

    Casefolds, strips accents, makes smart quotes plain, drops punctuation (apostrophes and dots
    vanish except decimal points, other marks become spaces, ``&`` becomes "and", thousands separators go), splits
    letters from digits ("OS1" -> "os 1"), turns number words and sequel numerals into digits
    ("twenty-one" -> "21", "II" -> "2"), drops a leading "the"/"a"/"an" and collapses spaces.
    """
    s = s.translate(_PUNCT_MAP).casefold()
    s = unicodedata.normalize("NFKD", s)
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    s = s.replace("&", " and ")
    s = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", s)
    s = re.sub(r"'|(?<!\d)\.|\.(?!\d)", "", s)  # o'brien, k.k., l.a.; keep decimal points
    s = re.sub(r"[^\w\s.]|_", " ", s)
    s = re.sub(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])", " ", s)
    tokens = _words_to_digits(s.split())
    if len(tokens) > 1 and tokens[0] in _ARTICLES:
        tokens = tokens[1:]
    return " ".join(tokens)


def _numbers_in(normalized: str) -> list[str]:
    return sorted(t for t in normalized.split() if any(ch.isdigit() for ch in t))


def is_correct(guess: str, answers: Sequence[str]) -> bool:
    """Whether ``guess`` matches any of ``answers`` (see the module docstring for the rules)."""
    return _matches(normalize_answer(guess), [normalize_answer(str(a)) for a in answers])


def _matches(g: str, normalized_answers: Sequence[str]) -> bool:
    """:func:`is_correct` on sides already passed through :func:`normalize_answer`."""
    if not g:
        return False
    g_compact = g.replace(" ", "")
    g_numbers = _numbers_in(g)
    for a in normalized_answers:
        if not a:
            continue
        if g == a:
            return True
        if _numbers_in(a) != g_numbers:
            continue
        a_compact = a.replace(" ", "")
        if g_compact == a_compact:
            return True
        if len(a_compact) <= SHORT_ANSWER_LENGTH or len(g_compact) <= SHORT_ANSWER_LENGTH:
            continue
        if fuzz.ratio(g, a) >= FUZZY_THRESHOLD:
            return True
    return False


def hint(answer: str) -> str:
    """Show the first letter of each word and hide the rest: "Spike Jonze" -> "S____ J____"."""
    out: list[str] = []
    start_of_word = True
    for ch in answer:
        if ch.isalnum():
            out.append(ch if start_of_word else "_")
            start_of_word = False
        else:
            out.append(ch)
            start_of_word = ch.isspace() or ch in "-/"
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Multiple choice
# --------------------------------------------------------------------------------------------

MAX_LABEL_LENGTH = 80
"""Discord button labels are limited to 80 characters."""

Kind = Literal["year", "number", "person", "film", "award", "place", "date", "other"]

_KIND_NOUNS: dict[str, Kind] = {
    **dict.fromkeys(
        "actor actress director directors filmmaker singer composer cinematographer philosopher "
        "comedian boxer champion producer designer musician inventor man woman writer character "
        "villain father".split(),
        "person",
    ),
    **dict.fromkeys(
        "film films movie picture nominee winner sequel spin-off biopic musical drama thriller "
        "comedy satire documentary western".split(),
        "film",
    ),
    **dict.fromkeys("oscar oscars award awards globe".split(), "award"),
    **dict.fromkeys("city town country state pier museum neighbourhood neighborhood".split(), "place"),
    **dict.fromkeys("day holiday month".split(), "date"),
}
_WHO_RE = re.compile(r"(?:^|[.?!:]\s+)(?:who|whom|whose)\b", re.IGNORECASE)
_WHICH_RE = re.compile(r"\b(?:which|what)\b((?:\s+[\w'’.,-]+){1,4})", re.IGNORECASE)


def answer_kind(question: Question) -> Kind:
    """Rough category of a question's answer, used to pick believable wrong choices.

    Numbers and years come from the answer itself; otherwise from the question: a sentence
    starting with "Who" asks for a person, and in "which/what ..." the first known noun within
    four words decides ("Which Martin Scorsese film" -> film, "which Oscar" -> award).
    """
    normalized = normalize_answer(question.answer)
    if normalized.isdigit():
        value = int(normalized)
        return "year" if len(normalized) == 4 and 1850 <= value <= 2100 else "number"
    if _WHO_RE.search(question.text):
        return "person"
    for match in _WHICH_RE.finditer(question.text):
        for word in match.group(1).split():
            word = re.sub(r"['’]s$", "", word.casefold()).strip(".,")
            if word in _KIND_NOUNS:
                return _KIND_NOUNS[word]
    return "other"


def _label(text: str) -> str:
    return text if len(text) <= MAX_LABEL_LENGTH else text[: MAX_LABEL_LENGTH - 1] + "…"


def _nearby_numbers(value: int, kind: Kind, rng: random.Random) -> list[int]:
    if kind == "year":
        candidates = [value + d for d in (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5)]
    elif value < 10:
        candidates = [value + d for d in (-3, -2, -1, 1, 2, 3, 4, 5) if value + d >= 1]
    else:
        candidates = sorted({round(value * f) for f in (0.5, 0.7, 0.8, 0.9, 1.1, 1.2, 1.3, 1.5, 2.0)})
        candidates = [c for c in candidates if c != value and c >= 0]
    rng.shuffle(candidates)
    return candidates


def _close_number(a: int, b: int, kind: Kind) -> bool:
    if kind == "year":
        return abs(a - b) <= 15
    if a == 0 or b == 0:
        return a == b
    return 1 / 3 <= a / b <= 3


@dataclass(frozen=True)
class _Entry:
    text: str
    answer: str
    kind: Kind
    norm: str


def _pack_index(pack: TriviaPack) -> list[_Entry]:
    """Each question's first answer with its kind and normal form, computed once per pack."""
    key = (id(pack.questions), len(pack.questions))
    cached = pack._index
    if cached is not None and cached[0] == key:
        return cached[1]
    entries = [_Entry(q.text, q.answer, answer_kind(q), normalize_answer(q.answer)) for q in pack.questions]
    pack._index = (key, entries)
    return entries


CHOICES = 4
"""Buttons mode shows this many choices per question."""
_MAX_CANDIDATES = 200
"""Wrong answers tried per question before giving up (bounds the work on look-alike packs)."""


def make_choices(
    question: Question, pack: TriviaPack, rng: random.Random, n: int = CHOICES
) -> tuple[list[str], int]:
    """Multiple-choice labels for ``question`` and the index of the correct one.

    The correct label is the question's first answer; the wrong ones are other questions' first
    answers from the same pack, preferring the same kind (a year for a year, a person for a
    person, a film for a film). For numbers, nearby made-up values fill in when the pack has
    too few close ones. A wrong choice never matches any accepted answer (:func:`is_correct`),
    no two choices normalise alike and no two labels read the same. With a tiny pack, or one
    whose answers are all alike, there may be fewer than ``n`` choices. Labels are cut to 80
    characters.
    """
    if not 2 <= n <= 25:
        raise ValueError("n must be between 2 and 25")
    kind = answer_kind(question)
    answer_norms = [normalize_answer(a) for a in question.answers]
    taken = set(answer_norms)
    numeric = kind in ("year", "number")
    correct_value = int(normalize_answer(question.answer)) if numeric else 0

    same_close: list[_Entry] = []
    same_far: list[_Entry] = []
    others: list[_Entry] = []
    for other in _pack_index(pack):
        if other.text == question.text or other.norm in taken:
            continue
        if other.kind != kind:
            others.append(other)
        elif numeric and not _close_number(int(other.norm), correct_value, kind):
            same_far.append(other)
        else:
            same_close.append(other)
    for pool in (same_close, same_far, others):
        rng.shuffle(pool)
    made_up: list[tuple[str, str]] = []
    if numeric:
        use_commas = "," in question.answer
        for v in _nearby_numbers(correct_value, kind, rng):
            label = f"{v:,}" if use_commas else str(v)
            made_up.append((label, normalize_answer(label)))

    candidates = [
        *((e.answer, e.norm) for e in same_close),
        *made_up,
        *((e.answer, e.norm) for e in same_far),
        *((e.answer, e.norm) for e in others),
    ]
    correct_label = _label(question.answer)
    labels = {correct_label.casefold()}
    wrong: list[str] = []
    tries = 0
    for candidate, norm in candidates:
        if len(wrong) == n - 1 or tries >= _MAX_CANDIDATES:
            break
        if not norm or norm in taken:
            continue
        tries += 1
        label = _label(candidate)
        if label.casefold() in labels or _matches(norm, answer_norms):
            continue
        taken.add(norm)
        labels.add(label.casefold())
        wrong.append(label)

    order = [*wrong, None]
    rng.shuffle(order)
    choices = [correct_label if c is None else c for c in order]
    return choices, order.index(None)


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------

TYPED_POINTS = 1000
"""Typed mode: the first correct answer earns this, whatever the time."""
BUTTON_MAX_POINTS = 1000
BUTTON_MIN_POINTS = 500


def score_buttons(elapsed: float, limit: float) -> int:
    """Points for a correct button answer: 1,000 at 0 s, falling linearly to 500 at ``limit``."""
    if limit <= 0:
        return BUTTON_MAX_POINTS
    fraction = min(max(elapsed / limit, 0.0), 1.0)
    return round(BUTTON_MAX_POINTS - (BUTTON_MAX_POINTS - BUTTON_MIN_POINTS) * fraction)


# --------------------------------------------------------------------------------------------
# Game state machine
# --------------------------------------------------------------------------------------------

Mode = Literal["typed", "buttons"]
MODES: tuple[Mode, ...] = ("typed", "buttons")
MIN_ROUNDS, MAX_ROUNDS = 1, 50
MIN_SECONDS, MAX_SECONDS = 5.0, 300.0
SILENT_QUESTIONS_TO_END = 3


@dataclass(frozen=True)
class RoundQuestion:
    """The question being asked. ``choices``/``correct_index`` are set in button mode only."""

    number: int
    total: int
    question: Question
    choices: tuple[str, ...] | None
    correct_index: int | None

    @property
    def hint(self) -> str:
        return hint(self.question.answer)


@dataclass(frozen=True)
class AnswerResult:
    user_id: int
    choice_index: int
    correct: bool
    points: int


@dataclass(frozen=True)
class QuestionResult:
    number: int
    question: Question
    answer: str
    """The answer to reveal (the question's first answer)."""
    correct_index: int | None
    awarded: tuple[tuple[int, int], ...]
    """(user_id, points) for each correct answer, in the order they came in."""
    answered_by: tuple[int, ...]
    """Every user who tried (a typed guess or a button), in order of their first try."""

    @property
    def anybody_answered(self) -> bool:
        return bool(self.answered_by)

    @property
    def winners(self) -> tuple[int, ...]:
        return tuple(user for user, _ in self.awarded)


class TriviaGame:
    """One trivia session in a channel.

    Flow: ``next_question()`` -> answers (``answer_typed`` or ``answer_button``) ->
    ``close_question()`` -> ... until ``is_over``. Points are added to the standings when a
    question is closed. The game ends after ``rounds`` questions, after three questions in a
    row that nobody tried to answer, or on ``stop()``. ``elapsed`` is seconds since the
    question was posted; answers later than ``seconds`` do not count.
    """

    def __init__(
        self,
        pack: TriviaPack,
        *,
        rounds: int = 10,
        mode: Mode = "buttons",
        seconds: float = 20.0,
        rng: random.Random | None = None,
    ) -> None:
        if mode not in MODES:
            raise TriviaError("The trivia mode must be `typed` or `buttons`.")
        if not MIN_ROUNDS <= rounds <= MAX_ROUNDS:
            raise TriviaError(f"A game has between {MIN_ROUNDS} and {MAX_ROUNDS} questions.")
        if not MIN_SECONDS <= seconds <= MAX_SECONDS:
            raise TriviaError(f"Give players between {MIN_SECONDS:g} and {MAX_SECONDS:g} seconds per question.")
        if not pack.questions:
            raise TriviaError(f"The pack `{pack.name}` has no questions.")
        self.pack = pack
        self.mode: Mode = mode
        self.seconds = float(seconds)
        self.rng = rng if rng is not None else random.Random()
        self._choices: list[tuple[tuple[str, ...], int]] = []
        self._queue: list[Question]
        if mode == "buttons":
            self._queue = self._button_questions(pack, rounds)
        else:
            self._queue = self.rng.sample(pack.questions, min(rounds, len(pack.questions)))
        self.rounds = len(self._queue)
        self._asked = 0
        self._closed = 0
        self._current: RoundQuestion | None = None
        self._open = False
        self._attempted: list[int] = []
        self._button_answers: dict[int, AnswerResult] = {}
        self._awarded: list[tuple[int, int]] = []
        self._scores: dict[int, int] = {}
        self._stopped = False
        self.unanswered_streak = 0
        self.history: list[QuestionResult] = []

    def _button_questions(self, pack: TriviaPack, rounds: int) -> list[Question]:
        """Up to ``rounds`` questions that get four different choices, with their choices.

        A pack whose answers are too few or too alike ("Her", "her!", "HER") cannot make four
        choices for every question; those questions are left out. The search is bounded so a
        huge pack of look-alike answers cannot stall the bot.
        """
        order = self.rng.sample(pack.questions, len(pack.questions))
        queue: list[Question] = []
        for question in order[: max(rounds * 3, 30)]:
            labels, correct_index = make_choices(question, pack, self.rng)
            if len(labels) < CHOICES:
                continue
            queue.append(question)
            self._choices.append((tuple(labels), correct_index))
            if len(queue) == rounds:
                break
        if not queue:
            raise TriviaError(
                f"Buttons mode needs {CHOICES} different answers to choose from, and the answers in "
                f"`{pack.name}` are too few or too alike. Play it with `mode: typed`, or add questions "
                "with other answers."
            )
        return queue

    # -- state ------------------------------------------------------------------------------

    @property
    def current(self) -> RoundQuestion | None:
        """The question being asked (open or won but not yet closed), if any."""
        return self._current

    @property
    def is_open(self) -> bool:
        """Whether the current question still takes answers."""
        return self._current is not None and self._open

    @property
    def is_over(self) -> bool:
        return self.end_reason is not None

    @property
    def end_reason(self) -> Literal["rounds", "silence", "stopped"] | None:
        if self._stopped:
            return "stopped"
        if self.unanswered_streak >= SILENT_QUESTIONS_TO_END:
            return "silence"
        if self._closed >= self.rounds:
            return "rounds"
        return None

    def stop(self) -> None:
        """End the game now (a moderator stopped it). An open question is dropped unscored."""
        self._stopped = True
        self._current = None
        self._open = False

    # -- flow -------------------------------------------------------------------------------

    def next_question(self) -> RoundQuestion:
        if self.is_over:
            raise GameOver("This trivia game is over.")
        if self._current is not None:
            raise TriviaError("The current question has to be closed first.")
        question = self._queue[self._asked]
        self._asked += 1
        choices: tuple[str, ...] | None = None
        correct_index: int | None = None
        if self.mode == "buttons":
            choices, correct_index = self._choices[self._asked - 1]
        self._current = RoundQuestion(self._asked, self.rounds, question, choices, correct_index)
        self._open = True
        self._attempted = []
        self._button_answers = {}
        self._awarded = []
        return self._current

    def _in_time(self, elapsed: float) -> bool:
        return elapsed <= self.seconds

    def _note_attempt(self, user_id: int) -> None:
        if user_id not in self._attempted:
            self._attempted.append(user_id)

    def answer_typed(self, user_id: int, text: str, elapsed: float) -> bool:
        """A chat message during a typed question. True if it wins the question (which closes it).

        Messages when no question is open, or after the time limit, simply return False.
        """
        if self.mode != "typed":
            raise TriviaError("This game is played with buttons.")
        if not self.is_open or self._current is None or not self._in_time(elapsed) or not text.strip():
            return False
        self._note_attempt(user_id)
        if not is_correct(text, self._current.question.answers):
            return False
        self._awarded.append((user_id, TYPED_POINTS))
        self._open = False
        return True

    def answer_button(self, user_id: int, choice_index: int, elapsed: float) -> AnswerResult:
        """A button press. Each user gets one pick per question."""
        if self.mode != "buttons":
            raise TriviaError("This game is played by typing answers.")
        current = self._current
        if not self.is_open or current is None or not self._in_time(elapsed):
            raise QuestionClosed("Too late: this question is closed.")
        if user_id in self._button_answers:
            raise AlreadyAnswered("You already answered this question.")
        assert current.choices is not None and current.correct_index is not None
        if not 0 <= choice_index < len(current.choices):
            raise TriviaError("That choice is not one of the options.")
        correct = choice_index == current.correct_index
        points = score_buttons(max(elapsed, 0.0), self.seconds) if correct else 0
        result = AnswerResult(user_id, choice_index, correct, points)
        self._button_answers[user_id] = result
        self._note_attempt(user_id)
        if correct:
            self._awarded.append((user_id, points))
        return result

    def close_question(self) -> QuestionResult:
        """End the current question, add its points to the standings and report on it."""
        current = self._current
        if current is None:
            raise TriviaError("There is no question to close.")
        for user_id in self._attempted:
            self._scores.setdefault(user_id, 0)
        for user_id, points in self._awarded:
            self._scores[user_id] += points
        result = QuestionResult(
            number=current.number,
            question=current.question,
            answer=current.question.answer,
            correct_index=current.correct_index,
            awarded=tuple(self._awarded),
            answered_by=tuple(self._attempted),
        )
        self.unanswered_streak = 0 if result.anybody_answered else self.unanswered_streak + 1
        self._closed += 1
        self._current = None
        self._open = False
        self.history.append(result)
        return result

    def standings(self) -> list[tuple[int, int]]:
        """(user_id, points), best first; everyone who tried is listed, ties by first to join."""
        return sorted(self._scores.items(), key=lambda item: -item[1])


MAX_ANSWERS = 20


def check_question(question_text: str, answers_text: str) -> tuple[str, list[str]]:
    """Validate what a moderator typed into the add modal."""
    question = " ".join(question_text.split())
    if not question:
        raise TriviaError("The question is empty. Type a question, then its answers one per line.")
    if len(question) > MAX_QUESTION_LENGTH:
        raise TriviaError(f"The question is too long: the limit is {MAX_QUESTION_LENGTH:,} characters.")
    answers: list[str] = []
    seen: set[str] = set()
    for line in answers_text.splitlines():
        answer = line.strip()
        if not answer:
            continue
        if len(answer) > MAX_ANSWER_LENGTH:
            raise TriviaError(
                f"The answer `{answer[:40]}` is too long: the limit is {MAX_ANSWER_LENGTH} characters."
            )
        norm = normalize_answer(answer)
        if not norm:
            raise TriviaError(f"The answer `{answer[:40]}` has no letters or digits; nobody could type it.")
        if norm in seen:
            continue
        seen.add(norm)
        answers.append(answer)
    if not answers:
        raise TriviaError("Give at least one answer (one per line; the first is the one shown).")
    if len(answers) > MAX_ANSWERS:
        raise TriviaError(f"That's {len(answers)} answers; keep it to {MAX_ANSWERS} per question.")
    return question, answers
