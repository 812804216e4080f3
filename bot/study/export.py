"""The /export use case: what the bot knows about a person, as two files they keep.

``reviews.csv`` (every grade) and ``data.json`` (settings, cards with their
FSRS state, streaks); the formats are documented in README.md. The CSV streams:
reviews come from a server-side cursor in partitions, and each partition is
written (replaying FSRS) in a worker thread, so memory does not grow with history.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, cast

from bot.domain.chats import format_hhmm
from bot.domain.export import ExportedCard, ExportedReview, ReviewsCsv, data_json
from bot.domain.schedule import describe_days, local_date_of
from bot.domain.srs import CardState, Rating
from bot.domain.streaks import compute_streak_of_runs
from bot.service.context import Services
from bot.storage import chats as chat_store
from bot.storage import learning, people, typed_answers
from bot.storage import progress as progress_store
from bot.storage import reminder_candidates as reminder_store
from bot.study.banks import bank_for_person

EXPORT_CHUNK = 1000
# A year of reviews is ~60 kB of CSV: in memory; a longer history spills to a file.
SPOOL_BYTES = 1 << 20


@dataclass(frozen=True)
class Export:
    """The two files: the caller sends them and closes ``reviews_csv``."""

    reviews_csv: BinaryIO  # at its start
    reviews: int  # how many rows it has
    data_json: str


async def export(services: Services, *, person_id: int, now: datetime) -> Export | None:
    """A person's reviews.csv and data.json; None: nothing is stored about them."""
    async with services.sessions() as session:
        bank = await bank_for_person(services, person_id, session=session)
        person = await people.get_person(person_id, session=session)
        if person is None:
            return None
        settings = await chat_store.get_chat(person_id, session=session)
        reminder = await reminder_store.get_reminder(person_id, session=session)
        cards = await progress_store.card_rows(person_id, session=session)
        runs = await learning.study_runs(person_id, session=session)
        kept = await typed_answers.kept_answers(person_id, session=session)

    def deck_title(question_id: str) -> str:
        deck = bank.deck_of(question_id)
        return deck.title if deck is not None else ""

    csv_file, count = await _reviews_csv(services, person_id)
    schedule: dict[str, object] = (
        {
            "timezone": settings.schedule.timezone,
            "delivery_time": format_hhmm(settings.schedule.local_time),
            "days": describe_days(settings.schedule.days),
            "decks": list(settings.decks),
            "paused": settings.paused,
        }
        if settings is not None
        else {"timezone": person.timezone}
    )
    schedule["streak_reminder"] = (
        (format_hhmm(reminder.at) if reminder.enabled else "off") if reminder else None
    )
    document = data_json(
        person={"id": person.id, "first_name": person.first_name, "username": person.username},
        settings=schedule,
        cards=[
            ExportedCard(
                c.question_id,
                deck_title(c.question_id),
                CardState.from_dict(c.state),
                c.reps,
                c.lapses,
            )
            for c in cards
        ],
        streak=compute_streak_of_runs(runs, today=local_date_of(now, person.timezone)),
        now=now,
        typed_answers=[
            {
                "question_id": answer.question_id,
                "answer": answer.answer,
                "checked_at": answer.checked_at.isoformat() if answer.checked_at else None,
                "checker": answer.checker,
                "key_points_covered": answer.covered,
                "key_points": answer.total,
                "suggested_grade": Rating(answer.suggested_rating).name.lower()
                if answer.suggested_rating
                else None,
                "grade": Rating(answer.rating).name.lower() if answer.rating else None,
            }
            for answer in kept
        ],
    )
    return Export(csv_file, count, document)


async def _reviews_csv(services: Services, person_id: int) -> tuple[BinaryIO, int]:
    """``reviews.csv`` streamed from a server-side cursor into a temporary file.

    Reviews arrive oldest first in partitions of ``EXPORT_CHUNK`` rows; each is written
    (FSRS replayed) in a worker thread, so neither the rows nor the text of a long
    history are held at once, and the event loop stays free. Returns the file, at its
    start, and the number of reviews.
    """
    async with services.autocommit() as session:
        bank = await bank_for_person(services, person_id, session=session)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - returned
    text = io.TextIOWrapper(spool, encoding="utf-8", newline="", write_through=True)
    out = ReviewsCsv(text)

    def write(rows: Sequence[Any]) -> None:
        out.write(
            ExportedReview(
                at=at,
                utc_offset_minutes=offset,
                question_id=question_id,
                deck=deck.title if (deck := bank.deck_of(question_id)) else "",
                question=q.question if (q := bank.question(question_id)) else "",
                rating=Rating(rating),
            )
            for at, offset, question_id, rating in rows
        )

    async with services.sessions() as session:
        result = await progress_store.stream_reviews(person_id, session=session)
        async for rows in result.partitions(EXPORT_CHUNK):
            await asyncio.to_thread(write, rows)
    text.flush()
    text.detach()
    spool.seek(0)
    return cast(BinaryIO, spool), out.rows
