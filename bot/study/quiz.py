"""Use cases of a running quiz: its next question, moving on, its results.

A quiz is a row (its questions, its position, who started it) plus one delivery
per question sent. These functions change the rows and say what to send; the
handlers (bot/handlers/quiz.py, study.py) send it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.content import Bank
from bot.domain.progress import weak_quiz_picks
from bot.domain.quiz import QuizGrade
from bot.domain.selection import quiz_picks
from bot.domain.topics import Topic, topic_bank, topic_from_key
from bot.service.context import Services
from bot.storage import chats as chat_store
from bot.storage import deliveries as delivery_store
from bot.storage import learning
from bot.storage import progress as progress_store
from bot.storage import quizzes as quiz_store
from bot.storage.models import DeliveryRow, PersonRow, QuizRow
from bot.study.banks import bank_for_chat
from bot.study.chats import load_chat, new_chat_settings
from bot.study.people import Person, remember
from bot.study.questions import PreparedSend, prepare


def find_topic(bank: Bank, kind: str, ref: str) -> Topic | None:
    """The topic a quiz button names by its kind letter and ``topic_ref`` (the two
    halves of ``Topic.encoded``), if it still exists."""
    return topic_from_key(bank, f"{kind}:{ref}")


@dataclass(frozen=True)
class QuizResults:
    """A quiz that ended: what its summary (private) or scoreboard (group) shows."""

    quiz_id: int
    chat_id: int
    group: bool
    topic: str
    stopped: bool  # stopped early, not finished
    question_ids: tuple[str, ...]
    started_at: datetime
    ended_at: datetime | None  # None: not stored (the caller's clock stands in)
    grades: tuple[QuizGrade, ...]
    names: dict[int, str]  # person id → the name the scoreboard shows


@dataclass(frozen=True)
class QuizStep:
    """Where a quiz went after a question: its next question (recorded, to be
    sent), or its results (the quiz just finished)."""

    quiz_id: int
    question: PreparedSend | None = None
    results: QuizResults | None = None


async def _next_delivery(session: AsyncSession, quiz: QuizRow, now: datetime) -> PreparedSend:
    """Record the delivery of the quiz's current question."""
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
    return prepare(delivery, quiz=quiz, group=bool(chat and chat.is_group))


async def current_question(
    services: Services, *, quiz_id: int, now: datetime
) -> PreparedSend | None:
    """The quiz's current question as a new delivery; None if the quiz is not running."""
    async with services.sessions() as session, session.begin():
        quiz = await quiz_store.get_quiz(quiz_id, session=session)
        if quiz is None or quiz.status != "active":
            return None
        return await _next_delivery(session, quiz, now)


async def _results(session: AsyncSession, quiz: QuizRow) -> QuizResults:
    grades = await quiz_store.quiz_grades(quiz.id, session=session)
    chat = await chat_store.get_chat(quiz.chat_id, session=session)
    names = {
        person.id: person.first_name
        or (f"@{person.username}" if person.username else str(person.id))
        for person in [await session.get(PersonRow, g.person_id) for g in grades]
        if person is not None
    }
    return QuizResults(
        quiz_id=quiz.id,
        chat_id=quiz.chat_id,
        group=chat is not None and chat.is_group,
        topic=quiz.topic,
        stopped=quiz.status == "stopped",
        question_ids=tuple(quiz.question_ids),
        started_at=quiz.started_at,
        ended_at=quiz.finished_at,
        grades=tuple(grades),
        names=names,
    )


async def results(services: Services, *, quiz_id: int) -> QuizResults | None:
    """A quiz's results as they stand (None: no such quiz)."""
    async with services.sessions() as session:
        quiz = await quiz_store.get_quiz(quiz_id, session=session)
        return await _results(session, quiz) if quiz is not None else None


async def advance(services: Services, *, delivery: DeliveryRow, now: datetime) -> QuizStep | None:
    """Move a quiz past ``delivery`` (graded or skipped), once: its next question
    recorded, or the quiz finished with its results. None: no quiz, or a stale
    press (the quiz already moved on)."""
    if delivery.quiz_id is None:
        return None
    async with services.sessions() as session, session.begin():
        quiz = await quiz_store.get_quiz(delivery.quiz_id, session=session)
        current = await quiz_store.current_delivery(quiz, session=session) if quiz else None
        if quiz is None or quiz.status != "active" or current is None or current.id != delivery.id:
            return None
        quiz.position += 1
        quiz.updated_at = now
        if quiz.position < len(quiz.question_ids):
            return QuizStep(quiz.id, question=await _next_delivery(session, quiz, now))
        quiz.status = "finished"
        quiz.finished_at = now
        await session.flush()
        return QuizStep(quiz.id, results=await _results(session, quiz))


class Moved(Enum):
    MOVED = "moved"
    OVER = "over"  # the quiz ended, or its current question was never sent
    NOT_ALLOWED = "not allowed"  # only the starter or an admin moves a group quiz on


