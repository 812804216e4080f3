"""Sharing's pure parts: link codes, payloads, escaping (the notices to the people who
added a deck are tests/study/test_notices.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.rendering import deck_sharing_texts as say
from bot.storage.decks import StoredDeck
from bot.study import deck_sharing

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_codes_are_long_random_and_fit_a_start_parameter() -> None:
    codes = {deck_sharing.new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 24  # 18 random bytes: 144 bits
        payload = f"d-{code}"
        assert len(payload) <= 64
        assert all(c.isascii() and (c.isalnum() or c in "_-") for c in payload)
        assert deck_sharing.code_of_payload(payload) == code


def test_payloads_that_are_not_links() -> None:
    for payload in ("", "d-", "d-short", "x-" + "A" * 24, "d-" + "A" * 23 + "!", "forget"):
        assert deck_sharing.code_of_payload(payload) is None
    assert deck_sharing.link("InterviewTestBot", "abc") == (
        "https://t.me/InterviewTestBot?start=d-abc"
    )


def _deck(title: str) -> StoredDeck:
    return StoredDeck(
        id=7,
        owner_id=1,
        title=title,
        version=1,
        question_count=1,
        share_code=None,
        created_at=START,
        updated_at=START,
    )


def test_titles_and_names_are_content_not_markup() -> None:
    text = say.link_text(_deck("<i>x</i> & co"), "<b>Eve</b>", own=False, added=False)
    assert text.startswith("<b>&lt;i&gt;x&lt;/i&gt; &amp; co</b>: 1 question, shared by ")
    assert "&lt;b&gt;Eve&lt;/b&gt;" in text
    assert "<b>Eve" not in text
    assert "&lt;script&gt;" in say.owner_left_text(["<script>"])
