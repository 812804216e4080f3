"""What an upload produces: the limits it is held to, the deck, or why there is none.

Kept apart from the readers so each format module and the façade share one vocabulary
without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.content import Question

__all__ = ["DeckUpload", "ImportedDeck", "RefusedError", "UploadLimits"]


@dataclass(frozen=True)
class UploadLimits:
    """Bounds on one uploaded deck file (issue 18); each has its own message when crossed.

    ``max_unpacked_bytes`` bounds what a package (``.apkg``) may unpack to, the zip bomb
    guard; ``max_yaml_aliases`` and ``max_yaml_depth`` are the billion-laughs guard.
    """

    max_file_bytes: int = 10 * 2**20
    max_unpacked_bytes: int = 50 * 2**20
    max_questions: int = 2000
    max_question_chars: int = 1000
    max_answer_chars: int = 20000
    max_yaml_aliases: int = 20
    max_yaml_depth: int = 12


@dataclass(frozen=True)
class ImportedDeck:
    """A checked deck from a file: its title, an optional description and its questions.

    Question ids are unique within the deck and stable across uploads of the same
    content, so progress survives a new version of the file.
    """

    title: str
    description: str | None
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class DeckUpload:
    """The outcome of reading one file: exactly one of ``deck`` and ``refusal`` is set,
    unless ``problems`` lists what is wrong (then neither is: nothing partial is kept).

    ``problems`` each name their place (``line 4, column 7``, ``row 12, column 'answer'``,
    ``note 1712000000000, field 'Back'``); ``refusal`` is a whole-file refusal (too big,
    a zip bomb, a kind of file we do not read). ``dropped_media`` counts the media files
    (images, sounds) an Anki deck referred to and that were left out.
    """

    deck: ImportedDeck | None
    problems: tuple[str, ...] = ()
    refusal: str | None = None
    dropped_media: int = 0

    @property
    def accepted(self) -> bool:
        return self.deck is not None


class RefusedError(Exception):
    """A whole-file refusal raised inside a reader; the façade turns it into a DeckUpload."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