@dataclass(frozen=True)
class NextResult:
    outcome: Moved
    step: QuizStep | None = None


async def next_question(
    services: Services,
    *,
    quiz_id: int,
    user_id: int | None,
    is_admin: Callable[[], Awaitable[bool]],
    now: datetime,
) -> NextResult:
    """A group quiz's "Next question": the starter or an admin moves it on.

    ``is_admin`` asks Telegram, so it is called only when the presser is not the starter.
    """
    async with services.sessions() as session:
        quiz = await quiz_store.get_quiz(quiz_id, session=session)
        current = await quiz_store.current_delivery(quiz, session=session) if quiz else None
    if quiz is None or quiz.status != "active" or current is None:
        return NextResult(Moved.OVER)
    if user_id is None or (user_id != quiz.started_by and not await is_admin()):
        return NextResult(Moved.NOT_ALLOWED)
    return NextResult(Moved.MOVED, await advance(services, delivery=current, now=now))


class Started(Enum):
    STARTED = "started"
    RUNNING = "running"  # another quiz is running in the chat
    EMPTY = "empty"  # the topic has no questions


@dataclass(frozen=True)
class StartResult:
    outcome: Started
    quiz_id: int | None = None  # STARTED: send its first question (current_question)
    picked: int = 0  # STARTED: how many questions it has
    running: tuple[str, int, int] | None = None  # RUNNING: (topic, 1-based position, total)


async def start(
    services: Services,
    *,
    chat_id: int,
    chat_kind: str,
    chat_title: str | None,
    group: bool,
    starter: Person,
    topic: Topic,
    count: int,
    weak_first: bool,
    now: datetime,
) -> StartResult:
    """Create a quiz on ``topic``; ``weak_first``: leeches and due cards first.

    A quiz needs the chat's row: a private chat that never /start-ed gets a paused one.
    """
    async with services.sessions() as session, session.begin():
        settings = await load_chat(chat_id, session=session, services=services)
        if settings is None:
            fresh = await new_chat_settings(services, chat_id, chat_kind, session=session)
            settings = replace(fresh, paused=not group)
            await chat_store.save_chat(
                settings.rescheduled(now=now), session=session, now=now, title=chat_title
            )
        await remember(starter, session=session, timezone=settings.schedule.timezone, now=now)
        running = await quiz_store.active_quiz(chat_id, session=session, now=now)
        if running is not None:
            place = (running.topic, running.position + 1, len(running.question_ids))
            return StartResult(Started.RUNNING, running=place)
        bank = topic_bank(await bank_for_chat(services, chat_id, session=session), topic)
        if group:
            # Only the topic's questions matter to the picks: read whether those were shown.
            seen = await delivery_store.delivered_among(
                chat_id, [question.id for question in bank], session=session
            )
            picks = quiz_picks(bank, decks=bank.deck_ids, cards={}, now=now, count=count, seen=seen)
        elif weak_first:
            cards = await learning.due_cards_of(starter.id, session=session)
            lapses = await progress_store.card_lapses(starter.id, session=session)
            picks = weak_quiz_picks(bank, cards=cards, lapses=lapses, now=now, count=count)
        else:
            cards = await learning.due_cards_of(starter.id, session=session)
            picks = quiz_picks(bank, decks=bank.deck_ids, cards=cards, now=now, count=count)
        if not picks:
            return StartResult(Started.EMPTY)
        quiz = await quiz_store.create_quiz(
            session=session,
            chat_id=chat_id,
            started_by=starter.id,
            topic=topic.title,
            question_ids=picks,
            now=now,
        )
        return StartResult(Started.STARTED, quiz_id=quiz.id, picked=len(picks))


class Stopped(Enum):
    STOPPED = "stopped"
    NOT_RUNNING = "not running"
    NOT_ALLOWED = "not allowed"  # the starter, or in a group an admin, only


@dataclass(frozen=True)
class StopResult:
    outcome: Stopped
    results: QuizResults | None = None  # STOPPED: what the quiz got to


async def stop(
    services: Services,
    *,
    chat_id: int,
    quiz_id: int | None,
    user_id: int,
    group: bool,
    is_admin: Callable[[], Awaitable[bool]],
    now: datetime,
) -> StopResult:
    """Stop a running quiz (``quiz_id``, or the chat's active one) and give its results."""
    async with services.sessions() as session, session.begin():
        quiz = (
            await quiz_store.get_quiz(quiz_id, session=session)
            if quiz_id is not None
            else await quiz_store.active_quiz(chat_id, session=session, now=now)
        )
        if quiz is None or quiz.status != "active" or quiz.chat_id != chat_id:
            return StopResult(Stopped.NOT_RUNNING)
        if not (user_id == quiz.started_by or (group and await is_admin())):
            return StopResult(Stopped.NOT_ALLOWED)
        quiz.status = "stopped"
        quiz.finished_at = now
        quiz.updated_at = now
        stopped_id = quiz.id
    return StopResult(Stopped.STOPPED, await results(services, quiz_id=stopped_id))
