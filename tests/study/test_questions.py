"""Picking a chat's question: FSRS reviews due on the local day come before new ones."""

from __future__ import annotations

from datetime import UTC, datetime, time

from bot.domain.chats import ChatSettings
from bot.domain.schedule import Schedule
from bot.domain.srs import Rating, review
from bot.study.questions import pick_question
from tests.support.bot_harness import small_bank


def settings(zone: str = "Europe/Berlin") -> ChatSettings:
    return ChatSettings(
        chat_id=1,
        kind="private",
        schedule=Schedule(time(9, 0), zone, frozenset(range(7))),
        decks=("ml", "nlp"),
    )


def test_card_graded_in_the_evening_comes_back_at_the_morning_delivery() -> None:
    bank = small_bank()
    graded_at = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)  # 21:00 in Berlin
    card = review(None, Rating.GOOD, graded_at)
    assert card.due == datetime(2026, 3, 4, 20, 0, tzinfo=UTC)
    cards = {"attention": card}
    delivered = {"bias-variance", "attention"}
    morning_of_due_day = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)  # 09:00 Berlin
    assert (
        pick_question(bank, settings(), cards=cards, delivered=delivered, now=morning_of_due_day)
        == "attention"
    )
    day_before = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    # Not due yet: the next new question, round-robin (ml has 1 introduced, nlp 1 → ml first).
    assert (
        pick_question(bank, settings(), cards=cards, delivered=delivered, now=day_before)
        == "l1-vs-l2"
    )


def test_exclude_and_removed_decks() -> None:
    bank = small_bank()
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    gone = ChatSettings(
        chat_id=1,
        kind="private",
        schedule=Schedule(time(9, 0), "UTC", frozenset(range(7))),
        decks=("removed",),
    )
    assert pick_question(bank, gone, cards={}, delivered=set(), now=now) == "bias-variance"
    chosen = pick_question(
        bank, settings(), cards={}, delivered=set(), now=now, exclude=frozenset({"bias-variance"})
    )
    assert chosen == "l1-vs-l2"  # both decks have 0 introduced: ml first, minus the excluded one
