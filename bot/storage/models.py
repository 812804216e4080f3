"""ORM models: rows for chats, people, deliveries, cards and reviews.

Chats (private or group) own a schedule and settings; people (Telegram users)
own cards, reviews and streaks. A delivery is one question sent to one chat;
the daily one is unique per (chat, local date), which is what makes delivery
exactly-once even when several dispatchers or a restarted process race.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.storage.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # SQLAlchemy reads this class attribute once; it is never mutated.
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}  # noqa: RUF012


class ChatRow(Base):
    """A chat that receives questions: its settings and its next due instant."""

    __tablename__ = "chats"
    # The claim's order (next_due_at, id): a range scan that stops after one batch. On
    # next_due_at alone, with thousands of chats due at the same minute, PostgreSQL read
    # and sorted every due chat for each batch of 500 (quadratic in the chats due).
    __table_args__ = (Index("ix_chats_next_due_at_id", "next_due_at", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))  # private | group | supergroup
    title: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str] = mapped_column(String(64))
    delivery_time: Mapped[str] = mapped_column(String(5))  # HH:MM, local wall time
    days: Mapped[int] = mapped_column(SmallInteger)  # bit i set = weekday i (Mon=0)
    decks: Mapped[str] = mapped_column(Text)  # comma-separated deck ids, in bank order
    next_due_at: Mapped[datetime | None]
    last_delivered_on: Mapped[date | None] = mapped_column(Date)
    migrated_to: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PersonRow(Base):
    """A Telegram user: owns cards, reviews and streaks in any chat."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(255), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    # Typed answers are used for feedback and then dropped, unless the person keeps them.
    keep_typed_answers: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class DeliveryRow(Base):
    """One question sent (or being sent) to one chat.

    ``daily_on`` is the chat's local date for the scheduled daily question and
    NULL for extra questions (/next, quizzes); NULLs never collide in a unique
    constraint, so the constraint guards exactly the daily ones.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("chat_id", "daily_on", name="uq_deliveries_chat_daily_on"),
        Index("ix_deliveries_status_lease", "status", "lease_until"),
        Index("ix_deliveries_chat_created", "chat_id", "created_at"),
        # No index on (chat_id, question_id): which questions a chat was shown is
        # shown_questions' (one row per question, not per delivery).
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("chats.id", ondelete="CASCADE", onupdate="CASCADE")
    )
    question_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))  # daily | extra | quiz
    quiz_id: Mapped[int | None] = mapped_column(
        ForeignKey("quizzes.id", ondelete="CASCADE"), index=True
    )
    daily_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | failed | expired
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    lease_until: Mapped[datetime | None]
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    answer_message_id: Mapped[int | None] = mapped_column(BigInteger)
    revealed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class ShownQuestionRow(Base):
    """A question a chat was shown: one row per (chat, question), written with each
    delivery (bot/storage/deliveries.py ``record_shown``). ``posted_at`` is when a
    group was last posted it (its rotation); for a private chat, when it was first
    shown (only which questions is read, and leaving the row alone writes nothing).

    What "already shown" reads (a new question is one neither carded nor shown; a
    group's rotation): bounded by the bank's size per chat, where reading the
    deliveries grew with every day of history.
    """

    __tablename__ = "shown_questions"

    chat_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("chats.id", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    question_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    posted_at: Mapped[datetime]


class CardRow(Base):
    """A person's FSRS memory state for one question."""

    __tablename__ = "cards"
    # question_id in the index: the soonest-due cards (the dispatcher's choice, /stats's
    # cards due soon) are read from the index alone (an index-only scan).
    __table_args__ = (Index("ix_cards_person_due_question", "person_id", "due", "question_id"),)

    person_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    due: Mapped[datetime]
    state: Mapped[dict[str, Any]]
    reps: Mapped[int] = mapped_column(Integer, default=0)
    lapses: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


class ReviewRow(Base):
    """One grade by one person, with the local date it counts for in streaks."""

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("person_id", "delivery_id", name="uq_reviews_person_delivery"),
        Index("ix_reviews_person_at", "person_id", "reviewed_at"),
        # Study days and reviews per day (streaks, the heatmap) by local date.
        Index("ix_reviews_person_local_date", "person_id", "local_date"),
        # A group's reviews (its streak, picture, leaderboard) by chat and time.
        Index("ix_reviews_chat_at", "chat_id", "reviewed_at"),
        # A delivery deleted (retention, /forget) sets its reviews' delivery_id to NULL:
        # without this, one scan of every review per deleted delivery.
        Index("ix_reviews_delivery_id", "delivery_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("people.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(80))
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL")
    )
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    rating: Mapped[int] = mapped_column(SmallInteger)
    source: Mapped[str] = mapped_column(String(16))  # daily | extra | quiz | group
    reviewed_at: Mapped[datetime]
    local_date: Mapped[date] = mapped_column(Date)
    utc_offset_minutes: Mapped[int] = mapped_column(SmallInteger)


