"""The `interview-bot` command line: `run` and `content check|stats|preview`.

Building decks from the source documents is a one-off developer tool, outside the
runtime package: `python -m tools.seed_importers` (tools/seed_importers/).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.content.problems import BankError

if TYPE_CHECKING:
    from bot.service.config import Settings
log = logging.getLogger("bot")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="interview-bot",
        description="A Telegram bot for machine-learning interview practice.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot (long polling or webhook; configuration from env/.env)")
    content = sub.add_parser("content", help="work with the question bank").add_subparsers(
        dest="content_command", required=True
    )
    check = content.add_parser("check", help="validate a bank directory")
    check.add_argument("directory", nargs="?", type=Path, default=Path("content"))
    stats = content.add_parser("stats", help="counts per deck, tag and difficulty")
    stats.add_argument("directory", nargs="?", type=Path, default=Path("content"))
    preview = content.add_parser(
        "preview", help="print the messages one question and its answer would be sent as"
    )
    preview.add_argument("question_id", help="the question's id, as in the deck file")
    preview.add_argument(
        "--html", action="store_true", help="the Telegram-HTML fallback instead of rich messages"
    )
    preview.add_argument(
        "--group", action="store_true", help="the group form (the answer hidden until tapped)"
    )
    preview.add_argument(
        "--content", type=Path, default=Path("content"), help="the bank directory (content/)"
    )
    return parser


def _content_check(directory: Path) -> int:
    from bot.content.check import check_bank, summary_line

    report = check_bank(directory)
    if report.bank is None or report.problems:
        for problem in report.problems:
            print(problem, file=sys.stderr)
        print(f"{len(report.problems)} problem(s) found in {directory}", file=sys.stderr)
        return 1
    print(summary_line(report.bank))
    return 0


def _content_stats(directory: Path) -> int:
    from bot.content.check import load_checked_bank, stats_lines

    try:
        bank = load_checked_bank(directory)
    except BankError as error:
        print(error, file=sys.stderr)
        return 1
    print("\n".join(stats_lines(bank)))
    return 0


def _content_preview(directory: Path, question_id: str, *, html: bool, group: bool) -> int:
    from bot.content.loader import load_bank
    from bot.content.preview import PreviewError, preview
    from bot.rendering import RenderError

    try:
        bank = load_bank(directory)
        print(preview(bank, question_id, html=html, group=group))
    except BankError as error:
        print(f"The question bank in {directory} has problems:\n{error}", file=sys.stderr)
        return 1
    except (PreviewError, RenderError) as error:
        print(error, file=sys.stderr)
        return 1
    return 0


def _run() -> int:
    from bot.service.gc_tuning import tune_for_start_up

    tune_for_start_up()  # before the imports below: they are most of start-up
    from bot.service.config import ConfigError, load_settings
    from bot.service.logs.setup import configure_logging

    try:
        settings = load_settings()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    configure_logging(settings.log_level, secrets=settings.secrets, log_format=settings.log_format)
    from bot.service.lifecycle import SingleInstanceError, single_instance
    from bot.service.web import ListenError

    try:
        with single_instance(settings.database_url):
            return _serve(settings)
    except (SingleInstanceError, ListenError) as error:
        print(error, file=sys.stderr)
        return 2


def _serve(settings: Settings) -> int:
    """Load the bank, then run until SIGTERM/SIGINT (bot/service/lifecycle.py)."""
    import asyncio

    from sqlalchemy.engine import make_url
    from telegram.error import TelegramError

    from bot.app import build_application
    from bot.content.cache import load_bank_cached
    from bot.service.db_outage import is_unavailable
    from bot.service.lifecycle import run
    from bot.service.logs.setup import TokenRedactingFilter

    try:
        bank = load_bank_cached(settings.content_dir, settings.cache_dir)
    except BankError as error:
        print(
            f"The question bank in {settings.content_dir} has problems:\n{error}", file=sys.stderr
        )
        return 1
    application = build_application(settings, bank=bank)
    log.info(
        "starting interview-bot (%d questions), Bot API %s", len(bank), settings.telegram_api_url
    )
    try:
        asyncio.run(run(application, settings))
    except TelegramError as error:  # a revoked token, setWebhook refused, no network
        # PTB quotes the token in InvalidToken's message: redact like every log line.
        message = TokenRedactingFilter(settings.secrets).redact(str(error))
        print(f"Could not start: the Bot API call failed: {message}", file=sys.stderr)
        return 1
    except Exception as error:
        if not is_unavailable(error):
            raise
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        print(f"Cannot reach the database at {where}: {error.__class__.__name__}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return _run()
    if args.content_command == "check":
        return _content_check(args.directory)
    if args.content_command == "preview":
        return _content_preview(args.content, args.question_id, html=args.html, group=args.group)
    return _content_stats(args.directory)
