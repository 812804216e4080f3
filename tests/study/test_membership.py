"""Subscribe, forget and export as use cases, against a real database, without Telegram."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from bot.domain.srs import Rating
from bot.service.context import Services
from bot.storage import chats as chat_store
from bot.storage import deliveries as delivery_store
from bot.storage import people
from bot.storage import reminder_candidates as reminder_store
from bot.study import answers, subscription
from bot.study.answers import AnswerToPost
from bot.study.export import export
from bot.study.people import Person

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ANNA = Person(501, first_name="Anna", username="anna")


async def _subscribe(services: Services) -> None:
    await subscription.subscribe(
        services, chat_id=ANNA.id, chat_kind="private", person=ANNA, now=NOW
    )


async def test_subscribe_sets_the_defaults_and_wakes_a_paused_chat(services: Services) -> None:
    settings = await subscription.subscribe(
        services, chat_id=ANNA.id, chat_kind="private", person=ANNA, now=NOW
    )
    assert (settings.schedule.local_time, settings.schedule.timezone) == (time(9, 0), "UTC")
    assert (settings.active, settings.paused, settings.decks) == (True, False, ("ml", "nlp"))
    assert settings.next_due_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    async with services.sessions() as session, session.begin():
        person = await people.get_person(ANNA.id, session=session)
        reminder = await reminder_store.get_reminder(ANNA.id, session=session)
        await chat_store.save_chat(replace(settings, paused=True), session=session, now=NOW)
    assert person is not None
    assert (person.first_name, person.username, person.timezone) == ("Anna", "anna", "UTC")
    assert reminder is not None
    again = await subscription.subscribe(
        services, chat_id=ANNA.id, chat_kind="private", person=ANNA, now=NOW
    )
    assert again.paused is False


async def test_export_then_forget(services: Services) -> None:
    assert await export(services, person_id=ANNA.id, now=NOW) is None
    await _subscribe(services)
    async with services.sessions() as session, session.begin():
        row = await delivery_store.create_delivery(
            session=session, chat_id=ANNA.id, question_id="bpe", now=NOW, daily_on=None
        )
        assert row is not None
        delivery_id = row.id

    async def post(answer: AnswerToPost) -> int:
        return 99

    await answers.reveal(
        services, delivery_id=delivery_id, chat_id=ANNA.id, group=False, now=NOW, post=post
    )
    graded = await answers.grade(
        services,
        delivery_id=delivery_id,
        rating=Rating.GOOD,
        grader=ANNA,
        chat_id=ANNA.id,
        group=False,
        now=NOW,
    )
    assert graded.outcome == answers.Graded.SAVED

    files = await export(services, person_id=ANNA.id, now=NOW + timedelta(hours=1))
    assert files is not None
    with files.reviews_csv as raw:
        rows = list(csv.DictReader(io.StringIO(raw.read().decode())))
    assert files.reviews == 1
    assert [(row["question_id"], row["grade"], row["deck"]) for row in rows] == [
        ("bpe", "Good", "NLP")
    ]
    document = json.loads(files.data_json)
    assert document["person"] == {"id": ANNA.id, "first_name": "Anna", "username": "anna"}
    assert [card["question_id"] for card in document["cards"]] == ["bpe"]

    await subscription.forget(services, person_id=ANNA.id)
    assert await export(services, person_id=ANNA.id, now=NOW) is None
    async with services.sessions() as session:
        assert await chat_store.get_chat(ANNA.id, session=session) is None
