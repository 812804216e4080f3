"""The deck reader pool's parts that need no bot: the bounded queue, and that what crosses
the process boundary (arguments and results of ``parse_deck_upload``) pickles whole."""

from __future__ import annotations

import pickle
import threading

from bot.content.imports import DeckUpload, parse_deck_upload
from bot.service.deck_parser import Busy, DeckParser
from tests.content.imports.anki_packages import current_package
from tests.e2e.test_own_decks import CSV_V1, YAML_DECK


def test_one_file_per_person_and_at_most_max_waiting_in_all() -> None:
    parser = DeckParser(max_waiting=2)
    with (
        parser.turn(1) as first,
        parser.turn(2) as second,
        parser.turn(3) as third,
        parser.turn(1) as again,
    ):
        assert (first, second, third, again) == (None, None, Busy.FULL, Busy.YOURS)
        assert parser.reading == {1, 2}
    assert parser.reading == frozenset()
    with parser.turn(3) as later:
        assert later is None


def test_what_crosses_the_process_boundary_pickles_whole() -> None:
    uploads = [
        parse_deck_upload("a.csv", CSV_V1, title=None),
        parse_deck_upload("b.yaml", YAML_DECK, title="Named"),
        parse_deck_upload("c.apkg", current_package(), title=None),
        parse_deck_upload("bad.csv", b"question,reply\nA?,B.\n", title=None),
        parse_deck_upload("notes.txt", b"hello", title=None),
    ]
    assert [u.accepted for u in uploads] == [True, True, True, False, False]
    assert uploads[2].dropped_media == 2
    assert len(uploads[3].problems) == 2
    assert uploads[4].refusal is not None
    for upload in uploads:
        copy = pickle.loads(pickle.dumps(upload))
        assert isinstance(copy, DeckUpload)
        assert copy == upload


async def test_in_process_mode_reads_in_a_thread_and_closes() -> None:
    parser = DeckParser(0)
    upload = await parser.parse("a.csv", CSV_V1, title=None)
    assert upload is not None
    assert upload.deck is not None
    assert [q.id for q in upload.deck.questions] == ["a", "b", "c"]
    assert await parser.call(lambda: threading.current_thread().name) == "deck-parse_0"
    assert parser.in_flight == 0
    await parser.close()
    assert parser.executor is None
    await parser.close()  # again: nothing to do
