"""The composition root: builds the Application and registers every handler, in order."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import texts
from bot.config import Settings
from bot.content.check import load_checked_bank
from bot.context import BotApplication, BotContext, BotData, Services
from bot.dispatch import dispatch_due
from bot.domain.clock import Clock, system_clock
from bot.domain.content import Bank
from bot.handlers import (
    activity,
    buttons,
    errors,
    groups,
    onboarding,
    quiz,
    settings,
    stats,
    study,
    typed,
)
from bot.http import AiohttpRequest
from bot.storage.database import create_engine, create_sessionmaker, migrate

log = logging.getLogger(__name__)

# Connections for sending: the dispatcher's concurrency plus room for handlers.
SEND_CONNECTIONS = 32


def build_application(
    config: Settings, *, clock: Clock = system_clock, bank: Bank | None = None
) -> BotApplication:
    """A ready-to-run Application; resources open in post_init and close in post_shutdown."""

    async def post_init(application: BotApplication) -> None:
        engine = create_engine(config.database_url)
        await migrate(engine)
        loaded = bank or load_checked_bank(config.content_dir)
        application.bot_data.services = Services(
            settings=config,
            bank=loaded,
            engine=engine,
            sessions=create_sessionmaker(engine),
            clock=clock,
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
            job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
        )
        log.info("ready: %d questions in %d decks", len(loaded), len(loaded.decks))

    async def post_shutdown(application: BotApplication) -> None:
        await typed.close_model_grader(application)
        services = application.bot_data.services
        if services is not None:
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
        .concurrent_updates(False)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if config.send_rate_limit > 0:
        # PTB's default max_retries is 0: RetryAfter would reach the caller at once.
        # Groups: at most 20 messages a minute each (long answers, quiz questions).
        limiter = AIORateLimiter(
            overall_max_rate=config.send_rate_limit,
            overall_time_period=1,
            group_max_rate=20,
            group_time_period=60,
            max_retries=3,
        )
        builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]
    application: BotApplication = builder.build()
    register_handlers(application)
    return application


async def _dispatch_job(context: BotContext) -> None:
    """The periodic dispatcher tick (one job for every chat, see bot.dispatch)."""
    await dispatch_due(context.bot, context.services)


def register_handlers(application: BotApplication) -> None:
    """Every handler, in the order Telegram updates should meet them."""
    private = filters.ChatType.PRIVATE
    groups_only = filters.ChatType.GROUPS
    # Group -1 runs first for every update: wake up chats that had blocked the bot.
    application.add_handler(TypeHandler(Update, activity.reactivate_on_activity), group=-1)
    # The bot joining or leaving a group, and a group becoming a supergroup.
    application.add_handler(
        ChatMemberHandler(groups.bot_membership_changed, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, groups.chat_migrated))
    # Onboarding and help.
    application.add_handler(CommandHandler("start", onboarding.start_command, filters=private))
    application.add_handler(CommandHandler("start", groups.group_start, filters=groups_only))
    application.add_handler(CommandHandler("help", onboarding.help_command))
    # Studying: today's question, extra ones, the answer; quizzes anywhere.
    application.add_handler(
        CommandHandler(["question", "today"], study.question_command, filters=private)
    )
    application.add_handler(CommandHandler(["next", "more"], study.next_command, filters=private))
    application.add_handler(CommandHandler("answer", study.answer_command, filters=private))
    application.add_handler(CommandHandler("quiz", quiz.quiz_command))
    # Progress: a person's stats in private, the group's in groups, and the leaderboard.
    application.add_handler(CommandHandler("stats", stats.stats_command, filters=private))
    application.add_handler(CommandHandler("stats", groups.group_stats, filters=groups_only))
    application.add_handler(
        CommandHandler(["top", "leaderboard"], groups.top_command, filters=groups_only)
    )
    # Settings (in groups: admins only, checked in the handlers).
    application.add_handler(CommandHandler("settings", settings.settings_command))
    application.add_handler(CommandHandler("time", settings.time_command))
    application.add_handler(CommandHandler(["timezone", "tz"], settings.timezone_command))
    application.add_handler(CommandHandler("days", settings.days_command))
    application.add_handler(CommandHandler(["topics", "decks"], settings.topics_command))
    application.add_handler(CommandHandler("pause", settings.pause_command))
    application.add_handler(CommandHandler("resume", settings.resume_command))
    application.add_handler(MessageHandler(filters.LOCATION & private, settings.location_message))
    # Data protection.
    application.add_handler(CommandHandler("forget", onboarding.forget_command, filters=private))
    # Every inline button, versioned payloads decoded in one place.
    application.add_handler(CallbackQueryHandler(buttons.button_pressed))
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
