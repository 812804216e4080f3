"""/quiz: on-demand topic quizzes, in private chats and in groups.

A quiz is a row (its questions, its position, who started it) plus one delivery
per question sent, so Show answer and the grade buttons are the daily flow's.
Private quizzes move on when the question is graded or skipped; group quizzes
when the starter or an admin taps Next. Everything is in the database, so a
quiz survives a restart; one idle for a day expires.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.domain.content import Bank
from bot.domain.progress import weak_quiz_picks
from bot.domain.quiz import (
    QuizGrade,
    QuizInputError,
    format_duration,
    parse_quiz_args,
    scoreboard,
    summarize,
)
from bot.domain.selection import quiz_picks
from bot.domain.srs import Rating
from bot.domain.topics import Topic, common_tags, match_topic, topic_bank, topic_from_key
from bot.handlers.common import (
    default_settings,
    ensure_person,
    load_chat,
    now_of,
    reply,
    tell,
    toast,
)
from bot.handlers.groups import is_admin, is_group
from bot.rendering import escape_html, texts
from bot.service.context import BotContext
from bot.storage import chats as chat_store
from bot.storage import deliveries as delivery_store
from bot.storage import learning
from bot.storage import progress as progress_store
from bot.storage import quizzes as quiz_store
from bot.storage.models import DeliveryRow, PersonRow, QuizRow
from bot.study.questions import prepare, record_outcome, send_prepared
from bot.telegram import keyboards
from bot.telegram.callbacks import QuizNext, QuizPick, QuizStop
from bot.telegram.keyboards import GRADE_LABELS
from bot.telegram.sending import Sent

log = logging.getLogger(__name__)

USAGE = (
    "Start a quiz with <code>/quiz nlp 10</code> (a deck or a tag, and 1–20 questions; 5 by "
    "default), or send /quiz to pick a topic. <code>/quiz stop</code> ends a running quiz."
)


async def quiz_command(update: Update, context: BotContext) -> None:
    """/quiz [topic] [n] | /quiz stop."""
    args = context.args or []
    if not args:
        bank = context.services.bank
        await reply(
            update,
            "<b>Quiz</b>: pick a topic (5 questions), or type e.g. <code>/quiz nlp 10</code>.",
            reply_markup=keyboards.quiz_picker_keyboard(list(bank.decks), common_tags(bank, 6)),
        )
        return
    if len(args) == 1 and args[0].lower() in {"stop", "end", "cancel"}:
        await _stop(update, context, quiz_id=None)
        return
    try:
        request = parse_quiz_args(args)
    except QuizInputError as error:
        await reply(update, f"{escape_html(str(error))}\n{USAGE}")
        return
    match = match_topic(context.services.bank, request.topic)
    if match.topic is None:
        hint = (
            " Did you mean "
            + ", ".join(f"<code>{escape_html(s)}</code>" for s in match.suggestions)
            + "?"
            if match.suggestions
            else ""
        )
        await reply(
            update, f"I know no deck or tag called “{texts.echo(request.topic)}”.{hint}\n{USAGE}"
        )
        return
    await _start(update, context, match.topic, request.count)


async def quiz_pick_button(update: Update, context: BotContext, action: QuizPick) -> None:
    topic = topic_from_key(context.services.bank, f"{action.kind}:{action.key}")
    if topic is None:
        await toast(update, "That topic no longer exists.")
        return
    await toast(update, f"Quiz on {topic.title}")
    await _start(update, context, topic, 5)


async def _ensure_chat(
    update: Update, context: BotContext, session: AsyncSession, now: datetime
) -> None:
    """A quiz needs the chat's row; a private chat that never /start-ed gets a paused one."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None
    services = context.services
    settings = await load_chat(chat.id, session=session, services=services)
    if settings is None:
        settings = replace(
            default_settings(services, chat.id, chat.type), paused=not is_group(update)
        )
        await chat_store.save_chat(
            settings.rescheduled(now=now), session=session, now=now, title=chat.title
        )
    if user is not None:
        await ensure_person(
            user, session=session, services=services, now=now, timezone=settings.schedule.timezone
        )


