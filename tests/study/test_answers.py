"""The reveal, grade and quiz-step use cases against a real database, without Telegram.

The e2e tests drive the same paths through the handlers; these pin what each use
case changed in the database and what it says the person should be told.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from bot.domain.chats import ChatSettings
from bot.domain.quiz import QuizGrade
from bot.domain.schedule import Schedule
from bot.domain.srs import Rating
from bot.service.context import Services
from bot.storage import chats as chat_store
from bot.storage import deliveries as delivery_store
from bot.storage import learning, people
from bot.storage import quizzes as quiz_store
from bot.study import answers
from bot.study import quiz as study_quiz
from bot.study.answers import AnswerToPost, Graded, Revealed
from bot.study.people import Person
from bot.study.questions import Asked, AskResult, PreparedSend, ask

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ANNA = Person(501, first_name="Anna", username="anna")
GROUP = -100


async def _chat(services: Services, chat_id: int, kind: str = "private") -> None:
    settings = ChatSettings(
        chat_id=chat_id,
        kind=kind,
        schedule=Schedule(time(9, 0), "Europe/Berlin", frozenset(range(7))),
        decks=("ml", "nlp"),
    )
    async with services.sessions() as session, session.begin():
        await chat_store.save_chat(settings.rescheduled(now=NOW), session=session, now=NOW)


async def _delivery(services: Services, chat_id: int, question_id: str = "bpe") -> int:
    async with services.sessions() as session, session.begin():
        row = await delivery_store.create_delivery(
            session=session, chat_id=chat_id, question_id=question_id, now=NOW, daily_on=None
        )
        assert row is not None
        await delivery_store.mark_sent(row.id, 900, session=session, now=NOW)
        return row.id


class Poster:
    """Stands in for Telegram: records what it was asked to post, answers a message id."""

    def __init__(self, message_id: int | None) -> None:
        self.message_id = message_id
        self.posted: list[AnswerToPost] = []

    async def __call__(self, answer: AnswerToPost) -> int | None:
        self.posted.append(answer)
        return self.message_id


async def _reveal(
    services: Services, delivery_id: int | None, chat_id: int, post: Poster
) -> answers.RevealResult:
    return await answers.reveal(
        services, delivery_id=delivery_id, chat_id=chat_id, group=chat_id < 0, now=NOW, post=post
    )


async def _grade(
    services: Services,
    delivery_id: int,
    rating: Rating,
    *,
    chat_id: int = ANNA.id,
    grader: Person = ANNA,
    now: datetime = NOW + timedelta(minutes=1),
) -> answers.GradeResult:
    return await answers.grade(
        services,
        delivery_id=delivery_id,
        rating=rating,
        grader=grader,
        chat_id=chat_id,
        group=chat_id < 0,
        now=now,
    )


async def test_reveal_then_grade_in_a_private_chat(services: Services) -> None:
    await _chat(services, ANNA.id)
    delivery_id = await _delivery(services, ANNA.id)
    assert await _grade(services, delivery_id, Rating.GOOD) == answers.GradeResult(
        Graded.NOT_REVEALED
    )

    post = Poster(4242)
    revealed = await _reveal(services, delivery_id, ANNA.id, post)
    assert revealed == answers.RevealResult(
        Revealed.POSTED, question_id="bpe", card_label="Extra question"
    )
    [answer] = post.posted
    assert (answer.delivery_id, answer.question.id, answer.next_quiz, answer.reply_to) == (
        delivery_id,
        "bpe",
        None,
        900,
    )
    assert dict(answer.intervals or {}) == {
        Rating.AGAIN: "1d",
        Rating.HARD: "1d",
        Rating.GOOD: "2d",
        Rating.EASY: "8d",
    }
    again = await _reveal(services, delivery_id, ANNA.id, Poster(1))
    assert again == answers.RevealResult(Revealed.ALREADY_SHOWN, answer_message_id=4242)

    saved = await _grade(services, delivery_id, Rating.GOOD)
    assert saved == answers.GradeResult(
        Graded.SAVED,
        rating=Rating.GOOD,
        due=datetime(2026, 3, 4, 8, 1, tzinfo=UTC),  # "Good · 2d"
        question_id="bpe",
    )
    async with services.sessions() as session:
        review = await learning.review_for_delivery(ANNA.id, delivery_id, session=session)
        person = await people.get_person(ANNA.id, session=session)
    assert review is not None
    assert (review.rating, review.local_date.isoformat(), review.utc_offset_minutes) == (
        int(Rating.GOOD),
        "2026-03-02",
        60,
    )
    # No person row yet: tracked in the chat's zone (Berlin, UTC+1 in March).
    assert person is not None
    assert person.timezone == "Europe/Berlin"

    twice = await _grade(services, delivery_id, Rating.EASY)
    assert twice == answers.GradeResult(Graded.ALREADY, rating=Rating.GOOD, question_id="bpe")


async def test_a_grade_from_someone_else_or_another_chat(services: Services) -> None:
    await _chat(services, ANNA.id)
    delivery_id = await _delivery(services, ANNA.id)
    await _reveal(services, delivery_id, ANNA.id, Poster(7))
    stranger = Person(777, first_name="Bo")
    assert await _grade(services, delivery_id, Rating.GOOD, grader=stranger) == (
        answers.GradeResult(Graded.NOT_YOURS)
    )
    assert await _grade(services, delivery_id, Rating.GOOD, chat_id=777, grader=stranger) == (
        answers.GradeResult(Graded.GONE)
    )
    assert await _reveal(services, delivery_id, 777, Poster(8)) == answers.RevealResult(
        Revealed.GONE
    )


async def test_an_answer_telegram_refused_can_be_revealed_again(services: Services) -> None:
    await _chat(services, ANNA.id)
    delivery_id = await _delivery(services, ANNA.id)
    refused = await _reveal(services, delivery_id, ANNA.id, Poster(None))
    assert refused == answers.RevealResult(Revealed.NOT_SENT)
    async with services.sessions() as session:
        row = await delivery_store.get_delivery(delivery_id, session=session)
    assert row is not None
    assert (row.revealed_at, row.answer_message_id) == (None, None)
    retried = await _reveal(services, delivery_id, ANNA.id, Poster(55))
    assert retried.outcome == Revealed.POSTED


async def test_a_group_member_new_to_the_bot_is_tracked_in_the_groups_zone(
    services: Services,
) -> None:
    await _chat(services, GROUP, kind="group")
    delivery_id = await _delivery(services, GROUP, "attention")
    post = Poster(31)
    await _reveal(services, delivery_id, GROUP, post)
    assert post.posted[0].intervals is None  # every member has their own card
    saved = await _grade(services, delivery_id, Rating.HARD, chat_id=GROUP)
    assert (saved.outcome, saved.rating, saved.quiz_step) == (Graded.SAVED, Rating.HARD, None)
    async with services.sessions() as session:
        person = await people.get_person(ANNA.id, session=session)
        review = await learning.review_for_delivery(ANNA.id, delivery_id, session=session)
    assert person is not None
    assert person.timezone == "Europe/Berlin"
    assert review is not None
    assert (review.local_date.isoformat(), review.utc_offset_minutes) == (
        "2026-03-02",
        60,
    )


async def _quiz(services: Services, chat_id: int, question_ids: list[str]) -> int:
    async with services.sessions() as session, session.begin():
        quiz = await quiz_store.create_quiz(
            session=session,
            chat_id=chat_id,
            started_by=ANNA.id,
            topic="NLP",
            question_ids=question_ids,
            now=NOW,
        )
        return quiz.id


async def test_grading_a_private_quiz_moves_it_on_and_finishes_it(services: Services) -> None:
    await _chat(services, ANNA.id)
    quiz_id = await _quiz(services, ANNA.id, ["attention", "bpe"])
    first = await study_quiz.current_question(services, quiz_id=quiz_id, now=NOW)
    assert first is not None
    assert (first.question_id, first.label, first.quiz_id, first.skip) == (
        "attention",
        "Quiz · NLP · 1/2",
        quiz_id,
        True,
    )
    await _reveal(services, first.delivery_id, ANNA.id, Poster(10))
    graded = await _grade(services, first.delivery_id, Rating.AGAIN)
    assert graded.in_quiz
    step = graded.quiz_step
    assert step is not None
    assert step.results is None
    assert step.question is not None
    second: PreparedSend = step.question
    assert (second.question_id, second.label, second.quiz_id) == (
        "bpe",
        "Quiz · NLP · 2/2",
        quiz_id,
    )
    # A second grade of the first question is no step: the quiz moved on already.
    assert (await _grade(services, first.delivery_id, Rating.GOOD)).quiz_step is None

    await _reveal(services, second.delivery_id, ANNA.id, Poster(11))
    last = await _grade(services, second.delivery_id, Rating.EASY, now=NOW + timedelta(minutes=3))
    assert last.quiz_step is not None
    assert last.quiz_step.question is None
    assert last.quiz_step.results == study_quiz.QuizResults(
        quiz_id=quiz_id,
        chat_id=ANNA.id,
        group=False,
        topic="NLP",
        stopped=False,
        question_ids=("attention", "bpe"),
        started_at=NOW,
        ended_at=NOW + timedelta(minutes=3),
        grades=(
            QuizGrade(ANNA.id, "attention", Rating.AGAIN),
            QuizGrade(ANNA.id, "bpe", Rating.EASY),
        ),
        names={ANNA.id: "Anna"},
    )


async def test_only_the_starter_or_an_admin_moves_a_group_quiz_on(services: Services) -> None:
    await _chat(services, GROUP, kind="group")
    quiz_id = await _quiz(services, GROUP, ["attention", "bpe"])
    first = await study_quiz.current_question(services, quiz_id=quiz_id, now=NOW)
    assert first is not None
    assert first.typed is False
    assert first.label == "Quiz · NLP · 1/2"
    asked: list[bool] = []

    async def not_admin() -> bool:
        asked.append(True)
        return False

    refused = await study_quiz.next_question(
        services, quiz_id=quiz_id, user_id=777, is_admin=not_admin, now=NOW
    )
    assert (refused, asked) == (study_quiz.NextResult(study_quiz.Moved.NOT_ALLOWED), [True])
    moved = await study_quiz.next_question(
        services, quiz_id=quiz_id, user_id=ANNA.id, is_admin=not_admin, now=NOW
    )
    assert moved.outcome == study_quiz.Moved.MOVED
    assert asked == [True]
    assert moved.step is not None
    assert moved.step.question is not None
    assert moved.step.question.label == "Quiz · NLP · 2/2"


async def never_admin() -> bool:
    raise AssertionError("not asked: the presser's rights are known without Telegram")


async def test_skipping_a_quiz_question_moves_the_quiz_on(services: Services) -> None:
    await _chat(services, ANNA.id)
    quiz_id = await _quiz(services, ANNA.id, ["attention", "bpe"])
    first = await study_quiz.current_question(services, quiz_id=quiz_id, now=NOW)
    assert first is not None
    skipped = await answers.skip(
        services,
        delivery_id=first.delivery_id,
        chat_id=ANNA.id,
        group=False,
        user_id=ANNA.id,
        is_admin=never_admin,
        now=NOW,
    )
    assert skipped.outcome == answers.Skipped.SKIPPED
    assert (skipped.question_id, skipped.card_label) == ("attention", "Quiz · NLP · 1/2")
    assert skipped.quiz_step is not None
    assert skipped.quiz_step.question is not None
    second = skipped.quiz_step.question
    assert (second.question_id, second.label) == ("bpe", "Quiz · NLP · 2/2")

    await _reveal(services, second.delivery_id, ANNA.id, Poster(12))
    shown = await answers.skip(
        services,
        delivery_id=second.delivery_id,
        chat_id=ANNA.id,
        group=False,
        user_id=ANNA.id,
        is_admin=never_admin,
        now=NOW,
    )
    assert shown == answers.SkipResult(answers.Skipped.ANSWER_SHOWN)


async def test_in_a_group_only_the_starter_or_an_admin_skips(services: Services) -> None:
    await _chat(services, GROUP, kind="group")
    quiz_id = await _quiz(services, GROUP, ["attention"])
    first = await study_quiz.current_question(services, quiz_id=quiz_id, now=NOW)
    assert first is not None

    async def not_admin() -> bool:
        return False

    refused = await answers.skip(
        services,
        delivery_id=first.delivery_id,
        chat_id=GROUP,
        group=True,
        user_id=777,
        is_admin=not_admin,
        now=NOW,
    )
    assert refused == answers.SkipResult(answers.Skipped.NOT_ALLOWED)
    by_starter = await answers.skip(
        services,
        delivery_id=first.delivery_id,
        chat_id=GROUP,
        group=True,
        user_id=ANNA.id,
        is_admin=never_admin,
        now=NOW,
    )
    assert by_starter.outcome == answers.Skipped.SKIPPED
    assert by_starter.quiz_step is not None
    assert by_starter.quiz_step.results is not None
    assert (by_starter.quiz_step.results.group, by_starter.quiz_step.results.grades) == (True, ())


async def test_starting_and_stopping_a_quiz(services: Services) -> None:
    topic = study_quiz.find_topic(services.bank, "d", "nlp")
    assert topic is not None

    async def start() -> study_quiz.StartResult:
        assert topic is not None
        return await study_quiz.start(
            services,
            chat_id=ANNA.id,
            chat_kind="private",
            chat_title=None,
            group=False,
            starter=ANNA,
            topic=topic,
            count=5,
            weak_first=False,
            now=NOW,
        )

    started = await start()
    assert (started.outcome, started.picked) == (study_quiz.Started.STARTED, 2)
    assert started.quiz_id is not None
    async with services.sessions() as session:
        chat = await chat_store.get_chat(ANNA.id, session=session)
        person = await people.get_person(ANNA.id, session=session)
    # A private chat that never /start-ed gets a paused row; the starter is tracked.
    assert chat is not None
    assert (chat.paused, chat.schedule.timezone) == (True, "UTC")
    assert person is not None
    assert person.first_name == "Anna"

    assert await start() == study_quiz.StartResult(
        study_quiz.Started.RUNNING, running=("NLP", 1, 2)
    )

    async def never() -> bool:
        raise AssertionError("not asked in a private chat")

    refused = await study_quiz.stop(
        services, chat_id=ANNA.id, quiz_id=None, user_id=777, group=False, is_admin=never, now=NOW
    )
    assert refused == study_quiz.StopResult(study_quiz.Stopped.NOT_ALLOWED)
    stopped = await study_quiz.stop(
        services,
        chat_id=ANNA.id,
        quiz_id=None,
        user_id=ANNA.id,
        group=False,
        is_admin=never,
        now=NOW + timedelta(minutes=2),
    )
    assert stopped.outcome == study_quiz.Stopped.STOPPED
    assert stopped.results is not None
    assert (stopped.results.stopped, stopped.results.ended_at, stopped.results.grades) == (
        True,
        NOW + timedelta(minutes=2),
        (),
    )
    again = await study_quiz.stop(
        services,
        chat_id=ANNA.id,
        quiz_id=started.quiz_id,
        user_id=ANNA.id,
        group=False,
        is_admin=never,
        now=NOW,
    )
    assert again == study_quiz.StopResult(study_quiz.Stopped.NOT_RUNNING)


async def test_question_and_next_record_deliveries(services: Services) -> None:
    assert await ask(services, chat_id=ANNA.id, daily=True, now=NOW) == AskResult(
        Asked.NOT_SUBSCRIBED
    )
    assert await _reveal(services, None, ANNA.id, Poster(1)) == answers.RevealResult(
        Revealed.NOTHING
    )
    await _chat(services, ANNA.id)
    daily = await ask(services, chat_id=ANNA.id, daily=True, now=NOW)
    assert daily.outcome == Asked.READY
    assert daily.question is not None
    assert (daily.question.question_id, daily.question.label) == (
        "bias-variance",
        "Question of the day · Mon 02 Mar",
    )
    again = await ask(services, chat_id=ANNA.id, daily=True, now=NOW)
    assert again == daily  # the same delivery: /question twice is today's question twice
    async with services.sessions() as session, session.begin():
        await delivery_store.mark_sent(daily.question.delivery_id, 900, session=session, now=NOW)
    extra = await ask(services, chat_id=ANNA.id, daily=False, now=NOW)
    assert extra.question is not None
    assert (extra.question.question_id, extra.question.label) == ("attention", "Extra question")
    # /answer reveals the last question sent: the daily one (the extra is not sent yet).
    post = Poster(5)
    assert (await _reveal(services, None, ANNA.id, post)).outcome == Revealed.POSTED
    assert [answer.delivery_id for answer in post.posted] == [daily.question.delivery_id]
