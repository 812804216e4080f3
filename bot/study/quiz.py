"""Use cases of a running quiz: its next question, moving on, its results.

A quiz is a row (its questions, its position, who started it) plus one delivery
per question sent. These functions change the rows and say what to send; the
handlers (bot/handlers/quiz.py, study.py) send it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.content import Bank
from bot.domain.quiz import QuizGrade
from bot.domain.topics import Topic, topic_from_key
from bot.service.context import Services
from bot.storage import chats as chat_store
from bot.storage import deliveries as delivery_store
from bot.storage import quizzes as quiz_store
from bot.storage.models import DeliveryRow, PersonRow, QuizRow
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
