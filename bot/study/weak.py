"""The /weak use case: the weakest topics (retention over the last 30 days), the
leeches, and the topics to offer a quiz on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.progress import RETENTION_DAYS, TopicStats, leeches, topic_stats, weakest_topics
from bot.domain.topics import Topic
from bot.service.context import Services
from bot.storage import progress as progress_store
from bot.study.banks import bank_for_person

QUIZ_TOPICS = 3


@dataclass(frozen=True)
class WeakReport:
    weakest: tuple[TopicStats, ...]
    leeches: tuple[tuple[str, int], ...]  # (question id, times forgotten), most first
    quiz_topics: tuple[Topic, ...]  # a "Quiz me on X" each: weak topics, then leeches' decks

    @property
    def empty(self) -> bool:
        return not self.weakest and not self.leeches


async def weak_report(services: Services, *, person_id: int, now: datetime) -> WeakReport:
    """What /weak shows a person. Leeches without a weak topic still get a quiz: on
    their decks (at most ``QUIZ_TOPICS`` quizzes in all)."""
    async with services.sessions() as session:
        bank = await bank_for_person(services, person_id, session=session)
        reviews = await progress_store.graded_reviews(
            person_id, session=session, since=now - timedelta(days=RETENTION_DAYS)
        )
        lapses = await progress_store.card_lapses(person_id, session=session)
    weakest = weakest_topics(topic_stats(reviews, bank, now=now))
    leech_list = leeches(lapses, bank)
    topics = [Topic(stats.kind, stats.key, stats.title) for stats in weakest]
    for question_id, _ in leech_list:
        deck = bank.deck_of(question_id)
        topic = Topic("deck", deck.id, deck.title) if deck is not None else None
        if topic is not None and topic not in topics and len(topics) < QUIZ_TOPICS:
            topics.append(topic)
    return WeakReport(tuple(weakest), tuple(leech_list), tuple(topics))
