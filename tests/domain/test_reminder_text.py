"""What the streak reminder says, with and without a streak freeze."""

from __future__ import annotations

from bot.domain.streak_reminders import Nudge
from bot.jobs.streak_reminders import reminder_text
from tests.support.telegram_html import telegram_html_problems, visible_text


def test_reminder_texts() -> None:
    plain = reminder_text(Nudge(5, 0, freeze_tonight=False, freeze_for_yesterday=False))
    tonight = reminder_text(Nudge(9, 2, freeze_tonight=True, freeze_for_yesterday=False))
    covering = reminder_text(Nudge(8, 1, freeze_tonight=False, freeze_for_yesterday=True))
    for text in (plain, tonight, covering):
        assert telegram_html_problems(text, limit=4096) == []
    assert visible_text(plain).splitlines()[:2] == [
        "🔥 Your 5-day streak is waiting: you haven't studied today yet. One question keeps it "
        "going.",
        "It ends at midnight if you skip today (no streak freeze held).",
    ]
    assert (
        "🧊 If you skip today, one of the 2 freezes you hold will be spent tonight to save it."
        in visible_text(tonight)
    )
    assert "A streak freeze is covering yesterday; skip today too and the streak ends tonight." in (
        visible_text(covering)
    )
