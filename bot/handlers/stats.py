"""/stats: streaks, grades, retention, what is due, what is left (the picture's caption)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from telegram import Update

from bot import texts
from bot.context import BotContext
from bot.domain.schedule import end_of_local_day, local_date_of
from bot.domain.srs import Rating
from bot.domain.streaks import compute_streak
from bot.handlers import progress
from bot.handlers.common import NOT_SUBSCRIBED, now_of, reply
from bot.storage import learning

WEEK = timedelta(days=7)


async def stats_command(update: Update, context: BotContext) -> None:
    """/stats: the person's progress, in their own time zone.

    Three reads (bot.storage.learning.study_snapshot); the counts are derived
    from the one list of grades.
    """
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    services = context.services
    now = now_of(context)
    async with services.autocommit() as session:
        snapshot = await learning.study_snapshot(user.id, session=session)
    if snapshot is None:
        await reply(update, NOT_SUBSCRIBED)
        return
    settings, history, cards = snapshot.settings, snapshot.history, snapshot.cards
    today = local_date_of(now, snapshot.timezone)
    streak = compute_streak((mark for mark, _ in history), today=today)
    bank = services.bank
    selected = [deck for deck in bank.decks if deck.id in settings.decks]
    horizon = end_of_local_day(now, snapshot.timezone)
    due_now = sum(
        1
        for question_id, card in cards.items()
        if card.due <= horizon
        and (deck := bank.deck_of(question_id)) is not None
        and deck.id in settings.decks
    )
    # Counted from what the person has seen (a few dozen ids), not by walking the bank.
    seen_per_deck = Counter(
        deck.id
        for question_id in set(cards) | snapshot.delivered
        if (deck := bank.deck_of(question_id)) is not None
    )
    new_left = [(deck.title, len(deck.questions) - seen_per_deck[deck.id]) for deck in selected]
    remembered = {int(Rating.GOOD), int(Rating.EASY)}
    view = texts.StatsView(
        streak=streak,
        total=len(history),
        this_week=sum(1 for mark, _ in history if mark.at >= now - WEEK),
        good_or_easy=sum(1 for _, rating in history if rating in remembered),
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
        caption=texts.stats_text(view),
    )
