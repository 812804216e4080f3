"""The bank as a chat sees it (bot/study/banks.py): the built-in bank itself and no query
for a chat without decks of its own; one query for a dispatcher batch; people's decks
through the bounded cache, a new version read again, a deleted deck gone."""

from __future__ import annotations

import gc
import weakref
from dataclasses import replace
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.content.deck_cache import DeckCache
from bot.domain.chats import ChatSettings
from bot.domain.content import Question
from bot.domain.own_decks import as_bank_deck
from bot.domain.schedule import Schedule
from bot.domain.selection import choose_question
from bot.service.context import Services
from bot.storage import decks as deck_store
from bot.study.banks import (
    bank_for_person,
    bank_for_questions,
    bank_for_settings,
    banks_for_settings,
)
from bot.study.questions import card_text, rich_card_text
from tests.support.bot_harness import small_bank
from tests.support.storage_rows import add_person_with_private_chat

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ADA, BOB = 1001, 1002


class Statements:
    """Counts the statements sent to the database while it is open."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        self._engine = engine.sync_engine

    def _seen(self, *_: Any) -> None:
        self.count += 1

    def __enter__(self) -> Statements:
        event.listen(self._engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self._engine, "before_cursor_execute", self._seen)


def settings_of(chat_id: int, *decks: str) -> ChatSettings:
    schedule = Schedule(local_time=time(9, 0), timezone="UTC", days=frozenset(range(7)))
    return ChatSettings(chat_id=chat_id, kind="private", schedule=schedule, decks=decks)


async def make_deck(services: Services, owner: int, title: str, *ids: str) -> int:
    questions = [Question(id=i, question=f"{title} {i}?", answer=f"{i}.") for i in ids]
    async with services.sessions() as session, session.begin():
        deck = await deck_store.create_deck(owner, title, questions, session=session, now=NOW)
    return deck.id


async def test_no_deck_of_its_own_is_the_built_in_bank_with_no_query(
    services: Services, engine: AsyncEngine
) -> None:
    async with services.sessions() as session:
        with Statements(engine) as statements:
            assert await bank_for_settings(services, settings_of(ADA, "ml"), session=session) is (
                services.bank
            )
            assert await bank_for_questions(services, ["bias-variance"], session=session) is (
                services.bank
            )
            banks = await banks_for_settings(
                services, {ADA: settings_of(ADA, "ml"), BOB: settings_of(BOB)}, session=session
            )
    assert statements.count == 0
    assert all(bank is services.bank for bank in banks.values())


async def test_a_batch_reads_its_decks_in_one_query_then_from_the_cache(
    services: Services, engine: AsyncEngine
) -> None:
    async with services.sessions() as session, session.begin():
        await add_person_with_private_chat(session, ADA, now=NOW)
        await add_person_with_private_chat(session, BOB, now=NOW)
    ada = await make_deck(services, ADA, "Ada's", "a", "b")
    bob = await make_deck(services, BOB, "Bob's", "a")
    batch = {
        ADA: settings_of(ADA, "ml", f"u{ada}"),
        BOB: settings_of(BOB, f"u{bob}", f"u{ada}"),
        3: settings_of(3, "nlp"),
        4: settings_of(4, "u999999"),  # deleted meanwhile
    }
    for expected_statements in (1, 1):  # the second time, versions only (cached decks)
        async with services.sessions() as session:
            with Statements(engine) as statements:
                banks = await banks_for_settings(services, batch, session=session)
        assert statements.count == expected_statements
    assert banks[3] is services.bank
    assert banks[4] is services.bank
    assert banks[ADA].deck_ids == (*services.bank.deck_ids, f"u{ada}")
    assert banks[BOB].deck_ids == (*services.bank.deck_ids, f"u{ada}", f"u{bob}")
    question = banks[BOB].question(f"u{bob}-a")
    assert question is not None
    assert question.question == "Bob's a?"
    assert services.own_decks.hits == 2  # each deck once per batch, however many chats


async def test_a_new_version_is_read_again_and_a_deleted_deck_is_gone(services: Services) -> None:
    async with services.sessions() as session, session.begin():
        await add_person_with_private_chat(session, ADA, now=NOW)
    deck_id = await make_deck(services, ADA, "Mine", "a", "b")
    async with services.sessions() as session:
        bank = await bank_for_questions(services, [f"u{deck_id}-a"], session=session)
    assert bank.question(f"u{deck_id}-b") is not None
    new = [
        Question(id="a", question="New a?", answer="A."),
        Question(id="c", question="C?", answer="C."),
    ]
    async with services.sessions() as session, session.begin():
        await deck_store.replace_deck(deck_id, new, session=session, now=NOW)
    async with services.sessions() as session:
        bank = await bank_for_person(services, ADA, session=session)
    question = bank.question(f"u{deck_id}-a")
    assert question is not None
    assert question.question == "New a?"
    assert bank.question(f"u{deck_id}-b") is None
    async with services.sessions() as session, session.begin():
        await deck_store.delete_deck(deck_id, session=session)
    async with services.sessions() as session:
        assert await bank_for_person(services, ADA, session=session) is services.bank
        assert (
            await bank_for_questions(services, [f"u{deck_id}-a"], session=session) is services.bank
        )


async def test_memory_does_not_grow_with_the_decks_stored(services: Services) -> None:
    services = replace(services, own_decks=DeckCache(max_decks=3))
    async with services.sessions() as session, session.begin():
        await add_person_with_private_chat(session, ADA, now=NOW)
    ids = [await make_deck(services, ADA, f"D{n}", "a", "b") for n in range(10)]
    for deck_id in ids:
        async with services.sessions() as session:
            bank = await bank_for_questions(services, [f"u{deck_id}-a"], session=session)
        assert bank.question(f"u{deck_id}-b") is not None
        assert len(services.own_decks) <= 3
    assert [services.own_decks.has(deck_id) for deck_id in ids] == [False] * 7 + [True] * 3


def test_a_chats_bank_is_not_kept_by_the_memoised_choices_and_cards() -> None:
    """Extended banks are built per chat: a memo keyed by one would keep its decks alive
    past the deck cache's bound (selection's pools, the rendered cards)."""
    base = small_bank()
    questions = [Question(id=f"u9-q{n}", question=f"Q{n}?", answer="A.") for n in range(3)]
    bank = base.extended([as_bank_deck(9, "Mine", questions)], key=("u9", 1))
    alive = weakref.ref(bank)
    chosen = choose_question(bank, decks=["u9"], cards={}, now=NOW)
    assert chosen == "u9-q0"
    assert card_text(bank, chosen, "Question of the day") is not None
    assert card_text(bank, "bias-variance", "Question of the day") is not None
    # The rich card too (a question of an own deck with a formula goes as a rich message).
    assert rich_card_text(bank, chosen, "Question of the day") is None  # no formula: plain
    assert rich_card_text(bank, "bias-variance", "Question of the day") is None
    formula = [Question(id="u9-f", question=r"What is \(x^2\)?", answer="A.")]
    with_formula = base.extended([as_bank_deck(9, "Mine", formula)], key=("u9", 2))
    kept = weakref.ref(with_formula)
    assert rich_card_text(with_formula, "u9-f", "Question of the day") is not None
    del with_formula
    del bank
    gc.collect()
    assert alive() is None
    assert kept() is None
