"""Snack-award polls: the rules, with no Discord and no database.

Nominees
    2 to 10 entries separated by ``;`` or new lines, each 1 to 100 characters after trimming
    (inner runs of spaces become one space). Duplicates are refused, comparing without regard
    to case or spacing ("Cheese  Pizza" and "cheese pizza" are the same nominee). One trailing
    separator is forgiven (``a; b;``); any other empty entry is an error.

Ballots
    A member's state on a poll is a :class:`Ballot`: the nominee they currently vote for
    (``choice``, or ``None``) and ``seen``, a bit mask of the number reactions of theirs the bot
    has seen on the poll message (bit ``i`` = nominee ``i``).

    * Adding a number reaction makes it the member's vote (their latest reaction counts) and
      marks it seen. Every *other* seen reaction of theirs is stale; the bot removes those when it
      may (Manage Messages).
    * Removing the reaction of the current vote withdraws the vote. Removing any other number
      reaction only clears its seen bit. This is why the bot's own clean-up of a stale reaction
      (which Discord reports as a REMOVE event) never withdraws the vote that replaced it.

Reconciling at close (votes cast or withdrawn while the bot was not listening)
    For each member, ``actual`` = the number reactions they have on the message at close time.
    ``fresh`` = ``actual`` minus ``seen``: reactions the bot never saw being added.

    1. No number reaction left: no vote (withdrawn, or never cast).
    2. Exactly one fresh reaction: it is the member's vote (their latest act was adding it).
    3. Several fresh reactions: the order they were added in is unknown. The ballot the database
       has is kept if its reaction is still there; otherwise the ballot is **void** (like a paper
       ballot marked twice) and counts for nobody. Void ballots are reported in the results.
    4. No fresh reaction: the database ballot is kept if its reaction is still there; if it is
       gone (removed while the bot was away), the vote is withdrawn. Older reactions the bot had
       already seen superseded (possible when it lacks Manage Messages) do not come back to life.
       A ballot already void stays void while the member still has number reactions.

    Afterwards every reaction present counts as seen. The bot reconciles when it (re)connects as
    well as at close, so a reaction seen live after a restart is known to be newer than one added
    while it was away (and the older one is tidied). A void ballot keeps its ``void`` mark until the
    member adds a number again (their latest act then decides) or removes all of theirs.

Tally
    Counts per nominee; the winners are every nominee with the highest count (more than one is a
    tie: co-winners, never a single "winner" chosen arbitrarily). No ballots: no winner.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from bot.domain.words import plural as plural
from bot.errors import UserError

MIN_NOMINEES = 2
MAX_NOMINEES = 10
MAX_NOMINEE_LEN = 100
MAX_CATEGORY_LEN = 100
MAX_FILM_LEN = 150
MAX_AHEAD = timedelta(days=32)

KEYCAPS: tuple[str, ...] = (
    "1\ufe0f\u20e3", "2\ufe0f\u20e3", "3\ufe0f\u20e3", "4\ufe0f\u20e3", "5\ufe0f\u20e3",
    "6\ufe0f\u20e3", "7\ufe0f\u20e3", "8\ufe0f\u20e3", "9\ufe0f\u20e3", "\U0001f51f",
)  # fmt: skip
_KEYCAP_LOOKUP = {k.replace("\ufe0f", ""): i for i, k in enumerate(KEYCAPS)}

VOTE_HELP = "React with one number; your latest reaction counts. Remove it to withdraw your vote."

_SEPARATORS = re.compile(r"[;\n\r]")
_SPACES = re.compile(r"\s+")


class AwardError(UserError):
    """Bad input for an award poll; the message says how to fix it."""


# --------------------------------------------------------------------------- input


def _squash(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def nominee_key(name: str) -> str:
    """What two nominees are compared by: case and spacing do not matter."""
    return _squash(name).casefold()


def parse_nominees(text: str) -> tuple[str, ...]:
    """Split and check the nominees typed by a moderator (see the module docstring)."""
    stripped = text.strip()
    if stripped.endswith(";"):
        stripped = stripped[:-1]
    raw = _SEPARATORS.split(stripped) if stripped else []
    # Blank lines between entries typed on separate lines are not entries.
    if "\n" in stripped and ";" not in stripped:
        raw = [part for part in raw if part.strip()]
    nominees: list[str] = []
    seen: dict[str, int] = {}
    for position, part in enumerate(raw, start=1):
        name = _squash(part)
        if not name:
            raise AwardError(
                f"Nominee {position} is empty. Separate nominees with `;` or new lines, "
                "like `Cheese pizza; Coke; Churros`."
            )
        if len(name) > MAX_NOMINEE_LEN:
            raise AwardError(
                f"Nominee {position} is {len(name)} characters long; the limit is {MAX_NOMINEE_LEN}. "
                "Shorten it, please."
            )
        key = nominee_key(name)
        if key in seen:
            raise AwardError(
                f"`{name}` is nominated twice (nominees {seen[key]} and {position}). "
                "Each nominee may appear once; case and spacing don't make a new one."
            )
        seen[key] = position
        nominees.append(name)
    if len(nominees) < MIN_NOMINEES:
        raise AwardError(
            f"An award needs at least {MIN_NOMINEES} nominees (got {len(nominees)}). "
            "Separate them with `;` or new lines, like `Cheese pizza; Coke`."
        )
    if len(nominees) > MAX_NOMINEES:
        raise AwardError(
            f"At most {MAX_NOMINEES} nominees fit on the number reactions (got {len(nominees)}). "
            "Trim the list, or split it into two awards."
        )
    return tuple(nominees)


def clean_category(text: str) -> str:
    name = _squash(text)
    if not name:
        raise AwardError("Give the award a category, like `Best Snacktor in a Supporting Role`.")
    if len(name) > MAX_CATEGORY_LEN:
        raise AwardError(f"The category is {len(name)} characters; keep it to {MAX_CATEGORY_LEN} or fewer.")
    return name


def clean_film(text: str | None) -> str | None:
    if text is None:
        return None
    name = _squash(text)
    if not name:
        return None
    if len(name) > MAX_FILM_LEN:
        raise AwardError(f"The film name is {len(name)} characters; keep it to {MAX_FILM_LEN} or fewer.")
    return name


# --------------------------------------------------------------------------- emoji


def keycap(index: int) -> str:
    """The number reaction of nominee ``index`` (0-based): 1️⃣ … 🔟."""
    return KEYCAPS[index]


def keycap_index(emoji: str, nominees: int = MAX_NOMINEES) -> int | None:
    """The nominee index a reaction stands for, or None (not a number, or beyond the nominees).

    Discord sends keycaps with or without the variation selector U+FE0F; both are accepted.
    """
    index = _KEYCAP_LOOKUP.get(emoji.replace("\ufe0f", ""))
    if index is None or index >= nominees:
        return None
    return index


# --------------------------------------------------------------------------- ballots


def bit(index: int) -> int:
    return 1 << index


def mask_of(indexes: Iterable[int]) -> int:
    mask = 0
    for index in indexes:
        mask |= 1 << index
    return mask


def indexes_of(mask: int) -> tuple[int, ...]:
    return tuple(i for i in range(MAX_NOMINEES) if mask & (1 << i))


@dataclass(frozen=True)
class Ballot:
    choice: int | None = None
    seen: int = 0
    void: bool = False  # several numbers added while the bot was away, none of them known to be last

    @property
    def stale(self) -> tuple[int, ...]:
        """Seen reactions of the member that are not their vote (to tidy away when permitted)."""
        if self.choice is None:
            return ()
        return indexes_of(self.seen & ~bit(self.choice))


@dataclass(frozen=True)
class AddOutcome:
    ballot: Ballot
    stale: tuple[int, ...]  # other reactions of the member the bot should remove


def apply_add(ballot: Ballot | None, index: int) -> AddOutcome:
    """A member added the number reaction ``index``: it becomes their vote."""
    seen = (ballot.seen if ballot else 0) | bit(index)
    return AddOutcome(Ballot(index, seen), indexes_of(seen & ~bit(index)))


def apply_remove(ballot: Ballot | None, index: int) -> Ballot | None:
    """A member's number reaction ``index`` went away (by them or by the bot's clean-up)."""
    if ballot is None:
        return None
    choice = None if ballot.choice == index else ballot.choice
    seen = ballot.seen & ~bit(index)
    return Ballot(choice, seen, ballot.void and bool(seen))


@dataclass(frozen=True)
class Reconciled:
    ballots: dict[int, Ballot]
    counted_offline: int = 0  # votes the bot learnt of only at close
    withdrawn_offline: int = 0  # database votes whose reaction had gone
    void: frozenset[int] = frozenset()  # members with several unseen reactions and no standing vote


def reconcile(stored: Mapping[int, Ballot], actual: Mapping[int, int]) -> Reconciled:
    """Bring the ballots in line with the reactions on the message (rules in the module docstring).

    ``stored``: member -> ballot from the database. ``actual``: member -> mask of the number
    reactions they have on the message now (members without any may be left out).
    """
    out: dict[int, Ballot] = {}
    counted = withdrawn = 0
    void: set[int] = set()
    for member in set(stored) | set(actual):
        have = actual.get(member, 0)
        old = stored.get(member, Ballot())
        fresh = have & ~old.seen
        standing = old.choice is not None and bool(have & bit(old.choice))
        fresh_list = indexes_of(fresh)
        choice: int | None
        if not have:
            choice = None
        elif len(fresh_list) == 1:
            choice = fresh_list[0]
        elif standing:
            choice = old.choice
        else:
            choice = None
            if fresh_list or old.void:
                void.add(member)
        if choice is not None and choice != old.choice:
            counted += 1
        elif choice is None and old.choice is not None:
            withdrawn += 1
        out[member] = Ballot(choice, have, member in void)
    return Reconciled(out, counted, withdrawn, frozenset(void))


# --------------------------------------------------------------------------- tally


@dataclass(frozen=True)
class Tally:
    counts: tuple[int, ...]
    winners: tuple[int, ...] = field(default=())

    @property
    def ballots(self) -> int:
        return sum(self.counts)

    @property
    def is_tie(self) -> bool:
        return len(self.winners) > 1

    def percentages(self) -> tuple[float, ...]:
        return percentages(self.counts)


def tally(choices: Iterable[int | None], nominees: int) -> Tally:
    """Count the votes (``None`` = no vote); every nominee with the top count wins."""
    counts = [0] * nominees
    for choice in choices:
        if choice is not None:
            if not 0 <= choice < nominees:
                raise ValueError(f"vote for nominee {choice} of {nominees}")
            counts[choice] += 1
    return Tally(tuple(counts), winners_of(counts))


def winners_of(counts: Sequence[int]) -> tuple[int, ...]:
    top = max(counts, default=0)
    if top == 0:
        return ()
    return tuple(i for i, c in enumerate(counts) if c == top)


def percentages(counts: Sequence[int]) -> tuple[float, ...]:
    """Share of the ballots per nominee, rounded to one decimal (0.0 for all when nobody voted)."""
    total = sum(counts)
    if total == 0:
        return tuple(0.0 for _ in counts)
    return tuple(round(100.0 * c / total, 1) for c in counts)


def format_percent(value: float) -> str:
    return f"{value:.1f}%"


def runoff_nominees(nominees: Sequence[str], result: Tally) -> tuple[str, ...]:
    """The nominees of a runoff: the tied co-winners, in their original order."""
    if not result.is_tie:
        raise AwardError("Only a tied award can go to a runoff; this one has a clear winner (or no votes).")
    return tuple(nominees[i] for i in result.winners)


_FOOTERS = (
    "Counted twice and certified by the accountants at Ernst & Yum. No crumbs were harmed.",
    "Audited by Ernst & Yum, who licked their pencils and found every ballot in order.",
    "Certified by Ernst & Yum: sealed in a popcorn tub until the final credits.",
    "Ernst & Yum attest these figures, signed in butter on a napkin.",
)


def certification(poll_id: int, ballots: int, void: int = 0) -> str:
    """The results footer, in the club's tradition; the wording varies by poll."""
    text = _FOOTERS[poll_id % len(_FOOTERS)]
    tail = f" {plural(ballots, 'ballot')} counted"
    if void:
        tail += f", {plural(void, 'void ballot')} (several numbers added while the bot was away)"
    return text + tail + "."