async def _start(
    update: Update, context: BotContext, topic: Topic, count: int, *, weak_first: bool = False
) -> None:
    """Create the quiz and send its first question; ``weak_first``: leeches and due cards first."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    services = context.services
    now = now_of(context)
    async with services.sessions() as session, session.begin():
        await _ensure_chat(update, context, session, now)
        running = await quiz_store.active_quiz(chat.id, session=session, now=now)
        if running is not None:
            await reply(
                update,
                f"A quiz on {escape_html(running.topic)} is running "
                f"({running.position + 1}/{len(running.question_ids)}). /quiz stop ends it.",
            )
            return
        bank = topic_bank(services.bank, topic)
        if is_group(update):
            # Only the topic's questions matter to the picks: read whether those were shown.
            seen = await delivery_store.delivered_among(
                chat.id, [question.id for question in bank], session=session
            )
            picks = quiz_picks(bank, decks=bank.deck_ids, cards={}, now=now, count=count, seen=seen)
        elif weak_first:
            cards = await learning.due_cards_of(user.id, session=session)
            lapses = await progress_store.card_lapses(user.id, session=session)
            picks = weak_quiz_picks(bank, cards=cards, lapses=lapses, now=now, count=count)
        else:
            cards = await learning.due_cards_of(user.id, session=session)
            picks = quiz_picks(bank, decks=bank.deck_ids, cards=cards, now=now, count=count)
        if not picks:
            await reply(update, f"{escape_html(topic.title)} has no questions yet.")
            return
        quiz = await quiz_store.create_quiz(
            session=session,
            chat_id=chat.id,
            started_by=user.id,
            topic=topic.title,
            question_ids=picks,
            now=now,
        )
        quiz_id = quiz.id
    note = "" if len(picks) == count else f" (only {len(picks)} available)"
    await reply(
        update, f"🎯 Quiz on <b>{escape_html(topic.title)}</b>: {len(picks)} questions{note}. Go!"
    )
    await send_current(context, quiz_id)


start_quiz = _start


async def send_current(context: BotContext, quiz_id: int) -> None:
    """Send the quiz's current question as a new delivery."""
    services = context.services
    now = now_of(context)
    async with services.sessions() as session, session.begin():
        quiz = await quiz_store.get_quiz(quiz_id, session=session)
        if quiz is None or quiz.status != "active":
            return
        chat = await chat_store.get_chat(quiz.chat_id, session=session)
        delivery = await delivery_store.create_delivery(
            session=session,
            chat_id=quiz.chat_id,
            question_id=quiz.question_ids[quiz.position],
            now=now,
            daily_on=None,
        )
        assert delivery is not None  # extra deliveries never collide
        delivery.kind = "quiz"
        delivery.quiz_id = quiz.id
        item = prepare(delivery, quiz=quiz, group=bool(chat and chat.is_group))
    outcome = await send_prepared(context.bot, services.bank, item)
    async with services.sessions() as session, session.begin():
        await record_outcome(item, outcome, session=session, now=services.clock())
    if not isinstance(outcome, Sent):
        log.warning("quiz %s question not sent: %s", quiz_id, outcome)


async def advance_after(context: BotContext, delivery: DeliveryRow) -> None:
    """Move a quiz past ``delivery`` (graded or skipped), once, and send what comes next."""
    if delivery.quiz_id is None:
        return
    services = context.services
    now = now_of(context)
    async with services.sessions() as session, session.begin():
        quiz = await quiz_store.get_quiz(delivery.quiz_id, session=session)
        current = await quiz_store.current_delivery(quiz, session=session) if quiz else None
        if quiz is None or quiz.status != "active" or current is None or current.id != delivery.id:
            return  # a stale press: the quiz already moved on
        quiz.position += 1
        quiz.updated_at = now
        finished = quiz.position >= len(quiz.question_ids)
        if finished:
            quiz.status = "finished"
            quiz.finished_at = now
    if finished:
        await send_results(context, delivery.quiz_id)
    else:
        await send_current(context, delivery.quiz_id)


