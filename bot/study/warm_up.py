"""Warming what the first crowd after a start would otherwise pay for, in the background.

Each model answer is rendered once per process and memoised (bot/rendering/rich.py,
bot/rendering/answer.py): a millisecond or more of CPU on its first Show answer. The
first /stats picture imports matplotlib and loads its fonts: about a second in the drawing
thread. A bot restarted at 08:59 would put all of that on the people of 09:00, in the
middle of the broadcast. So, a moment after the bot answers, these run in the background:
one answer per turn of the event loop (a reply waits for at most one render), then the
picture library in the drawing thread, holding the drawing slot as a picture would.

Only the form that will be sent is warmed (rich or HTML, bot/telegram/rich_messages.py),
the private one (groups are few); a deck of someone's own is rendered when it is used.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.domain.content import Bank
from bot.rendering import RenderError
from bot.rendering.picture_pool import Drawing
from bot.rendering.progress_picture import warm_up as warm_up_pictures
from bot.study.answers import answer_content

log = logging.getLogger(__name__)


async def warm_answers(bank: Bank, *, rich: bool, stopping: Callable[[], bool]) -> int:
    """Render every answer of ``bank`` in the form that will be sent, one per turn of the
    event loop; how many were rendered. Stops early once ``stopping()`` says so."""
    rendered = 0
    for question in bank:
        if stopping():
            break
        content = answer_content(question, group=False)
        try:
            if not rich or content.rich() is None:
                content.html()
        except RenderError:  # the checked bank has none; the reveal reports it if it happens
            continue
        rendered += 1
        await asyncio.sleep(0)
    return rendered


def _draw_nothing(_: None) -> bytes:
    warm_up_pictures()
    return b""


async def warm_pictures(drawing: Drawing) -> bool:
    """Load the picture library in the drawing thread (unless a picture is being drawn:
    that warms it too); whether it was done here."""
    if drawing.busy():
        return False
    with drawing.slot():
        await drawing.draw(_draw_nothing, None)
    return True


async def warm_up(
    bank: Bank, drawing: Drawing, *, rich: bool, stopping: Callable[[], bool]
) -> None:
    """Both warm-ups, with one log line saying what they took."""
    started = time.monotonic()
    rendered = await warm_answers(bank, rich=rich, stopping=stopping)
    pictures = not stopping() and await warm_pictures(drawing)
    log.info(
        "warmed up: %d answers%s in %.1f s",
        rendered,
        " and the picture library" if pictures else "",
        time.monotonic() - started,
    )
