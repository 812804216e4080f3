"""Callback data for inline buttons: short, versioned, validated.

Every payload starts with ``v1:`` so that buttons from an older release can be
recognised as stale instead of misread. ``decode`` never raises: anything that
is not a well-formed payload of this version (a stale button, a forged one)
comes back as None, and the handler answers with a polite toast.
Telegram allows at most 64 bytes; ``encode`` asserts that. Deck ids and tags
travel as ``topic_ref``: the id itself when it is short enough, else a hash of
it, so a bank with a long id still gets working buttons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.domain.topics import REF_HEX_DIGITS, TOPIC_KEY_MAX, topic_ref

VERSION = "v1"
MAX_BYTES = 64

Section = Literal["menu", "time", "days", "topics", "timezone", "reminder"]
DaysPreset = Literal["all", "weekdays", "weekends"]
SECTIONS: tuple[Section, ...] = ("menu", "time", "days", "topics", "timezone", "reminder")
DAY_PRESETS: tuple[DaysPreset, ...] = ("all", "weekdays", "weekends")


@dataclass(frozen=True)
class Reveal:
    delivery_id: int


@dataclass(frozen=True)
class Grade:
    delivery_id: int
    rating: int


@dataclass(frozen=True)
class Skip:
    delivery_id: int


@dataclass(frozen=True)
class FirstQuestion:
    pass


@dataclass(frozen=True)
class NextQuestion:
    pass


@dataclass(frozen=True)
class OpenSettings:
    section: Section


@dataclass(frozen=True)
class SetTime:
    hour: int
    minute: int


@dataclass(frozen=True)
class SetDays:
    preset: DaysPreset


@dataclass(frozen=True)
class ToggleDay:
    weekday: int


@dataclass(frozen=True)
class ToggleDeck:
    """Decoded, ``deck_id`` is the deck's ``topic_ref`` (the id itself unless it is long)."""

    deck_id: str


@dataclass(frozen=True)
class SetPaused:
    paused: bool


@dataclass(frozen=True)
class Forget:
    confirmed: bool


@dataclass(frozen=True)
class Noop:
    pass


@dataclass(frozen=True)
class QuizPick:
    """Start a quiz on a topic: ``kind`` is "d" (deck) or "t" (tag).

    Decoded, ``key`` is the topic's ``topic_ref`` (the key itself unless it is long).
    """

    kind: str
    key: str


@dataclass(frozen=True)
class QuizStop:
    quiz_id: int


@dataclass(frozen=True)
class QuizNext:
    quiz_id: int


@dataclass(frozen=True)
class WeakQuiz:
    """/weak's "Quiz me on X": ``kind`` is "d" (deck) or "t" (tag).

    Decoded, ``key`` is the topic's ``topic_ref`` (the key itself unless it is long).
    """

    kind: str
    key: str


@dataclass(frozen=True)
class SetReminder:
    """The streak reminder at hour:minute, or off (``hour`` None)."""

    hour: int | None
    minute: int = 0


@dataclass(frozen=True)
class TypeAnswer:
    """✍️ Type my answer (bot/handlers/typed.py)."""

    delivery_id: int


@dataclass(frozen=True)
class KeepTyped:
    """The /settings switch "Keep my typed answers"."""

    keep: bool


DeckStep = Literal["replace", "delete", "delete-yes", "delete-no"]
DECK_STEPS: dict[str, DeckStep] = {
    "r": "replace",
    "d": "delete",
    "y": "delete-yes",
    "n": "delete-no",
}


@dataclass(frozen=True)
class ManageDeck:
    """/decks: Replace (the next file replaces the deck), Delete, and its confirmation.
    ``deck_id`` is the internal id of a deck of one's own, never its title."""

    step: DeckStep
    deck_id: int


@dataclass(frozen=True)
class ShareDeck:
    """/decks: Share (show the deck's link, issuing a code the first time) and Revoke
    link (a new code). ``deck_id`` is the internal id of a deck of one's own."""

    revoke: bool
    deck_id: int


@dataclass(frozen=True)
class DeckMenu:
    """/decks with too many decks for three buttons each: one deck's buttons."""

    deck_id: int


@dataclass(frozen=True)
class RemoveAddedDeck:
    """/decks: take a deck shared with one out of one's decks (its internal id)."""

    deck_id: int


@dataclass(frozen=True)
class AddSharedDeck:
    """A shared link's Add: ``code`` is the link's code (bot-issued, random), so a
    revoked link's button adds nothing."""

    code: str


