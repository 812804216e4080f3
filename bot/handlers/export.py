"""/export: what the bot knows about a person, as two files they keep (bot.study.export)."""

from __future__ import annotations

from telegram import InputFile, Update

from bot.handlers.common import now_of, reply
from bot.service.context import BotContext
from bot.study.export import export

NOTHING = "I have nothing stored about you yet. /start subscribes you."


async def export_command(update: Update, context: BotContext) -> None:
    """/export: reviews.csv and data.json, as documents."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    files = await export(context.services, person_id=user.id, now=now_of(context))
    if files is None:
        await reply(update, NOTHING)
        return
    with files.reviews_csv as csv_file:
        await message.reply_document(
            # The upload itself needs the bytes (a year of reviews: ~60 kB).
            InputFile(csv_file.read(), filename="reviews.csv"),
            caption=f"Your {files.reviews} reviews, one row per grade.",
        )
    await message.reply_document(
        InputFile(files.data_json.encode(), filename="data.json"),
        caption="Your settings, cards (with their FSRS state) and streaks.",
    )
