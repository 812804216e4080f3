"""The checks every uploaded deck goes through, whatever its format.

Each reader turns its file into ``Draft`` questions (raw values plus where each came
from); ``finish`` then applies, in one place, what the bank's own checker applies to
``content/``: the ``Question`` model's validation (slugs, non-empty text, difficulty),
``bot.content.check.telegram_checks`` (the per-question rendering checks that
``interview-bot content check`` runs, so any check added there applies to uploads too)
and the tag length the checker demands of buttons, plus the upload limits. A deck with
any problem is not returned at all: nothing partial is stored.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from bot.content.check import telegram_checks
from bot.content.imports.model import DeckUpload, ImportedDeck, RefusedError, UploadLimits
from bot.domain.content import Deck, Question, Source, slugify
from bot.domain.topics import TOPIC_KEY_MAX

__all__ = [
    "QUESTION_KEYS",
    "TITLE_MAX",
    "Draft",
    "deck_title",
    "finish",
    "stable_id",
    "tag_slugs",
]

TITLE_MAX = 64
QUESTION_KEYS = tuple(Question.model_fields)
_SPACES = re.compile(r"\s+")
_SLUG_RULE = "lower-case letters and digits joined by single dashes (like what-is-attention)"
# The rendering checks need a deck to draw the question card's header with.
_CHECK_SOURCE = Source(name="Uploaded deck", attribution="Uploaded by a user.")


@dataclass(frozen=True)
class Draft:
    """One question as read from a file, before any check.

    ``values`` holds the ``Question`` fields found (``id``, ``question``, ``answer``,
    ``tags``, ``difficulty``, and any unknown key, which is a problem); ``where(key)``
    says where that key's value sits in the file, for messages. A draft the reader
    could not make sense of carries its ``problems`` instead of values.
    """

    values: Mapping[str, object]
    where: Callable[[str | None], str]
    # What the reader already found wrong; reported in file order with the rest.
    problems: tuple[str, ...] = ()
    # The id is a hash of the question text (no id given): a repeat is the same question.
    id_from_text: bool = False


def stable_id(text: str, prefix: str = "q") -> str:
    """A question id (a valid slug) that depends only on ``text``: the same question
    text gives the same id in every upload, whitespace and Unicode form aside."""
    normal = _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()
    return f"{prefix}-{hashlib.sha256(normal.encode('utf-8')).hexdigest()[:12]}"


def tag_slugs(names: Sequence[str]) -> tuple[str, ...]:
    """Free-form tag names as tag slugs (``Machine Learning`` -> ``machine-learning``),
    short enough for a button, without repeats or empties, in their order."""
    slugs: list[str] = []
    for name in names:
        slug = slugify(name, max_length=TOPIC_KEY_MAX)
        if name.strip() and slug != "q" and slug not in slugs:
            slugs.append(slug)
    return tuple(slugs)


def deck_title(title: str | None, in_file: str | None, file_name: str) -> str:
    """The given title, else the file's own, else the file name without its extension."""
    for candidate in (title, in_file):
        if candidate is not None and candidate.strip():
            return candidate.strip()
    stem = file_name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    stem = _SPACES.sub(" ", stem.replace("_", " ")).strip() or "My deck"
    return stem[:TITLE_MAX].strip()


def finish(
    title: str,
    description: str | None,
    drafts: Sequence[Draft],
    limits: UploadLimits,
    problems: Sequence[str] = (),
    *,
    dropped_media: int = 0,
) -> DeckUpload:
    """Check every draft; the deck if nothing is wrong, else every problem found."""
    if len(drafts) > limits.max_questions:
        raise RefusedError(
            f"This deck has {len(drafts):,} questions; a deck can have at most "
            f"{limits.max_questions:,}. Split it into smaller decks."
        )
    found = list(problems)
    if not title or len(title) > TITLE_MAX:
        found.append(f"deck title: must be 1 to {TITLE_MAX} characters, not {len(title)}")
    if not drafts and not found:
        found.append("the file has no questions")
    check_deck = Deck(
        id="upload",
        title=title[:TITLE_MAX] or "Deck",
        description=description or "Uploaded deck.",
        source=_CHECK_SOURCE,
        questions=(Question(id="placeholder", question="?", answer="?"),),
    )
    questions: list[Question] = []
    first_at: dict[str, str] = {}
    for draft in drafts:
        if draft.problems:
            found.extend(draft.problems)
            continue
        given_id = draft.values.get("id")
        place = draft.where("question" if draft.id_from_text else "id")
        if isinstance(given_id, str) and given_id in first_at:
            first = first_at[given_id]
            found.append(
                f"{place}: the same question as {first}"
                if draft.id_from_text
                else f"{place}: id {given_id!r} is used twice (first at {first})"
            )
        elif isinstance(given_id, str):
            first_at[given_id] = place
        question = _checked(draft, check_deck, limits, found)
        if question is not None:
            questions.append(question)
    if found:
        return DeckUpload(deck=None, problems=tuple(found), dropped_media=dropped_media)
    deck = ImportedDeck(title=title, description=description, questions=tuple(questions))
    return DeckUpload(deck=deck, dropped_media=dropped_media)


def _checked(
    draft: Draft, check_deck: Deck, limits: UploadLimits, found: list[str]
) -> Question | None:
    """The draft as a Question, or None with its problems added to ``found``."""
    before = len(found)
    for key, limit in (
        ("question", limits.max_question_chars),
        ("answer", limits.max_answer_chars),
    ):
        value = draft.values.get(key)
        if isinstance(value, str) and len(value) > limit:
            found.append(
                f"{draft.where(key)}: the {key} is {len(value):,} characters long; "
                f"at most {limit:,} are allowed"
            )
    try:
        question = Question.model_validate(dict(draft.values))
    except ValidationError as error:
        found.extend(_validation_messages(error, draft))
        return None
    if len(found) > before:
        return None  # too long: the rendering checks would only say so again
    for number, tag in enumerate(question.tags):
        if len(tag) > TOPIC_KEY_MAX:
            found.append(
                f"{draft.where('tags')}: tag {number + 1} {tag!r} is longer than "
                f"{TOPIC_KEY_MAX} characters"
            )
    for key, message in telegram_checks(check_deck, question):
        found.append(f"{draft.where(key)}: {message}")
    return question if len(found) == before else None


def _validation_messages(error: ValidationError, draft: Draft) -> list[str]:
    messages = []
    for item in error.errors():
        loc = tuple(item["loc"])
        key = str(loc[0]) if loc else None
        if item["type"] == "extra_forbidden":
            hint = difflib.get_close_matches(str(key), QUESTION_KEYS, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            messages.append(
                f"{draft.where(key)}: unknown key {key!r}{suggestion}; "
                f"allowed keys: {', '.join(QUESTION_KEYS)}"
            )
            continue
        if item["type"] == "missing":
            messages.append(f"{draft.where(None)}: the {key} is missing")
            continue
        message = str(item["msg"])
        if item["type"] == "value_error":
            text = f"{key} {message.removeprefix('Value error, ')}"
        elif key == "id" and item["type"] == "string_pattern_mismatch":
            text = f"the id must be {_SLUG_RULE}"
        elif key == "tags" and len(loc) > 1:
            shown = item["input"]
            text = f"tag {int(loc[1]) + 1}: {message}"
            if item["type"] == "string_pattern_mismatch":
                text = f"tag {int(loc[1]) + 1} ({shown!r}) must be {_SLUG_RULE}"
        else:
            text = f"{key}: {message}"
        messages.append(f"{draft.where(key)}: {text}")
    return messages
