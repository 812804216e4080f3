"""Run the real Application against the fake Bot API, with a clock tests can move."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import build_application
from bot.domain.content import Bank, Deck, Question, Source
from bot.service.config import Settings
from bot.service.context import BotApplication, Services
from bot.service.lifecycle import BotService
from bot.telegram.updates import ALLOWED_UPDATES
from tests.support.bot_token import TOKEN as TOKEN  # re-exported: the e2e tests import it here

REPO_ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    """The bot's idea of now; tests set and advance it instead of sleeping."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self.now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def _question(qid: str, text: str, answer: str, tags: tuple[str, ...] = ()) -> Question:
    return Question(id=qid, question=text, answer=answer, tags=tags, difficulty="medium")


def small_bank() -> Bank:
    """Two tiny decks: predictable question order, one answer long enough to split."""
    source = Source(name="Test source", attribution="Written for the tests.")
    long_answer = "\n\n".join(f"Paragraph {i}: " + "gradient " * 60 for i in range(12))
    ml = Deck(
        id="ml",
        title="Machine Learning",
        description="Classic ML.",
        source=source,
        questions=(
            _question(
                "bias-variance",
                "What is the bias-variance trade-off?",
                "- **Bias**: error from wrong assumptions\n- *Variance*: sensitivity to noise",
                ("statistics",),
            ),
            _question(
                "l1-vs-l2",
                "L1 vs L2 regularization?",
                "L1 gives sparsity; L2 shrinks: \\(\\lambda \\|w\\|_2^2\\).",
                ("regularization",),
            ),
            _question("long-one", "Explain gradient descent at length.", long_answer),
        ),
    )
    nlp = Deck(
        id="nlp",
        title="NLP",
        description="Language models.",
        source=source,
        questions=(
            _question(
                "attention",
                "What is attention?",
                "```python\nsoftmax(q @ k.T) @ v\n```",
                ("attention",),
            ),
            _question("bpe", "What is BPE?", "Byte-pair encoding <merges> frequent pairs & more."),
        ),
    )
    return Bank((ml, nlp))


def test_settings(api_root: str, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "bot_token": TOKEN,
        "telegram_api_url": api_root,
        "database_url": database_url,
        "content_dir": REPO_ROOT / "content",
        "send_rate_limit": 0,
        "dispatch_interval_seconds": 0.05,
        "default_timezone": "UTC",
        "default_delivery_time": "09:00",
        # Pictures at once: tests ask for several in a row (the pause is for crowds).
        "stats_picture_share": 1.0,
        # Deck files are read in a thread: a worker process costs a spawn (half a second)
        # per bot; tests/e2e/test_deck_parser.py runs the process pool.
        "deck_parse_workers": 0,
        # No background warm-up: it would spend a second of CPU in every test's bot
        # (tests/study/test_warm_up.py tests it).
        "warm_up_after_seconds": 0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


test_settings.__test__ = False  # type: ignore[attr-defined]


@dataclass
class RunningBot:
    application: BotApplication
    clock: FakeClock

    @property
    def services(self) -> Services:
        services = self.application.bot_data.services
        assert services is not None
        return services


@asynccontextmanager
async def running_bot(
    settings: Settings, clock: FakeClock, *, bank: Bank | None = None
) -> AsyncIterator[RunningBot]:
    """Start the Application the way run_polling does, and stop it cleanly."""
    application = build_application(settings, clock=clock, bank=bank or small_bank())
    await application.initialize()
    assert application.post_init is not None
    await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(
        poll_interval=0.0,
        timeout=1,
        allowed_updates=ALLOWED_UPDATES,
        drop_pending_updates=False,
    )
    await application.start()
    try:
        yield RunningBot(application, clock)
    finally:
        # As bot.service.lifecycle does on SIGTERM: no dispatcher tick begins work while stopping.
        if application.bot_data.services is not None:
            application.bot_data.services.stopping.set()
        await application.updater.stop()
        await application.stop()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
        await application.shutdown()


def write_bank(bank: Bank, directory: Path) -> Path:
    """Write a bank as deck YAML files (for a bot started as a separate process)."""
    import yaml

    directory.mkdir(parents=True, exist_ok=True)
    for deck in bank.decks:
        data = deck.model_dump(mode="json", exclude_none=True)
        questions = data.pop("questions")
        text = yaml.safe_dump(
            {"deck": data, "questions": questions}, allow_unicode=True, sort_keys=False
        )
        (directory / f"{deck.id}.yaml").write_text(text, encoding="utf-8")
    return directory


@dataclass
class RunningService:
    """A bot started the way ``interview-bot run`` starts it (bot.service.lifecycle.BotService)."""

    service: BotService
    clock: FakeClock

    @property
    def application(self) -> BotApplication:
        return self.service.application

    @property
    def services(self) -> Services:
        services = self.service.application.bot_data.services
        assert services is not None
        return services

    @property
    def http_root(self) -> str:
        """``http://127.0.0.1:PORT`` of the bot's HTTP server (webhook, /healthz, /metrics)."""
        assert self.service.web is not None, "set http_listen (or webhook_url) to get one"
        return f"http://127.0.0.1:{self.service.web.port}"


@asynccontextmanager
async def running_service(
    settings: Settings, clock: FakeClock, *, bank: Bank | None = None
) -> AsyncIterator[RunningService]:
    """Start the bot through BotService (polling or webhook, with its HTTP server)."""
    application = build_application(settings, clock=clock, bank=bank or small_bank())
    service = BotService(application, settings, poll_interval=0.0, poll_timeout=1)
    try:
        await service.start()
        yield RunningService(service, clock)
    finally:
        await service.stop()
