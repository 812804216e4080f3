"""The background warm-up after start-up (bot/study/warm_up.py): every answer rendered in
the form that will be sent, one per turn of the event loop, stopped by ``stopping``."""

from __future__ import annotations

import asyncio

from bot.rendering import answer as html_rendering
from bot.rendering import rich as rich_rendering
from bot.study.warm_up import warm_answers
from tests.support.bot_harness import small_bank


def _never() -> bool:
    return False


async def test_every_answer_is_rendered_as_a_rich_message() -> None:
    bank = small_bank()
    rich_rendering._render_answer.cache_clear()
    html_rendering._render_answer.cache_clear()
    assert await warm_answers(bank, rich=True, stopping=_never) == len(bank)
    assert rich_rendering._render_answer.cache_info().currsize == len(bank)
    assert html_rendering._render_answer.cache_info().currsize == 0


async def test_with_rich_messages_off_the_html_answers_are_rendered() -> None:
    bank = small_bank()
    rich_rendering._render_answer.cache_clear()
    html_rendering._render_answer.cache_clear()
    assert await warm_answers(bank, rich=False, stopping=_never) == len(bank)
    assert html_rendering._render_answer.cache_info().currsize == len(bank)
    assert rich_rendering._render_answer.cache_info().currsize == 0


async def test_one_answer_per_turn_of_the_event_loop() -> None:
    """A reply waits for one render at most: the warm-up gives the loop back after each."""
    bank = small_bank()
    assert len(bank) > 2
    task = asyncio.create_task(warm_answers(bank, rich=True, stopping=_never))
    await asyncio.sleep(0)  # the task's first turn: one answer
    await asyncio.sleep(0)  # its second
    assert not task.done()
    assert await task == len(bank)


async def test_it_stops_when_the_bot_stops() -> None:
    bank = small_bank()
    asked = 0

    def stopping() -> bool:
        nonlocal asked
        asked += 1
        return asked > 2

    assert await warm_answers(bank, rich=True, stopping=stopping) == 2
