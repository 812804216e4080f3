"""The composition root: builds the Application and registers every handler, in order."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from bot.content.cache import load_bank_cached
from bot.domain.clock import Clock, system_clock
from bot.domain.content import Bank
from bot.handlers import (
    activity,
    buttons,
    deck_sharing,
    decks,
    edits,
    errors,
    export,
    group_commands,
    group_decks,
    groups,
    onboarding,
    quiz,
    settings,
    stats,
    study,
    typed,
    weak,
)
from bot.handlers import reminder_settings as reminders
from bot.jobs import notices
from bot.jobs.dispatch import dispatch_due
from bot.jobs.streak_reminders import remind_due
from bot.rendering import texts
from bot.rendering.picture_pool import drawing_of
from bot.service import db_outage
from bot.service.config import Settings
from bot.service.context import BotApplication, BotContext, BotData, Services
from bot.service.deck_parser import DeckParser
from bot.service.metrics import MeasuredUpdateProcessor, rate_limiter_waiting
from bot.service.repeated_failures import RepeatedFailures
from bot.storage import retention
from bot.storage.database import create_engine, create_sessionmaker, migrate
from bot.study import model_grader
from bot.study.warm_up import warm_up
from bot.telegram.http import AiohttpRequest
from bot.telegram.inflight import InFlightUpdates
from bot.telegram.ratelimit import PriorityRateLimiter
from bot.telegram.send_budget import SharedBudget
from bot.telegram.updates import PerChatUpdateProcessor

log = logging.getLogger(__name__)

# Connections for sending: the dispatcher's concurrency plus room for handlers.
SEND_CONNECTIONS = 32
PRUNE_HISTORY_EVERY = timedelta(hours=1)


def build_application(
    config: Settings, *, clock: Clock = system_clock, bank: Bank | None = None
) -> BotApplication:
    """A ready-to-run Application; resources open in post_init and close in post_shutdown."""

    async def post_init(application: BotApplication) -> None:
        engine = create_engine(config.database_url, pool_size=config.database_pool_size)
        await migrate(engine)
        loaded = bank or load_bank_cached(config.content_dir, config.cache_dir)
        application.bot_data.services = Services(
            settings=config,
            bank=loaded,
            engine=engine,
            sessions=create_sessionmaker(engine),
            clock=clock,
            deck_parser=DeckParser(config.deck_parse_workers),
        )
        await application.bot.set_my_commands(
            [BotCommand(n, d) for n, d in texts.COMMANDS], scope=BotCommandScopeAllPrivateChats()
        )
        await application.bot.set_my_commands(
            [BotCommand(n, d) for n, d in texts.GROUP_COMMANDS],
            scope=BotCommandScopeAllGroupChats(),
        )
        assert application.job_queue is not None
        application.job_queue.run_repeating(
            _dispatch_job,
            interval=timedelta(seconds=config.dispatch_interval_seconds),
            first=timedelta(seconds=0),
            name="dispatcher",
            # A tick that finds another running returns at once (_dispatch_job), but it is
            # counted as running until the event loop gets to its done callback: with a
            # busy loop (a picture drawing) a third tick could come due first, and
            # APScheduler would log a warning for it. The lock, not this, is the bound.
            job_kwargs={"max_instances": 16, "coalesce": True, "misfire_grace_time": None},
        )
        # One-off notices (the decks someone added are gone) left in the outbox by a crash
        # or a restart, or not sent by the run kicked after the reply (bot/jobs/notices.py);
        # on every instance, as often as the dispatcher. Same overlap rule as the dispatcher.
        application.job_queue.run_repeating(
            _notices_job,
            interval=timedelta(seconds=config.dispatch_interval_seconds),
            first=timedelta(seconds=0),
            name="notices",
            job_kwargs={"max_instances": 16, "coalesce": True, "misfire_grace_time": None},
        )
        application.job_queue.run_repeating(
            _prune_history_job,
            interval=PRUNE_HISTORY_EVERY,
            first=timedelta(minutes=5),
            name="prune-history",
        )
        if config.warm_up_after_seconds > 0:
            # What the first crowd after a restart would pay for (answers rendered, the
            # picture library loaded), done in the background once the bot answers.
            application.job_queue.run_once(
                _warm_up_job, when=timedelta(seconds=config.warm_up_after_seconds), name="warm-up"
            )
        log.info("ready: %d questions in %d decks", len(loaded), len(loaded.decks))

    async def post_shutdown(application: BotApplication) -> None:
        await model_grader.close_shared_grader(application.bot_data.extras)
        services = application.bot_data.services
        if services is not None:
            await services.deck_parser.close()
            await db_outage.close(services.engine)
            await services.engine.dispose()

    builder = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(f"{config.telegram_api_url}/bot")
        .base_file_url(f"{config.telegram_api_url}/file/bot")
        .request(AiohttpRequest(connection_pool_size=SEND_CONNECTIONS))
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=None))
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        # Chats concurrently, each chat's updates in order (bot/telegram/updates.py), each
        # timed for /metrics and tagged for the logs (bot/service/metrics.py), each one's end
        # known to the webhook and cut short at the shutdown limit (bot/telegram/inflight.py).
        .concurrent_updates(
            InFlightUpdates(
                MeasuredUpdateProcessor(PerChatUpdateProcessor(config.concurrent_updates))
            )
        )
        # One budget of Telegram's limits; replies before broadcast (bot/telegram/ratelimit.py),
        # shared by every instance on PostgreSQL (bot/telegram/send_budget.py).
        .rate_limiter(
            PriorityRateLimiter(
                config.send_rate_limit,
                on_wait_change=rate_limiter_waiting,
                shared=SharedBudget(config.database_url)
                if SharedBudget.suits(config.database_url)
                else None,
            )
        )
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    application: BotApplication = builder.build()
    register_handlers(application)
    return application


async def _prune_history_job(context: BotContext) -> None:
    """Drop the rows the retention rules say nobody needs (bot/storage/retention.py)."""
    services = context.services
    if services.stopping.is_set():
        return
    try:
        removed = await retention.prune(
            services.engine,
            now=services.clock(),
            retention_days=services.settings.history_retention_days,
        )
    except (SQLAlchemyError, OSError) as error:
        log.warning("pruning old rows failed, will retry: %s", type(error).__name__)
        return
    if removed:
        log.info("pruned %d old rows (HISTORY_RETENTION_DAYS)", removed)


async def _notices_job(context: BotContext) -> None:
    """Send what the notices outbox holds, one bounded run at a time (a run still going
    makes the next one return at once, as for the dispatcher); never while stopping."""
    lock = context.bot_data.noticing
    if lock.locked() or context.services.stopping.is_set():
        return
    async with lock:
        await notices.kick(context.bot, context.services)


async def _warm_up_job(context: BotContext) -> None:
    """Warm the answers and the picture library (bot/study/warm_up.py), once."""
    services = context.services
    await warm_up(
        services.bank,
        drawing_of(context.bot_data.extras),
        rich=services.rich.on,
        stopping=services.stopping.is_set,
    )


async def _dispatch_job(context: BotContext) -> None:
    """The periodic dispatcher tick: daily questions, then streak reminders (one job
    for every chat, see bot.jobs.dispatch and bot.jobs.streak_reminders).

    A tick can outlast the interval (a broadcast at Telegram's limit takes
    minutes); the next one then returns at once. Done here rather than with
    APScheduler's ``max_instances=1``, which logs a warning on every skipped tick.
    A failing tick is logged once per distinct failure (an outage once in all, by
    DatabaseStatus), not on every tick.
    """
    lock = context.bot_data.dispatching
    if lock.locked() or context.services.stopping.is_set():
        # Stopping: a tick started while the job queue shuts down would be cancelled
        # in the middle of a query; it must not begin one.
        return
    failures = context.bot_data.tick_failures
    if failures is None:
        failures = context.bot_data.tick_failures = RepeatedFailures("dispatcher tick")
    async with lock:
        try:
            await dispatch_due(context.bot, context.services)
            await remind_due(context.bot, context.services)
        except Exception as error:  # logged once per distinct failure; the next tick retries
            failures.failed(error, context.services)
        else:
            failures.succeeded()


def register_handlers(application: BotApplication) -> None:
    """Every handler, in the order Telegram updates should meet them."""
    private = filters.ChatType.PRIVATE
    groups_only = filters.ChatType.GROUPS
    # Edits first: an edited message runs nothing (at most one line says so).
    application.add_handler(MessageHandler(filters.UpdateType.EDITED, edits.edited_message))
    # The bot blocked/unblocked in a private chat, added to/removed from a group;
    # a group becoming a supergroup.
    application.add_handler(
        ChatMemberHandler(activity.bot_membership_changed, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, groups.chat_migrated))
    # Onboarding and help.
    # A shared deck's link (t.me/<bot>?start=d-<code>) before the plain /start.
    application.add_handler(
        CommandHandler(
            "start",
            deck_sharing.start_with_link,
            filters=private & filters.Regex(r"^/start(@\w+)?\s+d-"),
        )
    )
    application.add_handler(CommandHandler("start", onboarding.start_command, filters=private))
    application.add_handler(CommandHandler("start", groups.group_start, filters=groups_only))
    application.add_handler(CommandHandler("help", onboarding.help_command))
    # Studying: today's question, extra ones, the answer; quizzes anywhere.
    application.add_handler(
        CommandHandler(["question", "today"], study.question_command, filters=private)
    )
    application.add_handler(CommandHandler(["next", "more"], study.next_command, filters=private))
    application.add_handler(CommandHandler("answer", study.answer_command, filters=private))
    application.add_handler(
        CommandHandler(["question", "today"], group_commands.group_question, filters=groups_only)
    )
    application.add_handler(CommandHandler("quiz", quiz.quiz_command))
    # Progress: a person's stats in private, the group's in groups, and the leaderboard.
    application.add_handler(CommandHandler("stats", stats.stats_command, filters=private))
    application.add_handler(CommandHandler("stats", groups.group_stats, filters=groups_only))
    application.add_handler(
        CommandHandler(["top", "leaderboard"], groups.top_command, filters=groups_only)
    )
    application.add_handler(CommandHandler("weak", weak.weak_command, filters=private))
    application.add_handler(CommandHandler("remind", reminders.remind_command, filters=private))
    # Settings (in groups: admins only, checked in the handlers).
    application.add_handler(CommandHandler("settings", settings.settings_command))
    application.add_handler(CommandHandler("time", settings.time_command))
    application.add_handler(CommandHandler(["timezone", "tz"], settings.timezone_command))
    application.add_handler(CommandHandler("days", settings.days_command))
    application.add_handler(CommandHandler("decks", decks.decks_command, filters=private))
    # A group's decks (admins): the built-in ones and the admin's own and added ones.
    # /topics in a group is the same menu (an own deck switched off can come back on).
    application.add_handler(
        CommandHandler(["decks", "topics"], group_decks.group_decks_command, filters=groups_only)
    )
    application.add_handler(CommandHandler(["topics", "decks"], settings.topics_command))
    application.add_handler(CommandHandler("pause", settings.pause_command))
    application.add_handler(CommandHandler("resume", settings.resume_command))
    application.add_handler(MessageHandler(filters.LOCATION & private, settings.location_message))
    # Decks of one's own, in a private chat: /decks lists them; a file imports one.
    # (/decks in a group is the group's decks, above: the registration order decides.)
    application.add_handler(MessageHandler(filters.Document.ALL & private, decks.document_message))
    # In a group, a file captioned /decks from an admin becomes one of the group's decks.
    application.add_handler(
        MessageHandler(
            filters.Document.ALL & groups_only & filters.CaptionRegex(r"^/decks(@\w+)?(\s|$)"),
            group_decks.group_document,
        )
    )
    # Data protection.
    application.add_handler(CommandHandler("forget", onboarding.forget_command, filters=private))
    application.add_handler(CommandHandler("export", export.export_command, filters=private))
    # Private-only commands in a group: one line and a button to the private chat.
    application.add_handler(
        CommandHandler(
            ["next", "more", "answer", "forget", "export", "weak", "remind"],
            group_commands.private_only,
            filters=groups_only,
        )
    )
    # Every inline button, versioned payloads decoded in one place.
    application.add_handler(CallbackQueryHandler(buttons.button_pressed))
    # After every other handler (and the error handler): a press nobody answered.
    application.add_handler(CallbackQueryHandler(buttons.answer_unanswered), group=1)
    # A reply to a question in a group: typed answers are checked in private (typed.py).
    application.add_handler(
        MessageHandler(
            groups_only & filters.REPLY & filters.TEXT & ~filters.COMMAND, typed.group_reply
        )
    )
    # Anything else typed in a private chat: a typed answer (typed.py), or a pointer to /help.
    application.add_handler(MessageHandler(private & filters.COMMAND, _unknown_command))
    application.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, _plain_text))
    application.add_error_handler(errors.error_handler)


async def _unknown_command(update: Update, context: BotContext) -> None:
    """An unknown /command: say so and point to /help."""
    if update.effective_message:
        await update.effective_message.reply_text(
            "I don't know that command. /help lists what I can do."
        )


async def _plain_text(update: Update, context: BotContext) -> None:
    """Free text: a typed answer if it is one; otherwise say what the bot does."""
    if await typed.take_typed_answer(update, context):
        return
    if update.effective_message:
        await update.effective_message.reply_text(
            "I work with commands: /question for today's question, /help for everything else."
        )
