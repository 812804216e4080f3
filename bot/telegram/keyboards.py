"""Inline keyboards: the buttons under questions, answers and settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.domain.content import Deck
from bot.domain.srs import Rating
from bot.telegram import callbacks as cb
from bot.telegram.limits import MAX_INLINE_BUTTONS

TYPE_ANSWER_LABEL = "✍️ Type my answer"
SUGGESTED_MARK = " ★"
GRADE_LABELS: dict[Rating, str] = {
    Rating.AGAIN: "Again",
    Rating.HARD: "Hard",
    Rating.GOOD: "Good",
    Rating.EASY: "Easy",
}
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
TIME_PRESETS = ((7, 0), (8, 0), (9, 0), (10, 0), (12, 0), (13, 0), (18, 0), (20, 0), (21, 0))


def _button(text: str, action: cb.Action) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=cb.encode(action))


def _question_buttons(
    delivery_id: int, *, skip: bool, quiz_id: int | None
) -> list[tuple[str, cb.Action]]:
    buttons: list[tuple[str, cb.Action]] = [("Show answer", cb.Reveal(delivery_id))]
    if skip:
        buttons.append(("Skip", cb.Skip(delivery_id)))
    if quiz_id is not None:
        buttons.append(("Stop quiz", cb.QuizStop(quiz_id)))
    return buttons


def question_keyboard_json(
    delivery_id: int, *, skip: bool = True, quiz_id: int | None = None, typed: bool = False
) -> dict[str, object]:
    """The question's buttons as a Bot API JSON object (the dispatcher's hot path).

    Group daily questions have no Skip: one member skipping would hide the
    buttons from everyone. ``typed`` (private chats) adds "✍️ Type my answer" on a row
    of its own.
    """
    row = [
        {"text": text, "callback_data": cb.encode(action)}
        for text, action in _question_buttons(delivery_id, skip=skip, quiz_id=quiz_id)
    ]
    rows = [row]
    if typed:
        rows.append(
            [{"text": TYPE_ANSWER_LABEL, "callback_data": cb.encode(cb.TypeAnswer(delivery_id))}]
        )
    return {"inline_keyboard": rows}


def grade_keyboard(
    delivery_id: int,
    *,
    next_quiz: int | None = None,
    intervals: Mapping[Rating, str] | None = None,
    suggested: Rating | None = None,
) -> InlineKeyboardMarkup:
    """Again / Hard / Good / Easy, each with its next interval when known (``Good · 5d``);
    ``suggested`` (a typed answer's check) is marked ★."""
    shown = intervals or {}
    rows = [
        [
            _button(
                (f"{label} · {shown[r]}" if r in shown else label)
                + (SUGGESTED_MARK if r == suggested else ""),
                cb.Grade(delivery_id, int(r)),
            )
            for r, label in GRADE_LABELS.items()
        ]
    ]
    if next_quiz is not None:
        rows.append([_button("Next question ▶", cb.QuizNext(next_quiz))])
    return InlineKeyboardMarkup(rows)


def quiz_picker_keyboard(decks: Sequence[Deck], tags: Sequence[str]) -> InlineKeyboardMarkup:
    """Decks, then the most common tags, two per row."""
    buttons = [_button(deck.title, cb.QuizPick("d", deck.id)) for deck in decks]
    buttons += [_button(f"#{tag}", cb.QuizPick("t", tag)) for tag in tags]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def graded_keyboard(
    rating: Rating, next_review: str, *, offer_next: bool = True
) -> InlineKeyboardMarkup:
    """What replaces the grade buttons once graded: the choice, and when it comes back."""
    rows = [[_button(f"✓ {GRADE_LABELS[rating]} · back {next_review}", cb.Noop())]]
    if offer_next:
        rows.append([_button("Another question", cb.NextQuestion())])
    return InlineKeyboardMarkup(rows)


def first_question_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [_button("Send my first question now", cb.FirstQuestion())],
            [_button("Settings", cb.OpenSettings("menu"))],
        ]
    )


