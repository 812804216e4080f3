"""Pure quiz, topic and leaderboard logic, with exact expected values."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.leaderboard import MemberStats, group_streak, rank
from bot.domain.quiz import (
    QuizGrade,
    QuizInputError,
    QuizRequest,
    format_duration,
    is_expired,
    parse_quiz_args,
    scoreboard,
    summarize,
)
from bot.domain.srs import Rating
from bot.domain.topics import Topic, common_tags, match_topic, topic_bank, topic_from_key
from tests.support.bot_harness import small_bank


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["nlp", "10"], QuizRequest("nlp", 10)),
        (["nlp"], QuizRequest("nlp", 5)),
        (["machine", "learning", "20"], QuizRequest("machine learning", 20)),
        (["#attention", "1"], QuizRequest("#attention", 1)),
        # Digits int() would refuse or misread are part of the topic, not a count.
        (["nlp", "²"], QuizRequest("nlp ²", 5)),
        (["nlp", "٣"], QuizRequest("nlp ٣", 5)),
    ],
)
def test_parse_quiz_args(args: list[str], expected: QuizRequest) -> None:
    assert parse_quiz_args(args) == expected


@pytest.mark.parametrize(
    "args", [["nlp", "0"], ["nlp", "21"], ["nlp", "-3"], ["5"], [], ["nlp", "9" * 5000]]
)
def test_parse_quiz_args_rejects(args: list[str]) -> None:
    with pytest.raises(QuizInputError, match="/quiz nlp"):
        parse_quiz_args(args)


@pytest.mark.parametrize(
    ("text", "kind", "key"),
    [
        ("ml", "deck", "ml"),
        ("Machine-Learning", "deck", "ml"),
        ("machine learning", "deck", "ml"),
        ("NLP", "deck", "nlp"),
        ("#attention", "tag", "attention"),
        ("atention", "tag", "attention"),
        ("regularisation", "tag", "regularization"),
        ("statis", "tag", "statistics"),  # a unique prefix
    ],
)
def test_match_topic(text: str, kind: str, key: str) -> None:
    topic = match_topic(small_bank(), text).topic
    assert topic is not None
    assert (topic.kind, topic.key) == (kind, key)


def test_no_match_gives_suggestions() -> None:
    match = match_topic(small_bank(), "statsitcs xyz")
    assert match.topic is None
    assert match_topic(small_bank(), "quantum").suggestions == ()


def test_topic_questions_and_banks() -> None:
    bank = small_bank()
    tag = Topic("tag", "attention", "#attention")
    assert tag.question_ids(bank) == ["attention"]
    assert [q.id for q in topic_bank(bank, tag)] == ["attention"]
    assert Topic("deck", "ml", "Machine Learning").question_ids(bank) == [
        "bias-variance",
        "l1-vs-l2",
        "long-one",
    ]
    assert topic_from_key(bank, "d:nlp") == Topic("deck", "nlp", "NLP")
    assert topic_from_key(bank, "t:gone") is None
    assert common_tags(bank, 2) == ["attention", "regularization"]


def test_summary_and_scoreboard() -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    grades = [
        QuizGrade(1, "a", Rating.GOOD),
        QuizGrade(1, "b", Rating.AGAIN),
        QuizGrade(1, "c", Rating.HARD),
    ]
    summary = summarize(
        grades,
        question_ids=["a", "b", "c", "d"],
        started=start,
        ended=start + timedelta(seconds=95),
    )
    assert summary.answered == 3
    assert summary.total == 4
    assert summary.by_rating == {Rating.AGAIN: 1, Rating.HARD: 1, Rating.GOOD: 1, Rating.EASY: 0}
    assert summary.review_again == ("b", "c")
    assert format_duration(summary.duration) == "1 min 35 s"
    assert format_duration(timedelta(hours=2, minutes=5)) == "2 h 05 min"
    board = scoreboard([*grades, QuizGrade(2, "a", Rating.EASY), QuizGrade(3, "a", Rating.EASY)])
    assert [(line.person_id, line.points, line.graded) for line in board] == [
        (1, 3, 3),
        (2, 3, 1),
        (3, 3, 1),
    ]


def test_quiz_expiry_after_a_day() -> None:
    updated = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert not is_expired(updated, updated + timedelta(hours=23, minutes=59))
    assert is_expired(updated, updated + timedelta(days=1))


def test_rank_top_ten_with_ties_and_the_callers_place() -> None:
    members = [
        MemberStats(i, f"M{i:02d}", streak=i % 3, this_week=20 - i, recent=50) for i in range(12)
    ]
    members.append(MemberStats(99, "Tie", streak=0, this_week=19, recent=50))
    placed = rank(members, caller=11)
    assert [(p.place, p.member.person_id) for p in placed[:3]] == [(1, 0), (2, 1), (3, 99)]
    assert len(placed) == 11
    assert (placed[-1].place, placed[-1].member.person_id) == (13, 11)
    assert len(rank(members, caller=0)) == 10


def test_group_streak() -> None:
    today = date(2026, 3, 10)
    days = [date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)]
    assert group_streak(days, today=today) == 3  # ending yesterday: today still open
    assert group_streak([*days, today], today=today) == 4
    assert group_streak([date(2026, 3, 8)], today=today) == 0
    assert group_streak([], today=today) == 0
