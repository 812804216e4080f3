"""What the bot says: HTML texts built from plain values (no Telegram objects)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.chats import ChatSettings, format_hhmm
from bot.domain.content import Deck, Question
from bot.domain.schedule import describe_days
from bot.domain.streaks import Streak
from bot.rendering import escape_html, render_question

COMMANDS: tuple[tuple[str, str], ...] = (
    ("question", "Today's question (or show it again)"),
    ("next", "An extra question now"),
    ("answer", "Show the answer to the last question"),
    ("stats", "Streak, reviews and progress, as a picture"),
    ("weak", "Your weakest topics and leeches, with a quiz"),
    ("quiz", "A quiz on a topic now, e.g. /quiz nlp 10"),
    ("settings", "Time, time zone, days and topics"),
    ("time", "Delivery time, e.g. /time 9:30"),
    ("timezone", "Time zone, e.g. /timezone Europe/Berlin"),
    ("days", "Which days to get questions"),
    ("topics", "Which decks to draw from"),
    ("decks", "Your own decks: upload (CSV, YAML, Anki), share, download"),
    ("pause", "Pause daily questions"),
    ("resume", "Resume daily questions"),
    ("remind", "Streak reminder time, e.g. /remind 21:30 or off"),
    ("export", "Download your data (CSV and JSON)"),
    ("help", "What the bot does and how"),
    ("forget", "Delete everything stored about you"),
    ("start", "Subscribe to a daily question"),
)


GROUP_COMMANDS: tuple[tuple[str, str], ...] = (
    ("question", "Today's group question now (or a link to it)"),
    ("quiz", "A group quiz on a topic, e.g. /quiz nlp 5"),
    ("top", "The group leaderboard"),
    ("stats", "The group streak and activity"),
    ("settings", "The group's schedule (admins change it)"),
    ("time", "Delivery time (admins), e.g. /time 9:30"),
    ("timezone", "Time zone (admins), e.g. /timezone Europe/Berlin"),
    ("days", "Which days (admins)"),
    ("topics", "Which decks (admins)"),
    ("decks", "The group's decks: built-in, yours, or a file (admins)"),
    ("pause", "Pause daily questions (admins)"),
    ("resume", "Resume daily questions (admins)"),
    ("help", "What the bot does"),
)


# Whatever a person typed is echoed back at most this long (an ellipsis marks the cut),
# so no reply can go over Telegram's limits because of the input.
ECHO_LIMIT = 64
EDITS_NOT_READ = "I don't re-read edited messages: send it again as a new message."


def echo(text: str, limit: int = ECHO_LIMIT) -> str:
    """A person's text to quote in a reply: whitespace folded, cut to ``limit``
    characters with an ellipsis, HTML-escaped."""
    folded = " ".join(text.split())
    if len(folded) > limit:
        folded = folded[: limit - 1].rstrip() + "…"
    return escape_html(folded)


def local_now(settings: ChatSettings, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(settings.schedule.timezone))


def schedule_line(settings: ChatSettings) -> str:
    schedule = settings.schedule
    days = describe_days(schedule.days)
    return (
        f"<b>{format_hhmm(schedule.local_time)}</b> ({escape_html(schedule.timezone)}), "
        f"{escape_html(days)}"
    )


def next_due_line(settings: ChatSettings, now: datetime) -> str:
    if not settings.active:
        where = "this group" if settings.is_group else "the chat"
        return f"Daily questions are <b>off</b> ({where} was deactivated)."
    if settings.paused or settings.next_due_at is None:
        return "Daily questions are <b>paused</b>. /resume turns them back on."
    due = settings.next_due_at.astimezone(ZoneInfo(settings.schedule.timezone))
    whose = "the group's time" if settings.is_group else "your time"
    return f"Next question: <b>{due:%a %d %b, %H:%M}</b> {whose} ({_relative(due - now)})."


def _relative(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 1:
        return "any moment now"
    if minutes < 60:
        return f"in {minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"in {hours} h {minutes:02d} min"
    return f"in {hours // 24} d {hours % 24} h"


def welcome(first_name: str, settings: ChatSettings, now: datetime, question_count: int) -> str:
    clock = local_now(settings, now)
    return (
        f"Hi {escape_html(first_name)}! 👋 I send you <b>one machine-learning interview "
        f"question a day</b> from a bank of {question_count} questions, with a model answer "
        "when you ask for it. Grade yourself after each answer and spaced repetition "
        "brings back what you are about to forget.\n\n"
        f"Your schedule: {schedule_line(settings)}. "
        f"It is {clock:%H:%M} there now.\n"
        f"{next_due_line(settings, now)}\n\n"
        "Change it any time: /time 7:30, /timezone Europe/Berlin (or share your location), "
        "/days, /topics, or everything at once in /settings."
    )


HELP = (
    "<b>Interview prep, one question a day</b>\n\n"
    "Every day at your time I send a question. Tap <b>Show answer</b> for the model "
    "answer, then grade yourself: <b>Again</b> (didn't know), <b>Hard</b>, <b>Good</b> or "
    "<b>Easy</b>. FSRS spaced repetition decides when each question comes back.\n"
    "Or tap <b>✍️ Type my answer</b> (or reply to the question) to write your answer first: "
    "I show which key points you covered and missed, and suggest a grade.\n\n"
    "<b>Commands</b>\n"
    + "\n".join(f"/{name} — {escape_html(text)}" for name, text in COMMANDS)
    + "\n\nA study day counts when you grade at least one question; a streak freeze is "
    "earned every 7 days in a row (2 at most) and covers one missed day automatically."
)


def settings_text(
    settings: ChatSettings, decks: list[Deck], now: datetime, *, keep_typed: bool | None = None
) -> str:
    titles = ", ".join(escape_html(deck.title) for deck in decks if deck.id in settings.decks)
    state = "paused" if settings.paused else "on"
    kept = (
        ""
        if keep_typed is None
        else f"Keep my typed answers: <b>{'on' if keep_typed else 'off'}</b>\n"
    )
    return (
        "<b>Settings</b>\n"
        f"Schedule: {schedule_line(settings)}\n"
        f"Topics: {titles or 'none'}\n"
        f"Daily questions: <b>{state}</b>\n"
        f"{kept}"
        f"{next_due_line(settings, now)}"
    )


def question_header(deck: Deck, question: Question, *, label: str) -> str:
    tags = " ".join(f"#{tag.replace('-', '_')}" for tag in question.tags)
    meta = f"{escape_html(deck.title)}" + (f" · {escape_html(tags)}" if tags else "")
    return f"<b>{escape_html(label)}</b> · <i>{meta}</i>"


def question_card(deck: Deck, question: Question, *, label: str, footer: str = "") -> str:
    """The question message: label, deck and tags, the question itself."""
    return render_question(
        question.question, header=question_header(deck, question, label=label), footer=footer
    )


REVEALED_FOOTER = "<i>Answer below ⬇️</i>"
SKIPPED_FOOTER = "<i>Skipped. /next brings another one.</i>"


@dataclass(frozen=True)
class StatsView:
    streak: Streak
    total: int
    this_week: int
    good_or_easy: int
    due_now: int
    new_left: list[tuple[str, int]]


def stats_text(view: StatsView) -> str:
    streak = view.streak
    retention = f"{round(100 * view.good_or_easy / view.total)}%" if view.total else "—"
    flame = "🔥" if streak.current else "·"
    lines = [
        "<b>Your progress</b>",
        f"{flame} Current streak: <b>{streak.current}</b> day{'s' if streak.current != 1 else ''}"
        + ("" if streak.studied_today or not streak.current else " (study today to keep it)"),
        f"🏆 Longest streak: <b>{streak.longest}</b>",
        f"🧊 Freezes held: <b>{streak.freezes_held}</b> of 2",
        f"✍️ Graded: <b>{view.total}</b> total, <b>{view.this_week}</b> in the last 7 days",
        f"🎯 Retention (Good or Easy): <b>{retention}</b>",
        f"⏰ Reviews due today: <b>{view.due_now}</b>",
        "📚 New questions left:",
        *(f"  • {escape_html(title)}: {count}" for title, count in view.new_left),
    ]
    return "\n".join(lines)


def next_review_phrase(due: datetime, now: datetime) -> str:
    days = max(1, round((due - now).total_seconds() / 86400))
    return "tomorrow" if days == 1 else f"in {days} days"
