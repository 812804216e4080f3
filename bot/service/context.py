"""The typed context handlers receive: services instead of string keys in bot_data."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import Application, CallbackContext, ExtBot

from bot.content.deck_cache import DeckCache
from bot.domain.clock import Clock, system_clock
from bot.domain.content import Bank
from bot.service.config import Settings
from bot.service.deck_parser import DeckParser
from bot.service.repeated_failures import RepeatedFailures
from bot.storage.database import create_autocommit_sessionmaker
from bot.telegram.ratelimit import Traffic
from bot.telegram.rich_messages import RichMessages, RichMode


@dataclass
class Services:
    """Everything a handler or job needs, opened in post_init, closed in post_shutdown."""

    settings: Settings
    bank: Bank
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock = system_clock
    # Set on SIGTERM/SIGINT: the dispatcher stops claiming and sending (bot/service/lifecycle.py).
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    own_decks: DeckCache = field(default_factory=DeckCache)
    """People's decks loaded on demand, bounded (bot/study/banks.py reads through it)."""
    deck_parser: DeckParser = field(default_factory=DeckParser)
    """Reads uploaded deck files off the event loop: bot/app.py gives it the configured
    worker processes (DECK_PARSE_WORKERS); the default reads in a thread."""
    notice_failures: RepeatedFailures = field(
        default_factory=lambda: RepeatedFailures("sending notices")
    )
    """One traceback per distinct failure of the notices sender (bot/jobs/notices.py),
    whichever runs it: the periodic job or the kick after a reply."""
    autocommit: async_sessionmaker[AsyncSession] = field(init=False)
    """Sessions whose statements each commit on their own on PostgreSQL (no BEGIN,
    no ROLLBACK: bot.storage.database.create_autocommit_sessionmaker), for reads
    and single-statement writes; on SQLite the same as ``sessions``."""
    rich: RichMessages = field(init=False)
    """Whether answers and formula questions go as rich messages (RICH_MESSAGES, and a
    404 from an older server that switched this process to HTML)."""

    def __post_init__(self) -> None:
        self.autocommit = create_autocommit_sessionmaker(self.engine)
        self.rich = RichMessages(RichMode(self.settings.rich_messages))


@dataclass
class BotData:
    """``application.bot_data``: filled in post_init."""

    services: Services | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    dispatching: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while a dispatcher tick runs (one tick at a time, bot.app._dispatch_job)."""
    noticing: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while the periodic notices job runs (bot.app._notices_job)."""
    tick_failures: Any = None
    """bot.service.repeated_failures.RepeatedFailures of the dispatcher's tick (made by
    the first tick): one traceback per distinct failure."""


class BotContext(CallbackContext[ExtBot[Traffic], dict[Any, Any], dict[Any, Any], BotData]):
    """CallbackContext with a typed ``services`` property."""

    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services are not ready: post_init has not run")
        return services


BotApplication = Application[
    ExtBot[Traffic], BotContext, dict[Any, Any], dict[Any, Any], BotData, Any
]
