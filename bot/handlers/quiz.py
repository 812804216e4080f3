"""/quiz: on-demand topic quizzes, in private chats and in groups.

A quiz is a row (its questions, its position, who started it) plus one delivery
per question sent, so Show answer and the grade buttons are the daily flow's.
Private quizzes move on when the question is graded or skipped; group quizzes
when the starter or an admin taps Next. Everything is in the database, so a
quiz survives a restart; one idle for a day expires.
"""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import Update

from bot.domain.content import Bank
from bot.domain.quiz import (
    QuizInputError,
    format_duration,
    parse_quiz_args,
    scoreboard,
    summarize,
)
from bot.domain.srs import Rating
from bot.domain.topics import Topic, common_tags, match_topic
from bot.handlers.common import (
    chat_bank,
    now_of,
    reply,
    tell,
    toast,
    turn_of,
)
from bot.handlers.groups import is_admin, is_group
from bot.rendering import escape_html, texts
from bot.service.context import BotContext
from bot.storage.models import DeliveryRow
from bot.study import group_decks
from bot.study import quiz as study_quiz
from bot.study.banks import bank_for_questions
from bot.study.questions import PreparedSend, send_and_record
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
    chat = update.effective_chat
    chat_id = chat.id if chat is not None else 0
    if not args:
        bank = await group_decks.quiz_bank(context.services, chat_id=chat_id)
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
    match = match_topic(
        await group_decks.quiz_bank(context.services, chat_id=chat_id), request.topic
    )
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
    chat = update.effective_chat
    bank = await chat_bank(context, chat.id) if chat is not None else context.services.bank
    topic = study_quiz.find_topic(bank, action.kind, action.key)
    if topic is None:
        await toast(update, "That topic no longer exists.")
        return
    await toast(update, f"Quiz on {topic.title}")
    await _start(update, context, topic, 5)


async def _start(
    update: Update, context: BotContext, topic: Topic, count: int, *, weak_first: bool = False
) -> None:
    """Create the quiz (bot.study.quiz.start) and send its first question."""
    turn = turn_of(update, context)
    person = turn.person if turn is not None else None
    if turn is None or person is None:
        return
    result = await study_quiz.start(
        turn.services,
        chat_id=turn.chat.id,
        chat_kind=turn.chat.type,
        chat_title=turn.chat.title,
        group=is_group(update),
        starter=person,
        topic=topic,
        count=count,
        weak_first=weak_first,
        now=turn.now,
    )
    match result:
        case study_quiz.StartResult(outcome=study_quiz.Started.RUNNING, running=(name, at, total)):
            await reply(
                update,
                f"A quiz on {escape_html(name)} is running ({at}/{total}). /quiz stop ends it.",
            )
        case study_quiz.StartResult(outcome=study_quiz.Started.STARTED, quiz_id=int(quiz_id)):
            picked = result.picked
            note = "" if picked == count else f" (only {picked} available)"
            await reply(
                update,
                f"🎯 Quiz on <b>{escape_html(topic.title)}</b>: {picked} questions{note}. Go!",
            )
            await send_current(context, quiz_id)
        case _:
            await reply(update, f"{escape_html(topic.title)} has no questions yet.")


start_quiz = _start


async def send_current(context: BotContext, quiz_id: int) -> None:
    """Send the quiz's current question as a new delivery."""
    item = await study_quiz.current_question(context.services, quiz_id=quiz_id, now=now_of(context))
    if item is not None:
        await _send_question(context, item)


async def _send_question(context: BotContext, item: PreparedSend) -> None:
    outcome = await send_and_record(context.bot, context.services, item)
    if not isinstance(outcome, Sent):
        log.warning("quiz %s question not sent: %s", item.quiz_id, outcome)


async def send_step(context: BotContext, step: study_quiz.QuizStep | None) -> None:
    """Send where a quiz went (bot.study.quiz.QuizStep): its next question, or its results."""
    if step is None:
        return
    if step.question is not None:
        await _send_question(context, step.question)
    if step.results is not None:
        await _send_results(context, step.results)