def settings_keyboard(
    paused: bool, *, reminder: str | None = None, keep_typed: bool | None = None
) -> InlineKeyboardMarkup:
    """The /settings menu; private chats also get the streak reminder row and the
    "Keep my typed answers" switch."""
    rows = [
        [
            _button("Time", cb.OpenSettings("time")),
            _button("Time zone", cb.OpenSettings("timezone")),
        ],
        [
            _button("Days", cb.OpenSettings("days")),
            _button("Topics", cb.OpenSettings("topics")),
        ],
    ]
    if reminder:
        rows.append([_button(f"Reminder: {reminder}", cb.OpenSettings("reminder"))])
    rows.append([_button("Resume" if paused else "Pause", cb.SetPaused(not paused))])
    if keep_typed is not None:
        state = "on" if keep_typed else "off"
        rows.append([_button(f"Keep my typed answers: {state}", cb.KeepTyped(not keep_typed))])
    return InlineKeyboardMarkup(rows)


def _back_row() -> list[InlineKeyboardButton]:
    return [_button("« Back", cb.OpenSettings("menu"))]


def time_keyboard() -> InlineKeyboardMarkup:
    rows = [
        [_button(f"{h:02d}:{m:02d}", cb.SetTime(h, m)) for h, m in TIME_PRESETS[i : i + 3]]
        for i in range(0, len(TIME_PRESETS), 3)
    ]
    return InlineKeyboardMarkup([*rows, _back_row()])


def days_keyboard(days: frozenset[int]) -> InlineKeyboardMarkup:
    presets = [
        _button("Every day", cb.SetDays("all")),
        _button("Weekdays", cb.SetDays("weekdays")),
        _button("Weekends", cb.SetDays("weekends")),
    ]
    toggles = [
        _button(("✅ " if day in days else "▫️ ") + name, cb.ToggleDay(day))
        for day, name in enumerate(WEEKDAY_NAMES)
    ]
    return InlineKeyboardMarkup([presets, toggles[:4], toggles[4:], _back_row()])


def topics_keyboard(decks: Sequence[Deck], selected: Sequence[str]) -> InlineKeyboardMarkup:
    rows = [
        [_button(("✅ " if deck.id in selected else "▫️ ") + deck.title, cb.ToggleDeck(deck.id))]
        for deck in decks
    ]
    return InlineKeyboardMarkup([*rows, _back_row()])


def timezone_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([_back_row()])


def forget_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[_button("Yes, delete everything", cb.Forget(True)), _button("Cancel", cb.Forget(False))]]
    )


REMINDER_PRESETS = ((19, 0), (20, 0), (21, 0), (22, 0))


def reminder_keyboard(*, back: bool = True) -> InlineKeyboardMarkup:
    times = [_button(f"{h:02d}:{m:02d}", cb.SetReminder(h, m)) for h, m in REMINDER_PRESETS]
    rows = [times, [_button("Off", cb.SetReminder(None))]]
    return InlineKeyboardMarkup([*rows, _back_row()] if back else rows)


def question_now_keyboard() -> InlineKeyboardMarkup:
    """Under the streak reminder: one tap to today's question."""
    return InlineKeyboardMarkup([[_button("Give me a question", cb.FirstQuestion())]])


def weak_keyboard(topics: Sequence[tuple[str, str, str]]) -> InlineKeyboardMarkup:
    """One "Quiz me on X" per (kind letter, key, title)."""
    return InlineKeyboardMarkup(
        [[_button(f"Quiz me on {title}", cb.WeakQuiz(kind, key))] for kind, key, title in topics]
    )


def open_private_keyboard(bot_username: str, payload: str) -> InlineKeyboardMarkup:
    """A button that opens the bot's private chat (deep link ``t.me/<bot>?start=...``)."""
    url = f"https://t.me/{bot_username}?start={payload}"
    return InlineKeyboardMarkup([[InlineKeyboardButton(f"Open @{bot_username}", url=url)]])