class StreakCheckpointRow(Base):
    """The streak rules' state after every study day up to ``through_date``
    (:class:`bot.domain.streaks.StreakFold`), one row per person.

    Streaks (/stats, /top, the reminders) then read only the reviews after it, so their
    cost stays flat however long someone has studied. Moved forward when it lags a week
    behind the last date no new grade can reach (bot/storage/learning.py); derived from
    the reviews alone, so a row can be dropped at any time and is rebuilt on the next read.
    """

    __tablename__ = "streak_checkpoints"

    person_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    through_date: Mapped[date] = mapped_column(Date)
    run: Mapped[int] = mapped_column(Integer)
    longest: Mapped[int] = mapped_column(Integer)
    held: Mapped[int] = mapped_column(SmallInteger)
    used: Mapped[int] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    # The newest run folded (NULL: no study day that old) and its last grade, which the
    # travel rule reads across a one-date gap.
    last_first_day: Mapped[date | None] = mapped_column(Date)
    last_day: Mapped[date | None] = mapped_column(Date)
    last_mark_at: Mapped[datetime | None]
    last_mark_offset: Mapped[int | None] = mapped_column(SmallInteger)


class QuizRow(Base):
    """A topic quiz: its questions in order, where it stands, who started it.

    The whole state is here, so a quiz survives restarts; ``updated_at`` is what
    expiry after a day of inactivity looks at.
    """

    __tablename__ = "quizzes"
    __table_args__ = (Index("ix_quizzes_chat_status", "chat_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("chats.id", ondelete="CASCADE", onupdate="CASCADE")
    )
    started_by: Mapped[int] = mapped_column(BigInteger)
    topic: Mapped[str] = mapped_column(String(120))  # shown to users, e.g. "NLP" or "#attention"
    question_ids: Mapped[list[str]] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(SmallInteger, default=0)  # index of the current question
    status: Mapped[str] = mapped_column(String(16))  # active | finished | stopped | expired
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class ReminderRow(Base):
    """A private chat's streak reminder: its local time and the next instant to consider.

    Like ``chats.next_due_at`` for daily questions, ``next_at`` (UTC, indexed)
    is claimed by the dispatcher; ``last_on`` is the local date of the last
    reminder considered, which makes it at most one per local day.
    """

    __tablename__ = "reminders"

    chat_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("chats.id", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    remind_at: Mapped[str] = mapped_column(String(5))  # HH:MM, local wall time
    next_at: Mapped[datetime | None] = mapped_column(index=True)
    last_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime]


class ProcessedUpdateRow(Base):
    """A webhook update claimed by one instance (bot/storage/processed_updates.py).

    The primary key is the claim: whichever instance inserts the row first handles
    the update. ``claimed_at`` is renewed while the update is handled and ``done_at``
    set once it was; Telegram's retry of a claim that is neither (its claimer died)
    takes it over. Done rows are pruned.
    """

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[datetime]
    claimed_at: Mapped[datetime]
    done_at: Mapped[datetime | None] = mapped_column(index=True)


class TypedAnswerRow(Base):
    """A person typing their answer to a delivered question (bot/handlers/typed.py).

    ``awaiting`` from "Type my answer" until the answer arrives, then ``checked`` with what
    the checker found. The text itself is stored only when the person turned on "Keep my
    typed answers"; otherwise it is used for the feedback and never written down.
    """

    __tablename__ = "typed_answers"
    __table_args__ = (
        UniqueConstraint("person_id", "delivery_id", name="uq_typed_answers_person_delivery"),
        Index("ix_typed_answers_chat_status", "chat_id", "status"),
        # A deleted delivery's typed answers go with it (the foreign key's cascade).
        Index("ix_typed_answers_delivery_id", "delivery_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("people.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16))  # awaiting | checked
    prompt_message_id: Mapped[int | None] = mapped_column(BigInteger)
    answer: Mapped[str | None] = mapped_column(Text)  # only when kept
    checker: Mapped[str | None] = mapped_column(String(16))  # offline | model
    covered: Mapped[int | None] = mapped_column(SmallInteger)
    total: Mapped[int | None] = mapped_column(SmallInteger)
    suggested_rating: Mapped[int | None] = mapped_column(SmallInteger)
    created_at: Mapped[datetime]
    checked_at: Mapped[datetime | None]


class LlmUsageRow(Base):
    """Model-grader feedback per person and day, for LLM_DAILY_LIMIT.

    ``day`` is the person's local date (their time zone when they answered), the
    day of streaks and reminders; a request whose feedback never reached them is
    given back (bot/storage/typed_answers.py).
    """

    __tablename__ = "llm_usage"

    person_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    requests: Mapped[int] = mapped_column(SmallInteger, default=0)


class SendBudgetRow(Base):
    """Telegram's flood limits shared by every instance (bot/telegram/send_budget.py);
    PostgreSQL only.

    One row per key: ``overall`` and ``paid`` (the bot's send schedule) and ``c:<chat id>``
    (one chat's pacing, pruned a minute after its last send). ``tat`` is the GCRA's
    theoretical arrival time: the instant the schedule is booked until. Unused on SQLite.
    """

    __tablename__ = "send_budget"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tat: Mapped[datetime]


class DeckRow(Base):
    """A deck a person uploaded (bot/storage/decks.py): its current version, whole.

    Only the current version is stored, and its questions as one JSON document
    (``questions``): a deck is written whole (an upload replaces it) and read whole (the
    process's cache, bot/content/deck_cache.py), never one question at a time, so one
    row per deck is what a cache miss reads (rows per question cost several times more
    to load: BENCHMARKS.md, "Own decks"). Progress is kept by question id, not by version;
    ``version`` (bumped on each replace) keys the cache. ``share_code`` is the secret of
    a sharing link (NULL: not shared).
    """

    __tablename__ = "decks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    question_count: Mapped[int] = mapped_column(Integer)
    questions: Mapped[str] = mapped_column(Text)
    """JSON: ``[[id, question, answer, [tags], difficulty or null], ...]`` in file order."""
    share_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    replace_requested_at: Mapped[datetime | None]
    """Replace was pressed in /decks: the owner's next file (within the hour) replaces it."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AddedDeckRow(Base):
    """A person who added someone else's deck (a sharing link): they study it too."""

    __tablename__ = "added_decks"

    person_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    deck_id: Mapped[int] = mapped_column(
        ForeignKey("decks.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime]


class DeckUploadRow(Base):
    """One accepted upload, for the uploads-per-hour limit; older rows are pruned."""

    __tablename__ = "deck_uploads"
    __table_args__ = (Index("ix_deck_uploads_person_at", "person_id", "uploaded_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("people.id", ondelete="CASCADE"))
    uploaded_at: Mapped[datetime]


class NoticeRow(Base):
    """A one-off message owed to a person (the outbox of bot/jobs/notices.py): "the decks
    X, Y are gone" after their owner's /forget or delete.

    Written in the transaction that makes it owed, so it exists if and only if that
    committed; deleted once Telegram accepted it (or refused it for good). ``kind`` and
    ``payload`` are rendered when it is sent. ``lease_until`` is the instant from which a
    sender may claim it: its creation at first, a lease ahead once claimed, so a crashed
    sender's notice goes out after its lease. ``attempts`` counts the claims.
    """

    __tablename__ = "notices"
    # The claim's order (lease_until, id): a range scan over the claimable ones.
    __table_args__ = (Index("ix_notices_lease_until_id", "lease_until", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))  # owner_left | deck_deleted
    payload: Mapped[dict[str, Any]]
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    lease_until: Mapped[datetime]
    created_at: Mapped[datetime]
