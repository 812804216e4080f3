"""What sharing, group decks and deck downloads say (HTML; titles and names escaped:
a deck's text is content, never markup)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.rendering.text import escape_html
from bot.storage.decks import StoredDeck


def _questions(count: int) -> str:
    return f"{count} question{'s' if count != 1 else ''}"


def _title(title: str) -> str:
    return f"<b>{escape_html(title)}</b>"


# --- sharing ---------------------------------------------------------------------------

LINK_GONE = (
    "Sorry, this link no longer works: its owner made a new one or deleted the deck. "
    "Ask them for a fresh link."
)
NOT_A_LINK = "That start link is not one of mine. /decks shows your decks."
DECK_DELETED = "This deck was deleted by its owner just now, so it was not added."
TOO_MANY_ADDED = (
    "You have added 100 decks of others, the most I keep for one person. "
    "Remove one in /decks first."
)
NOT_YOURS = "That deck is gone, or not yours."
NOT_ADDED = "That deck is gone, or not one you added."
STALE = "That button has expired. /decks shows your decks."


def share_text(deck: StoredDeck, url: str) -> str:
    return (
        f"Anyone with this link can add {_title(deck.title)} ({_questions(deck.question_count)}) "
        f"to their decks and study it:\n{escape_html(url)}\n"
        "Only you can replace or delete it; a new version reaches everyone who added it. "
        "Revoke the link to make a new one (the old one stops working; people who added the "
        "deck keep it)."
    )


def revoked_text(deck: StoredDeck, url: str) -> str:
    return "The old link no longer works. " + share_text(deck, url)


def link_text(deck: StoredDeck, owner_first_name: str, *, own: bool, added: bool) -> str:
    owner = escape_html(owner_first_name or "someone")
    head = f"{_title(deck.title)}: {_questions(deck.question_count)}, shared by {owner}."
    if own:
        return f"{head}\nThis is your own deck: /decks shows it and its link."
    if added:
        return f"{head}\nYou have added it already: it is in /topics and /quiz."
    return f"{head}\nAdd it to study it like your own decks: the daily question, /quiz, /stats."


def added_listing(decks: Sequence[StoredDeck]) -> str:
    """/decks: the decks shared with the person (empty when none)."""
    if not decks:
        return ""
    lines = "\n".join(
        f"• {_title(deck.title)}: {_questions(deck.question_count)}" for deck in decks
    )
    return f"\n\n<b>Shared with you</b> (Remove takes one out of your decks):\n{lines}"


def removed_text(deck: StoredDeck) -> str:
    return f"Removed {_title(deck.title)} from your decks. Your history stays in /export."


def added_text(deck: StoredDeck) -> str:
    return (
        f"Added {_title(deck.title)} ({_questions(deck.question_count)}). It is on in /topics; "
        "the daily question and /quiz use it."
    )


def already_text(deck: StoredDeck) -> str:
    return f"You have {_title(deck.title)} already."


def own_text(deck: StoredDeck) -> str:
    return f"{_title(deck.title)} is your own deck."


def owner_left_text(titles: Sequence[str]) -> str:
    """To someone who added decks whose owner deleted their data (/forget)."""
    listed = ", ".join(_title(title) for title in titles)
    deck_word = "deck" if len(titles) == 1 else "decks"
    return (
        f"The owner of {listed} deleted their data, and with it the {deck_word}: "
        f"{'it is' if len(titles) == 1 else 'they are'} no longer in your decks. "
        "Your history stays in /export."
    )


def deck_deleted_text(titles: Sequence[str]) -> str:
    """To someone who added a deck its owner deleted (Delete in /decks)."""
    listed = ", ".join(_title(title) for title in titles)
    return (
        f"The owner of {listed} deleted it: it is no longer in your decks. "
        "Your history stays in /export."
    )


# --- downloads ---------------------------------------------------------------------------

DOWNLOAD_PICK = (
    "<b>Take a deck with you</b>: an Anki package (<code>.apkg</code>, for every Anki "
    "version) or a YAML file in this bot's format (which you can also send back to me)."
)


def download_pick(count: int, shown: int) -> str:
    if count <= shown:
        return DOWNLOAD_PICK
    return f"{DOWNLOAD_PICK}\nThe first {shown} of your {count} decks."


def download_caption(title: str, kind: str) -> str:
    return f"{_title(title)} as {kind}."


# --- groups -----------------------------------------------------------------------------

GROUP_NOT_SUBSCRIBED = "This group is not subscribed yet. Send /start."
ANONYMOUS_UPLOAD = (
    "Send the deck from your own account, not anonymously: it becomes your deck, which "
    "you replace or delete from /decks in a private chat with me."
)
GROUP_HOW_TO = (
    "<b>This group's decks</b>: tap to switch a deck on or off (at least one stays on). "
    "The daily question and /quiz come from the decks that are on. You can choose the "
    "built-in decks and the decks you own or added (/decks in a private chat with me); "
    "or send a deck file here with <code>/decks</code> as its caption."
)


def group_deck_imported(deck: StoredDeck, dropped_media: int) -> str:
    text = (
        f"Imported {_title(deck.title)} ({_questions(deck.question_count)}) as one of this "
        "group's decks: the daily question and /quiz use it. Its uploader can replace or "
        "delete it from /decks in a private chat with me."
    )
    if dropped_media:
        text += f"\n{dropped_media} media file{'s were' if dropped_media != 1 else ' was'} dropped."
    return text