def own_decks_keyboard(
    decks: Sequence[tuple[int, str]], added: Sequence[tuple[int, str]] = ()
) -> InlineKeyboardMarkup:
    """/decks: Replace, Share and Delete under each deck of one's own ((id, title) pairs),
    Remove under each deck one added, then "Take a deck with you"; the buttons carry
    decks' internal ids only.

    Telegram refuses an inline keyboard of more than ``MAX_INLINE_BUTTONS``: with more
    decks than three buttons each allow, each deck gets one button that opens its three
    (:func:`own_deck_keyboard`).
    """
    take = (_button("⬇️ Take a deck with you (.apkg, YAML)", cb.DownloadDecks()),)
    removes = [
        (_button(f"Remove {_short(title)}", cb.RemoveAddedDeck(deck_id)),)
        for deck_id, title in added
    ]
    rows: list[Sequence[InlineKeyboardButton]]
    if 3 * len(decks) + len(added) + 1 <= MAX_INLINE_BUTTONS:
        rows = [own_deck_keyboard(deck_id, title).inline_keyboard[0] for deck_id, title in decks]
    else:
        rows = [(_button(f"⚙️ {_short(title)}", cb.DeckMenu(deck_id)),) for deck_id, title in decks]
    shown = [*rows, *removes][: MAX_INLINE_BUTTONS - 1]
    return InlineKeyboardMarkup([*shown, take])


def own_deck_keyboard(deck_id: int, title: str) -> InlineKeyboardMarkup:
    """One deck of one's own: Replace, Share, Delete."""
    return InlineKeyboardMarkup(
        [
            [
                _button(f"Replace {_short(title)}", cb.ManageDeck("replace", deck_id)),
                _button("Share", cb.ShareDeck(False, deck_id)),
                _button("Delete", cb.ManageDeck("delete", deck_id)),
            ]
        ]
    )


def delete_deck_keyboard(deck_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button("Yes, delete it", cb.ManageDeck("delete-yes", deck_id)),
                _button("Cancel", cb.ManageDeck("delete-no", deck_id)),
            ]
        ]
    )


def _short(title: str) -> str:
    return title if len(title) <= 24 else title[:23] + "…"


def share_keyboard(deck_id: int) -> InlineKeyboardMarkup:
    """Under a deck's link: revoke it (a new code)."""
    return InlineKeyboardMarkup([[_button("Revoke link", cb.ShareDeck(True, deck_id))]])


def add_shared_keyboard(code: str) -> InlineKeyboardMarkup:
    """Under a shared link's deck: Add (the button carries the link's code)."""
    return InlineKeyboardMarkup([[_button("➕ Add", cb.AddSharedDeck(code))]])


def downloads_keyboard(decks: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup:
    """A deck per row ((bank deck id, title) pairs): .apkg and YAML; as many decks as
    Telegram's limit on buttons allows (the caller says when some are left out)."""
    return InlineKeyboardMarkup(
        [
            [
                _button(f"{_short(title)} · .apkg", cb.DownloadDeck("apkg", key)),
                _button("YAML", cb.DownloadDeck("yaml", key)),
            ]
            for key, title in decks[: MAX_INLINE_BUTTONS // 2]
        ]
    )


DOWNLOADS_SHOWN = MAX_INLINE_BUTTONS // 2


def group_decks_keyboard(
    decks: Sequence[tuple[str, str, bool]], *, back: bool = False
) -> InlineKeyboardMarkup:
    """A group's /decks (and /topics): (bank deck id, title, on) per row, tap to switch
    (at most ``MAX_INLINE_BUTTONS`` buttons: the built-in decks come first). ``back``:
    opened from /settings, with its « Back row."""
    room = MAX_INLINE_BUTTONS - 1 if back else MAX_INLINE_BUTTONS
    rows = [
        [_button(f"{'✅' if on else '▫️'} {_short(title)}", cb.GroupDeck(key))]
        for key, title, on in decks[:room]
    ]
    return InlineKeyboardMarkup([*rows, _back_row()] if back else rows)


def has_back_row(markup: InlineKeyboardMarkup | None) -> bool:
    """Whether a menu has the /settings « Back row (so a redraw keeps it)."""
    if markup is None:
        return False
    back = cb.encode(cb.OpenSettings("menu"))
    return any(button.callback_data == back for row in markup.inline_keyboard for button in row)
