"""/weak: the three weakest topics (retention over the last 30 days) and the leeches."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update

from bot.domain.progress import (
    LEECH_LAPSES,
    RETENTION_DAYS,
    WEAK_BELOW,
    TopicStats,
    leeches,
    topic_stats,
    weakest_topics,
)
from bot.domain.topics import Topic
from bot.handlers import quiz
from bot.handlers.common import now_of, reply, toast
from bot.rendering import escape_html
from bot.service.context import BotContext
from bot.storage import progress as progress_store
from bot.study.quiz import find_topic
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
    services = context.services
    bank = services.bank
    now = now_of(context)
    async with services.sessions() as session:
        reviews = await progress_store.graded_reviews(
            user.id, session=session, since=now - timedelta(days=RETENTION_DAYS)
        )
        lapses = await progress_store.card_lapses(user.id, session=session)
    weakest = weakest_topics(topic_stats(reviews, bank, now=now))
    leech_list = leeches(lapses, bank)
    if not weakest and not leech_list:
        await reply(update, NOTHING_WEAK)
        return
    lines: list[str] = []
    if weakest:
        lines.append(f"<b>Weakest topics</b> (last {RETENTION_DAYS} days, Good or Easy):")
        lines += [_topic_line(stats) for stats in weakest]
    topics = [Topic(s.kind, s.key, s.title) for s in weakest]
    if leech_list:
        lines.append(f"<b>Leeches</b> (forgotten {LEECH_LAPSES}+ times):")
        for question_id, count in leech_list[:10]:
            question = bank.question(question_id)
            text = question.question if question else question_id
            short = text if len(text) <= 90 else text[:89] + "…"
            lines.append(f"• {escape_html(short)} ({count}×)")
        # Leeches without a weak topic still get a quiz: on their decks.
        for question_id, _ in leech_list:
            deck = bank.deck_of(question_id)
            leech_topic = Topic("deck", deck.id, deck.title) if deck is not None else None
            if leech_topic is not None and leech_topic not in topics and len(topics) < 3:
                topics.append(leech_topic)
    lines.append("A quiz on a topic starts with its leeches and due cards.")
    buttons = [_button(topic) for topic in topics]
    await reply(update, "\n".join(lines), reply_markup=keyboards.weak_keyboard(buttons))


def _button(topic: Topic) -> tuple[str, str, str]:
    """A "Quiz me on X" button's (kind letter, key, title): the halves of the domain's
    ``Topic.encoded``, which ``find_topic`` puts together again."""
    kind, _, key = topic.encoded().partition(":")
    return kind, key, topic.title


async def weak_quiz_button(update: Update, context: BotContext, action: WeakQuiz) -> None:
    """ "Quiz me on X": a 5-question quiz on the topic, leeches and due cards first."""
    topic = find_topic(context.services.bank, action.kind, action.key)
    if topic is None:
        await toast(update, "That topic no longer exists.")
        return
    await toast(update, f"Quiz on {topic.title}")
    await quiz.start_quiz(update, context, topic, WEAK_QUIZ_QUESTIONS, weak_first=True)
