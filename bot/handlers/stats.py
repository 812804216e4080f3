"""/stats: streaks, grades, retention, what is due, what is left (the picture's caption)."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update

from bot import texts
from bot.context import BotContext
from bot.domain.schedule import end_of_local_day, local_date_of
from bot.domain.srs import Rating
from bot.domain.streaks import compute_streak
from bot.handlers import progress
from bot.handlers.common import NOT_SUBSCRIBED, load_chat, now_of, reply
from bot.storage import deliveries as delivery_store
from bot.storage import learning, people


async def stats_command(update: Update, context: BotContext) -> None:
    """/stats: the person's progress, in their own time zone."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    services = context.services
    now = now_of(context)
    async with services.sessions() as session:
        person = await people.get_person(user.id, session=session)
        settings = await load_chat(chat.id, session=session, services=services)
        if person is None or settings is None:
            await reply(update, NOT_SUBSCRIBED)
            return
        marks = await learning.study_marks(user.id, session=session)
        all_time = await learning.rating_counts(user.id, session=session)
        week = await learning.rating_counts(user.id, session=session, since=now - timedelta(days=7))
        cards = await learning.cards_of(user.id, session=session)
        delivered = await delivery_store.delivered_question_ids(chat.id, session=session)
    streak = compute_streak(marks, today=local_date_of(now, person.timezone))
    bank = services.bank
    selected = [deck for deck in bank.decks if deck.id in settings.decks]
    horizon = end_of_local_day(now, person.timezone)
    due_now = sum(
        1
        for question_id, card in cards.items()
        if card.due <= horizon
        and (deck := bank.deck_of(question_id)) is not None
        and deck.id in settings.decks
    )
    seen = set(cards) | delivered
    new_left = [
        (deck.title, sum(1 for q in deck.questions if q.id not in seen)) for deck in selected
    ]
    view = texts.StatsView(
        streak=streak,
        total=sum(all_time.values()),
        this_week=sum(week.values()),
        good_or_easy=all_time.get(int(Rating.GOOD), 0) + all_time.get(int(Rating.EASY), 0),
        due_now=due_now,
        new_left=new_left,
    )
    await progress.send_person_stats(
        update,
        context,
        person_id=user.id,
        name=user.first_name or "",
        timezone=person.timezone,
        streak=streak,
        caption=texts.stats_text(view),
    )