async def advance_after(context: BotContext, delivery: DeliveryRow) -> None:
    """Move a quiz past ``delivery`` (graded or skipped), once, and send what comes next."""
    step = await study_quiz.advance(context.services, delivery=delivery, now=now_of(context))
    await send_step(context, step)


async def quiz_next_button(update: Update, context: BotContext, action: QuizNext) -> None:
    """Group quizzes: the starter or an admin moves on to the next question."""
    user = update.effective_user

    async def admin() -> bool:
        return await is_admin(update, context)

    result = await study_quiz.next_question(
        context.services,
        quiz_id=action.quiz_id,
        user_id=user.id if user is not None else None,
        is_admin=admin,
        now=now_of(context),
    )
    match result.outcome:
        case study_quiz.Moved.OVER:
            await toast(update, "This quiz is over.")
        case study_quiz.Moved.NOT_ALLOWED:
            await toast(update, "Only the quiz's starter or an admin can move on.", alert=True)
        case study_quiz.Moved.MOVED:
            await toast(update, "Next question")
            await send_step(context, result.step)


async def quiz_stop_button(update: Update, context: BotContext, action: QuizStop) -> None:
    await _stop(update, context, quiz_id=action.quiz_id)


async def _stop(update: Update, context: BotContext, *, quiz_id: int | None) -> None:
    turn = turn_of(update, context)
    if turn is None or turn.user is None:
        return

    async def admin() -> bool:
        return await is_admin(update, context)

    result = await study_quiz.stop(
        turn.services,
        chat_id=turn.chat.id,
        quiz_id=quiz_id,
        user_id=turn.user.id,
        group=is_group(update),
        is_admin=admin,
        now=turn.now,
    )
    match result.outcome:
        case study_quiz.Stopped.NOT_RUNNING:
            over = "This quiz is over." if update.callback_query else f"No quiz is running. {USAGE}"
            await tell(update, over)
        case study_quiz.Stopped.NOT_ALLOWED:
            await tell(update, "Only the quiz's starter or an admin can stop it.", alert=True)
        case study_quiz.Stopped.STOPPED:
            if update.callback_query:
                await toast(update, "Quiz stopped.")
            if result.results is not None:
                await _send_results(context, result.results)


async def send_results(context: BotContext, quiz_id: int) -> None:
    """A private summary, or a group scoreboard."""
    found = await study_quiz.results(context.services, quiz_id=quiz_id)
    if found is not None:
        await _send_results(context, found)


async def _send_results(context: BotContext, results: study_quiz.QuizResults) -> None:
    services = context.services
    ended = results.ended_at or services.clock()
    title = "Quiz stopped" if results.stopped else "Quiz finished"
    if results.group:
        text = _scoreboard_text(results, title)
    else:
        async with services.autocommit() as session:
            bank = await bank_for_questions(services, results.question_ids, session=session)
        text = _summary_text(results, title, ended, bank)
    await context.bot.send_message(results.chat_id, text)


def _summary_text(results: study_quiz.QuizResults, title: str, ended: datetime, bank: Bank) -> str:
    summary = summarize(
        results.grades,
        question_ids=results.question_ids,
        started=results.started_at,
        ended=ended,
    )
    counts = " · ".join(f"{GRADE_LABELS[r]} {summary.by_rating[r]}" for r in Rating)
    lines = [
        f"🏁 <b>{title}: {escape_html(results.topic)}</b>",
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


def _scoreboard_text(results: study_quiz.QuizResults, title: str) -> str:
    topic = escape_html(results.topic)
    lines = [f"🏁 <b>{title}: {topic}</b> ({len(results.question_ids)} questions)"]
    board = scoreboard(results.grades)
    if not board:
        lines.append("Nobody graded this time.")
    for place, line in enumerate(board, start=1):
        name = escape_html(results.names.get(line.person_id, str(line.person_id)))
        lines.append(f"{place}. {name}: {line.points} points ({line.graded} graded)")
    lines.append("Points: Easy 3, Good 2, Hard 1, Again 0.")
    return "\n".join(lines)
