"""What /decks and an uploaded deck's reply say (HTML; a deck's title is escaped)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.own_decks import DeckChanges
from bot.rendering.text import escape_html
from bot.storage.decks import StoredDeck

HOW_TO = (
    "<b>Your own decks</b>\n"
    "Send me a file here and it becomes a deck you study like the built-in ones: "
    "<code>.yaml</code> (this bot's deck format), <code>.csv</code>/<code>.tsv</code> "
    "(a spreadsheet saved as UTF-8) or <code>.apkg</code> (Anki). A CSV needs a header row "
    "with <code>question</code> and <code>answer</code>; <code>tags</code>, <code>id</code> "
    "and <code>difficulty</code> are optional:\n"
    "<pre>question,answer,tags\n"
    "What is overfitting?,A model that learned the noise of its training data.,ml basics\n"
    "What does ReLU compute?,max(0; x),deep-learning</pre>\n"
    "At most 50 decks and 20 uploads an hour. Replace uploads a new version (progress on "
    "unchanged questions is kept); Delete removes a deck for everyone."
)
NO_DECKS = "You have no deck of your own yet."
TOO_MANY_UPLOADS = "That is 20 uploads in the last hour, the most I take. Try again a little later."
TOO_MANY_DECKS = "You have 50 decks, the most one person can have. Delete one in /decks first."
DOWNLOAD_FAILED = "I could not download that file from Telegram. Please send it again."
STILL_READING = (
    "I am still reading your previous deck file. Send this one again once I have answered."
)
READERS_BUSY = "I am reading many deck files right now. Please send yours again in a minute."
READER_FAILED = (
    "Something went wrong while I was reading that file, and nothing was imported. "
    "Please send it again; if it fails again, the file may be damaged."
)
NOT_YOURS = "That deck is gone, or not yours."
DELETE_KEPT = "Nothing was deleted."
REPLACE_GONE = "The deck you chose to replace was deleted meanwhile; nothing was stored."
GROUP_FILES = "Send deck files to me in a private chat (/decks explains how)."


def deck_line(deck: StoredDeck) -> str:
    count = deck.question_count
    return f"• <b>{escape_html(deck.title)}</b>: {count} question{'s' if count != 1 else ''}"


def decks_text(decks: Sequence[StoredDeck]) -> str:
    listing = "\n".join(deck_line(deck) for deck in decks) if decks else NO_DECKS
    return f"{HOW_TO}\n\n{listing}"


def imported_text(deck: StoredDeck, changes: DeckChanges | None, dropped_media: int) -> str:
    title = escape_html(deck.title)
    if changes is None:
        count = deck.question_count
        head = (
            f"Imported <b>{title}</b>: {count} question{'s' if count != 1 else ''}. "
            "It is on in /topics; /quiz and the daily question use it."
        )
    else:
        head = (
            f"Replaced <b>{title}</b>: {changes.new} new, {changes.changed} changed, "
            f"{changes.removed} removed. Progress on the other questions is kept."
        )
    if dropped_media:
        head += (
            f"\n{dropped_media} media file{'s were' if dropped_media != 1 else ' was'} dropped "
            "(pictures and sounds are not shown)."
        )
    return head


def replace_prompt(deck: StoredDeck) -> str:
    return (
        f"Send the new version of <b>{escape_html(deck.title)}</b> as a file within the hour; "
        "questions whose id is unchanged keep their progress."
    )


def delete_prompt(deck: StoredDeck) -> str:
    return (
        f"Delete <b>{escape_html(deck.title)}</b> for good, for everyone who studies it? "
        "Their history stays in /export."
    )


def deleted_text(deck: StoredDeck) -> str:
    return f"Deleted <b>{escape_html(deck.title)}</b>."
