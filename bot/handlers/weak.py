"""/weak: the three weakest topics (retention over the last 30 days) and the leeches."""

from __future__ import annotations

from telegram import Update

from bot.domain.progress import (
    LEECH_LAPSES,
    RETENTION_DAYS,
    WEAK_BELOW,
    TopicStats,
)
from bot.domain.topics import Topic
from bot.handlers import quiz
from bot.handlers.common import chat_bank, now_of, reply, toast
from bot.rendering import escape_html
from bot.service.context import BotContext
from bot.study.quiz import find_topic
from bot.study.weak import weak_report
from bot.telegram import keyboards
from bot.telegram.callbacks import WeakQuiz

NOTHING_WEAK = (
    "Nothing weak to show: every topic you graded at least twice in the last "
    f"{RETENTION_DAYS} days is at {round(100 * WEAK_BELOW)}% or more Good/Easy, and no card "
    f"was forgotten {LEECH_LAPSES} times. /quiz picks a topic anyway."
)
WEAK_QUIZ_QUESTIONS = 5


def _topic_line(stats: TopicStats) -> str:
    retention = round(100 * (stats.retention or 0))
    forgotten = f", {stats.lapses} forgotten" if stats.lapses else ""
    return (
        f"• <b>{escape_html(stats.title)}</b>: {retention}% recalled "
        f"({stats.reviews} reviews{forgotten})"
    )


async def weak_command(update: Update, context: BotContext) -> None:
    """/weak: weakest topics with their retention, leeches, and a quiz button per topic."""
    user = update.effective_user
    if user is None:
        return
    bank = await chat_bank(context, user.id)
    report = await weak_report(context.services, person_id=user.id, now=now_of(context))
    if report.empty:
        await reply(update, NOTHING_WEAK)
        return
    lines: list[str] = []
    if report.weakest:
        lines.append(f"<b>Weakest topics</b> (last {RETENTION_DAYS} days, Good or Easy):")
        lines += [_topic_line(stats) for stats in report.weakest]
    if report.leeches:
        lines.append(f"<b>Leeches</b> (forgotten {LEECH_LAPSES}+ times):")
        for question_id, count in report.leeches[:10]:
            question = bank.question(question_id)
            text = question.question if question else question_id
            short = text if len(text) <= 90 else text[:89] + "…"
            lines.append(f"• {escape_html(short)} ({count}×)")
    lines.append("A quiz on a topic starts with its leeches and due cards.")
    buttons = [_button(topic) for topic in report.quiz_topics]
    await reply(update, "\n".join(lines), reply_markup=keyboards.weak_keyboard(buttons))


def _button(topic: Topic) -> tuple[str, str, str]:
    """A "Quiz me on X" button's (kind letter, key, title): the halves of the domain's
    ``Topic.encoded``, which ``find_topic`` puts together again."""
    kind, _, key = topic.encoded().partition(":")
    return kind, key, topic.title


async def weak_quiz_button(update: Update, context: BotContext, action: WeakQuiz) -> None:
    """ "Quiz me on X": a 5-question quiz on the topic, leeches and due cards first."""
    chat = update.effective_chat
    bank = await chat_bank(context, chat.id) if chat is not None else context.services.bank
    topic = find_topic(bank, action.kind, action.key)
    if topic is None:
        await toast(update, "That topic no longer exists.")
        return
    await toast(update, f"Quiz on {topic.title}")
    await quiz.start_quiz(update, context, topic, WEAK_QUIZ_QUESTIONS, weak_first=True)
