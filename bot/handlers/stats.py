"""/stats: streaks, grades, retention, what is due, what is left (the picture's caption)."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update

from bot.domain.schedule import local_date_of
from bot.domain.streaks import compute_streak_of_history
from bot.handlers import stats_picture as progress
from bot.handlers.common import NOT_SUBSCRIBED, now_of, reply
from bot.rendering import texts
from bot.service.context import BotContext
from bot.storage import learning
from bot.study.banks import bank_for_person
from bot.study.streaks import keep_checkpoints

WEEK = timedelta(days=7)


async def stats_command(update: Update, context: BotContext) -> None:
    """/stats: the person's progress, in their own time zone.

    One read (bot.storage.learning.study_snapshot), bounded by what the message shows:
    counts in SQL, with the ids of due cards and shown questions and the runs of study
    days as arrays in the same row; a second, the person's own decks, only for someone
    who has one (the row says so). The picture reuses that bank.
    """
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    services = context.services
    now = now_of(context)
    async with services.autocommit() as session:
        snapshot = await learning.study_snapshot(
            user.id, session=session, now=now, week_start=now - WEEK
        )
    if snapshot is None:
        await reply(update, NOT_SUBSCRIBED)
        return
    settings = snapshot.settings
    today = local_date_of(now, snapshot.timezone)
    streak = compute_streak_of_history(snapshot.history, today=today)
    bank = services.bank
    if snapshot.has_decks:
        async with services.autocommit() as session:
            bank = await bank_for_person(services, user.id, session=session)
    selected = [deck for deck in bank.decks if deck.id in settings.decks]
    # Counted per deck from what the person has seen (at most the bank), in C: a year
    # of history is a few hundred ids.
    due_now = sum(
        count
        for deck_id, count in bank.deck_counts(snapshot.due).items()
        if deck_id in settings.decks
    )
    seen_per_deck = bank.deck_counts(snapshot.seen)
    new_left = [(deck.title, len(deck.questions) - seen_per_deck[deck.id]) for deck in selected]
    view = texts.StatsView(
        streak=streak,
        total=snapshot.total,
        this_week=snapshot.this_week,
        good_or_easy=snapshot.good_or_easy,
        due_now=due_now,
        new_left=new_left,
    )
    await progress.send_person_stats(
        update,
        context,
        person_id=user.id,
        name=user.first_name or "",
        timezone=snapshot.timezone,
        streak=streak,
        state=snapshot.state,
        bank=bank,
        caption=texts.stats_text(view),
    )
    await keep_checkpoints(services, {user.id: snapshot.history}, now=now)