@dataclass(frozen=True)
class DownloadDecks:
    """/decks: "Take a deck with you" (the list of decks to download)."""


@dataclass(frozen=True)
class DownloadDeck:
    """Send a deck as a file: ``apkg`` (Anki) or ``yaml`` (ours). Decoded, ``key`` is
    the deck's ``topic_ref`` (a built-in deck's id, or ``u<id>`` for a deck of one's own)."""

    kind: Literal["apkg", "yaml"]
    key: str


@dataclass(frozen=True)
class GroupDeck:
    """A group's /decks: switch a deck on or off for the group (``key`` as in
    :class:`DownloadDeck`)."""

    key: str


Action = (
    Reveal
    | Grade
    | Skip
    | FirstQuestion
    | NextQuestion
    | OpenSettings
    | SetTime
    | SetDays
    | ToggleDay
    | ToggleDeck
    | SetPaused
    | Forget
    | Noop
    | QuizPick
    | QuizStop
    | QuizNext
    | WeakQuiz
    | SetReminder
    | TypeAnswer
    | KeepTyped
    | ManageDeck
    | ShareDeck
    | DeckMenu
    | RemoveAddedDeck
    | AddSharedDeck
    | DownloadDecks
    | DownloadDeck
    | GroupDeck
)

_ID = r"(0|[1-9]\d{0,17})"
# A deck id or tag as ``topic_ref`` writes it: a short slug, or "_" and a hash.
_REF = rf"([a-z0-9-]{{1,{TOPIC_KEY_MAX}}}|_[0-9a-f]{{{REF_HEX_DIGITS}}})"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"r:{_ID}"), "reveal"),
    (re.compile(rf"g:{_ID}:([1-4])"), "grade"),
    (re.compile(rf"k:{_ID}"), "skip"),
    (re.compile(r"q"), "first"),
    (re.compile(r"n"), "next"),
    (re.compile(r"s:(menu|time|days|topics|timezone|reminder)"), "settings"),
    (re.compile(r"t:([01]\d|2[0-3])([0-5]\d)"), "time"),
    (re.compile(r"d:(all|weekdays|weekends)"), "days"),
    (re.compile(r"w:([0-6])"), "day"),
    (re.compile(rf"tp:{_REF}"), "topic"),
    (re.compile(r"p:([01])"), "pause"),
    (re.compile(r"f:([yn])"), "forget"),
    (re.compile(r"x"), "noop"),
    (re.compile(rf"qp:([dt]):{_REF}"), "quiz-pick"),
    (re.compile(rf"qs:{_ID}"), "quiz-stop"),
    (re.compile(rf"qn:{_ID}"), "quiz-next"),
    (re.compile(rf"wq:([dt]):{_REF}"), "weak-quiz"),
    (re.compile(r"rm:(?:off|([01]\d|2[0-3])([0-5]\d))"), "reminder"),
    (re.compile(rf"a:{_ID}"), "type-answer"),
    (re.compile(r"kt:([01])"), "keep-typed"),
    (re.compile(rf"dk:([rdyn]):{_ID}"), "deck"),
    (re.compile(rf"sh:([sr]):{_ID}"), "share"),
    (re.compile(rf"dm:{_ID}"), "deck-menu"),
    (re.compile(rf"dr:{_ID}"), "remove-added"),
    (re.compile(r"ad:([A-Za-z0-9_-]{16,40})"), "add-shared"),
    (re.compile(r"dl"), "downloads"),
    (re.compile(rf"dx:([ay]):{_REF}"), "download"),
    (re.compile(rf"gd:{_REF}"), "group-deck"),
]