async def quiz_next_button(update: Update, context: BotContext, action: QuizNext) -> None:
    """Group quizzes: the starter or an admin moves on to the next question."""
    user = update.effective_user
    async with context.services.sessions() as session:
        quiz = await quiz_store.get_quiz(action.quiz_id, session=session)
        current = await quiz_store.current_delivery(quiz, session=session) if quiz else None
    if quiz is None or quiz.status != "active" or current is None:
        await toast(update, "This quiz is over.")
        return
    if user is None or (user.id != quiz.started_by and not await is_admin(update, context)):
        await toast(update, "Only the quiz's starter or an admin can move on.", alert=True)
        return
    await toast(update, "Next question")
    await advance_after(context, current)


async def quiz_stop_button(update: Update, context: BotContext, action: QuizStop) -> None:
    await _stop(update, context, quiz_id=action.quiz_id)


async def _stop(update: Update, context: BotContext, *, quiz_id: int | None) -> None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    services = context.services
    now = now_of(context)
    async with services.sessions() as session, session.begin():
        quiz = (
            await quiz_store.get_quiz(quiz_id, session=session)
            if quiz_id is not None
            else await quiz_store.active_quiz(chat.id, session=session, now=now)
        )
        if quiz is None or quiz.status != "active" or quiz.chat_id != chat.id:
            over = "This quiz is over." if update.callback_query else f"No quiz is running. {USAGE}"
            await tell(update, over)
            return
        allowed = user.id == quiz.started_by or (
            is_group(update) and await is_admin(update, context)
        )
        if not allowed:
            await tell(update, "Only the quiz's starter or an admin can stop it.", alert=True)
            return
        quiz.status = "stopped"
        quiz.finished_at = now
        quiz.updated_at = now
        stopped_id = quiz.id
    if update.callback_query:
        await toast(update, "Quiz stopped.")
    await send_results(context, stopped_id)


async def send_results(context: BotContext, quiz_id: int) -> None:
    """A private summary, or a group scoreboard."""
    services = context.services
    async with services.sessions() as session:
        quiz = await quiz_store.get_quiz(quiz_id, session=session)
        if quiz is None:
            return
        grades = await quiz_store.quiz_grades(quiz_id, session=session)
        chat = await chat_store.get_chat(quiz.chat_id, session=session)
        names = {
            person.id: person.first_name
            or (f"@{person.username}" if person.username else str(person.id))
            for person in [await session.get(PersonRow, g.person_id) for g in grades]
            if person is not None
        }
    ended = quiz.finished_at or services.clock()
    title = "Quiz stopped" if quiz.status == "stopped" else "Quiz finished"
    if chat is not None and chat.is_group:
        text = _scoreboard_text(quiz, title, grades, names)
    else:
        text = _summary_text(quiz, title, grades, ended, services.bank)
    await context.bot.send_message(quiz.chat_id, text)


def _summary_text(
    quiz: QuizRow, title: str, grades: list[QuizGrade], ended: datetime, bank: Bank
) -> str:
    summary = summarize(
        grades, question_ids=quiz.question_ids, started=quiz.started_at, ended=ended
    )
    counts = " · ".join(f"{GRADE_LABELS[r]} {summary.by_rating[r]}" for r in Rating)
    lines = [
        f"🏁 <b>{title}: {escape_html(quiz.topic)}</b>",
        f"Graded {summary.answered} of {summary.total} in {format_duration(summary.duration)}.",
        counts,
    ]
    if summary.review_again:
        lines.append("<b>Review again:</b>")
        for question_id in summary.review_again:
            question = bank.question(question_id)
            if question is not None:
                lines.append(f"• {escape_html(question.question[:150])}")
    else:
        lines.append("Nothing to review again. 🎉")
    lines.append("Every grade counts for your streak and spaced repetition. /stats")
    return "\n".join(lines)


def _scoreboard_text(
    quiz: QuizRow, title: str, grades: list[QuizGrade], names: dict[int, str]
) -> str:
    lines = [f"🏁 <b>{title}: {escape_html(quiz.topic)}</b> ({len(quiz.question_ids)} questions)"]
    board = scoreboard(grades)
    if not board:
        lines.append("Nobody graded this time.")
    for place, line in enumerate(board, start=1):
        name = escape_html(names.get(line.person_id, str(line.person_id)))
        lines.append(f"{place}. {name}: {line.points} points ({line.graded} graded)")
    lines.append("Points: Easy 3, Good 2, Hard 1, Again 0.")
    return "\n".join(lines)
