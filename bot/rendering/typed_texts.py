"""What the bot says about typed answers: the prompt, the feedback, the group pointer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.export import GRADE_NAMES
from bot.domain.srs import Rating
from bot.rendering import escape_html

PLACEHOLDER = "Your answer…"
PROMPT = (
    "✍️ Type your answer and send it (as a reply to this message, or just as your next "
    "message). I will show which key points of the model answer you covered."
)
TOO_LONG_NOTE = "Your answer was cut to its first 4,000 characters."
ALREADY_REVEALED = (
    "You have already seen the answer to this question, so a typed answer cannot be checked "
    "fairly. Grade it under the answer, or send /next for a new question."
)
GROUP_POINTER = "✍️ Typed answers are checked in a private chat with me."
GROUP_BUTTON = "Open the private chat"
NO_POINTS = "I could not split this model answer into key points; compare it yourself below."


@dataclass(frozen=True)
class PointLine:
    preview: str
    covered: bool


@dataclass(frozen=True)
class FeedbackView:
    """Everything the feedback message shows, already decided."""

    points: Sequence[PointLine]
    suggested: Rating
    checker: str  # a phrase: who judged
    advice: str = ""
    truncated: bool = False


def count_phrase(covered: int, total: int) -> str:
    noun = "key point" if total == 1 else "key points"
    return f"{covered} of {total} {noun}"


def feedback_text(view: FeedbackView) -> str:
    covered = sum(1 for point in view.points if point.covered)
    lines = []
    if view.points:
        lines.append(f"<b>Your answer: {count_phrase(covered, len(view.points))}</b>")
        lines.extend(
            f"{'✅' if point.covered else '❌'} {escape_html(point.preview)}"
            for point in view.points
        )
    else:
        lines.append(escape_html(NO_POINTS))
    if view.advice:
        lines.append(f"💡 {escape_html(view.advice)}")
    lines.append(
        f"Suggested grade: <b>{GRADE_NAMES[view.suggested]} ★</b>. "
        "Press the grade you mean under the model answer: that one counts."
    )
    lines.append(f"<i>{escape_html(view.checker)}</i>")
    if view.truncated:
        lines.append(f"<i>{escape_html(TOO_LONG_NOTE)}</i>")
    return "\n".join(lines)


OFFLINE_CHECKER = "Checked offline by matching the key terms of each point."
MODEL_FALLBACK = "The model grader gave no usable answer in time, so this was checked offline."
MODEL_LIMIT = "Today's model checks are used up, so this was checked offline."


def model_checker(model: str) -> str:
    return f"Checked by the model grader ({model})."


def checker_phrase(checker: str, model: str = "") -> str:
    """Who judged (bot.study.typed_check.Checker), as the feedback's last line says it."""
    if checker == "model":
        return model_checker(model)
    if checker == "limit":
        return MODEL_LIMIT
    if checker == "fallback":
        return MODEL_FALLBACK
    return OFFLINE_CHECKER
