"""One entry point for inline buttons: decode the payload, route it, answer stale ones."""

from __future__ import annotations

from telegram import Update

from bot.handlers import (
    deck_sharing,
    decks,
    group_decks,
    onboarding,
    quiz,
    settings,
    study,
    typed,
    weak,
)
from bot.handlers import reminder_settings as reminders
from bot.handlers.common import toast
from bot.service.context import BotContext
from bot.telegram import callbacks as cb

STALE = "This button has expired. Send /help to see what I can do."


async def button_pressed(update: Update, context: BotContext) -> None:
    """Route a callback query by its decoded action; stale or forged data gets a toast."""
    query = update.callback_query
    if query is None:
        return
    action = cb.decode(query.data)
    match action:
        case cb.Reveal():
            await study.reveal_button(update, context, action)
        case cb.Grade():
            await study.grade_button(update, context, action)
        case cb.Skip():
            await study.skip_button(update, context, action)
        case cb.FirstQuestion():
            await toast(update, "")
            await study.question_command(update, context)
        case cb.NextQuestion():
            await toast(update, "")
            await study.next_command(update, context)
        case cb.OpenSettings():
            await settings.open_settings_button(update, context, action)
        case cb.SetTime():
            await settings.set_time_button(update, context, action)
        case cb.SetDays():
            await settings.set_days_button(update, context, action)
        case cb.ToggleDay():
            await settings.toggle_day_button(update, context, action)
        case cb.ToggleDeck():
            await settings.toggle_deck_button(update, context, action)
        case cb.SetPaused():
            await settings.set_paused_button(update, context, action)
        case cb.Forget():
            await onboarding.forget_button(update, context, action)
        case cb.Noop():
            await toast(update, "Already saved.")
        case cb.QuizPick():
            await quiz.quiz_pick_button(update, context, action)
        case cb.QuizStop():
            await quiz.quiz_stop_button(update, context, action)
        case cb.QuizNext():
            await quiz.quiz_next_button(update, context, action)
        case cb.WeakQuiz():
            await weak.weak_quiz_button(update, context, action)
        case cb.SetReminder():
            await reminders.set_reminder_button(update, context, action)
        case cb.TypeAnswer():
            await typed.type_button(update, context, action)
        case cb.KeepTyped():
            await typed.keep_button(update, context, action)
        case cb.ManageDeck():
            await decks.manage_button(update, context, action)
        case cb.ShareDeck():
            await deck_sharing.share_button(update, context, action)
        case cb.DeckMenu():
            await deck_sharing.deck_menu_button(update, context, action)
        case cb.RemoveAddedDeck():
            await deck_sharing.remove_button(update, context, action)
        case cb.AddSharedDeck():
            await deck_sharing.add_button(update, context, action)
        case cb.DownloadDecks():
            await deck_sharing.downloads_button(update, context, action)
        case cb.DownloadDeck():
            await deck_sharing.download_button(update, context, action)
        case cb.GroupDeck():
            await group_decks.group_deck_button(update, context, action)
        case None:
            await toast(update, STALE)


async def answer_unanswered(update: Update, context: BotContext) -> None:
    """The last resort (a later handler group): a press no handler answered, because it
    returned early or failed without answering, is answered now, silently. Telegram
    shows a spinner on the button until a press is answered."""
    await toast(update, "")