def encode(action: Action) -> str:
    """The callback data string for an action (<= 64 bytes)."""
    match action:
        case Reveal(delivery_id):
            body = f"r:{delivery_id}"
        case Grade(delivery_id, rating):
            body = f"g:{delivery_id}:{rating}"
        case Skip(delivery_id):
            body = f"k:{delivery_id}"
        case FirstQuestion():
            body = "q"
        case NextQuestion():
            body = "n"
        case OpenSettings(section):
            body = f"s:{section}"
        case SetTime(hour, minute):
            body = f"t:{hour:02d}{minute:02d}"
        case SetDays(preset):
            body = f"d:{preset}"
        case ToggleDay(weekday):
            body = f"w:{weekday}"
        case ToggleDeck(deck_id):
            body = f"tp:{topic_ref(deck_id)}"
        case SetPaused(paused):
            body = f"p:{int(paused)}"
        case Forget(confirmed):
            body = f"f:{'y' if confirmed else 'n'}"
        case Noop():
            body = "x"
        case QuizPick(kind, key):
            body = f"qp:{kind}:{topic_ref(key)}"
        case QuizStop(quiz_id):
            body = f"qs:{quiz_id}"
        case QuizNext(quiz_id):
            body = f"qn:{quiz_id}"
        case WeakQuiz(kind, key):
            body = f"wq:{kind}:{topic_ref(key)}"
        case SetReminder(hour, minute):
            body = "rm:off" if hour is None else f"rm:{hour:02d}{minute:02d}"
        case TypeAnswer(delivery_id):
            body = f"a:{delivery_id}"
        case KeepTyped(keep):
            body = f"kt:{int(keep)}"
        case ManageDeck(step, deck_id):
            letter = next(key for key, value in DECK_STEPS.items() if value == step)
            body = f"dk:{letter}:{deck_id}"
        case ShareDeck(revoke, deck_id):
            body = f"sh:{'r' if revoke else 's'}:{deck_id}"
        case DeckMenu(deck_id):
            body = f"dm:{deck_id}"
        case RemoveAddedDeck(deck_id):
            body = f"dr:{deck_id}"
        case AddSharedDeck(code):
            body = f"ad:{code}"
        case DownloadDecks():
            body = "dl"
        case DownloadDeck(kind, key):
            body = f"dx:{kind[0]}:{topic_ref(key)}"
        case GroupDeck(key):
            body = f"gd:{topic_ref(key)}"
    data = f"{VERSION}:{body}"
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def decode(data: str | None) -> Action | None:
    """The action behind callback data, or None for stale, foreign or forged data."""
    if not data or len(data.encode()) > MAX_BYTES or not data.startswith(f"{VERSION}:"):
        return None
    body = data[len(VERSION) + 1 :]
    for pattern, kind in _PATTERNS:
        match = pattern.fullmatch(body)
        if match:
            return _build(kind, match.groups())
    return None


def _build(kind: str, groups: tuple[str | None, ...]) -> Action:
    values = [value or "" for value in groups]
    if kind == "reveal":
        return Reveal(int(values[0]))
    if kind == "grade":
        return Grade(int(values[0]), int(values[1]))
    if kind == "skip":
        return Skip(int(values[0]))
    if kind == "time":
        return SetTime(int(values[0]), int(values[1]))
    if kind == "settings":
        return OpenSettings(_section(values[0]))
    if kind == "days":
        return SetDays(_preset(values[0]))
    if kind == "day":
        return ToggleDay(int(values[0]))
    if kind == "topic":
        return ToggleDeck(values[0])
    if kind == "pause":
        return SetPaused(values[0] == "1")
    if kind == "forget":
        return Forget(values[0] == "y")
    if kind == "quiz-pick":
        return QuizPick(values[0], values[1])
    if kind == "quiz-stop":
        return QuizStop(int(values[0]))
    if kind == "quiz-next":
        return QuizNext(int(values[0]))
    if kind == "weak-quiz":
        return WeakQuiz(values[0], values[1])
    if kind == "reminder":
        return SetReminder(int(values[0]), int(values[1])) if values[0] else SetReminder(None)
    if kind == "type-answer":
        return TypeAnswer(int(values[0]))
    if kind == "keep-typed":
        return KeepTyped(values[0] == "1")
    if kind == "deck":
        return ManageDeck(DECK_STEPS[values[0]], int(values[1]))
    if kind == "share":
        return ShareDeck(values[0] == "r", int(values[1]))
    if kind == "deck-menu":
        return DeckMenu(int(values[0]))
    if kind == "remove-added":
        return RemoveAddedDeck(int(values[0]))
    if kind == "add-shared":
        return AddSharedDeck(values[0])
    if kind == "download":
        return DownloadDeck("apkg" if values[0] == "a" else "yaml", values[1])
    if kind == "group-deck":
        return GroupDeck(values[0])
    builders: dict[str, Action] = {
        "first": FirstQuestion(),
        "next": NextQuestion(),
        "noop": Noop(),
        "downloads": DownloadDecks(),
    }
    return builders[kind]


def _section(value: str) -> Section:
    for section in SECTIONS:
        if section == value:
            return section
    raise ValueError(value)


def _preset(value: str) -> DaysPreset:
    for preset in DAY_PRESETS:
        if preset == value:
            return preset
    raise ValueError(value)
