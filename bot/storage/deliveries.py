"""Delivery rows: one question sent to one chat, daily ones unique per local date."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    String,
    Table,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.srs import CardState
from bot.storage.models import CardRow, ChatRow, DeliveryRow, ShownQuestionRow

LEASE = timedelta(seconds=60)
# A reveal is marked (revealed_at) before its answer is sent, and the answer's message id
# stored after. A mark older than this without an answer message is a reveal whose
# process died (or hung) in between: the next Show answer, /answer or typed answer
# takes it over and sends the answer, so no question stays "revealed" but unanswered.
REVEAL_LEASE = timedelta(seconds=30)
# The table, for Core statements built once (no per-call ORM copy and re-hash).
_DELIVERIES = cast(Table, DeliveryRow.__table__)
MAX_ATTEMPTS = 5
_SHOWN = cast(Table, ShownQuestionRow.__table__)


def _shown_insert(dialect: Any, *, move_forward: bool) -> Any:
    """INSERT a (chat, question, instant) into shown_questions, the same statement on
    PostgreSQL and SQLite. A group's row moves to the newest instant (its rotation reads
    it); a private chat's is left as it is (only which questions is read): DO NOTHING
    writes nothing, where an update (or the row lock of a conditional one) rewrote a
    row and its page for nearly every delivery of a long history."""
    statement = dialect.insert(_SHOWN)
    if not move_forward:
        return statement.on_conflict_do_nothing(
            index_elements=[_SHOWN.c.chat_id, _SHOWN.c.question_id]
        )
    return statement.on_conflict_do_update(
        index_elements=[_SHOWN.c.chat_id, _SHOWN.c.question_id],
        set_={"posted_at": statement.excluded.posted_at},
        where=_SHOWN.c.posted_at < statement.excluded.posted_at,
    )


_SHOWN_INSERT = {
    (name, group): _shown_insert(dialect, move_forward=group)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
    for group in (False, True)
}


def is_group_chat(chat_id: int) -> bool:
    """Telegram's group and supergroup ids are negative; a private chat's is its user's."""
    return chat_id < 0


async def record_shown(
    shown: Sequence[tuple[int, str]], *, session: AsyncSession, now: datetime
) -> None:
    """Remember that these (chat, question) pairs were posted at ``now``, in the
    transaction that records their deliveries (``create_delivery``,
    ``insert_daily_many``): what ``delivered_ids_for_chats`` and the group rotation
    (``groups.delivered_at``) read. A chat appears at most once in ``shown``."""
    name = (
        "postgresql"
        if session.bind is not None and session.bind.dialect.name == "postgresql"
        else "sqlite"
    )
    for group in (False, True):
        rows = [
            {"chat_id": chat, "question_id": question, "posted_at": now}
            for chat, question in shown
            if is_group_chat(chat) == group
        ]
        if rows:
            await session.execute(_SHOWN_INSERT[name, group], rows)


async def create_delivery(
    *,
    session: AsyncSession,
    chat_id: int,
    question_id: str,
    now: datetime,
    daily_on: date | None,
    lease: timedelta = LEASE,
) -> DeliveryRow | None:
    """Record a delivery as pending, leased to the caller, before sending it.

    For a daily delivery this returns None when the chat already has one for
    that local date: the unique constraint is what makes delivery exactly-once.
    """
    row = new_delivery(
        chat_id=chat_id, question_id=question_id, now=now, daily_on=daily_on, lease=lease
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    await record_shown([(chat_id, question_id)], session=session, now=now)
    return row


def new_delivery(
    *, chat_id: int, question_id: str, now: datetime, daily_on: date | None, lease: timedelta
) -> DeliveryRow:
    """A pending delivery row, leased until ``now + lease``; not yet added to a session."""
    return DeliveryRow(
        chat_id=chat_id,
        question_id=question_id,
        kind="daily" if daily_on is not None else "extra",
        daily_on=daily_on,
        status="pending",
        attempts=0,
        lease_until=now + lease,
        created_at=now,
    )


_INSERT_DAILY = (
    insert(_DELIVERIES)
    .values(
        kind="daily",
        status="pending",
        attempts=0,
        lease_until=bindparam("lease_until", type_=_DELIVERIES.c.lease_until.type),
        created_at=bindparam("created_at", type_=_DELIVERIES.c.created_at.type),
    )
    .returning(_DELIVERIES.c.id, sort_by_parameter_order=True)
)


async def insert_daily_many(
    dailies: Sequence[tuple[int, str, date]],
    *,
    session: AsyncSession,
    now: datetime,
    lease: timedelta,
) -> list[int]:
    """Record these (chat, question, local date) daily deliveries as pending, leased
    until ``now + lease`` (as ``new_delivery``); their ids, in the same order.

    One Core INSERT ... RETURNING for the dispatcher's batch (no ORM object per
    delivery). A chat that already has its daily delivery for that date makes it
    raise IntegrityError, as the flush of ORM rows did: the caller redoes the batch
    one chat at a time.
    """
    if not dailies:
        return []
    until = now + lease
    result = await session.execute(
        _INSERT_DAILY,
        [
            {
                "chat_id": chat_id,
                "question_id": question_id,
                "daily_on": daily_on,
                "lease_until": until,
                "created_at": now,
            }
            for chat_id, question_id, daily_on in dailies
        ],
    )
    ids = [int(delivery_id) for delivery_id in result.scalars()]
    await record_shown(
        [(chat_id, question_id) for chat_id, question_id, _ in dailies], session=session, now=now
    )
    return ids


async def daily_delivery(
    chat_id: int, local_date: date, *, session: AsyncSession
) -> DeliveryRow | None:
    return await session.scalar(
        select(DeliveryRow).where(
            DeliveryRow.chat_id == chat_id, DeliveryRow.daily_on == local_date
        )
    )


async def get_delivery(delivery_id: int, *, session: AsyncSession) -> DeliveryRow | None:
    return await session.get(DeliveryRow, delivery_id)


async def latest_sent_delivery(chat_id: int, *, session: AsyncSession) -> DeliveryRow | None:
    return await session.scalar(
        select(DeliveryRow)
        .where(DeliveryRow.chat_id == chat_id, DeliveryRow.status == "sent")
        .order_by(DeliveryRow.created_at.desc(), DeliveryRow.id.desc())
        .limit(1)
    )


async def delivered_question_ids(chat_id: int, *, session: AsyncSession) -> set[str]:
    """The questions ever posted to this chat (``delivered_ids_for_chats``)."""
    return (await delivered_ids_for_chats([chat_id], session=session))[chat_id]


def question_ids_table(postgres: bool) -> Any:
    """A list of question ids as a table (column ``value``), from one parameter ``ids``:
    ``unnest`` of an array on PostgreSQL, ``json_each`` of a JSON list on SQLite (see
    :func:`ids_parameter`). One parameter whatever the number of ids, so one plan."""
    if postgres:
        ids = func.unnest(bindparam("ids", type_=postgresql.ARRAY(String())))
        return ids.table_valued("value").render_derived(name="q")
    # json_each has a column named value already; SQLite takes no column list.
    return func.json_each(bindparam("ids", type_=String())).table_valued("value").alias("q")


def ids_parameter(question_ids: Collection[str], *, postgres: bool) -> Any:
    return list(question_ids) if postgres else json.dumps(list(question_ids))


def _delivered_among(postgres: bool) -> Any:
    ids = question_ids_table(postgres)
    return select(ids.c.value).where(
        exists().where(_SHOWN.c.chat_id == bindparam("chat"), _SHOWN.c.question_id == ids.c.value)
    )


_DELIVERED_AMONG = {True: _delivered_among(True), False: _delivered_among(False)}


def is_postgresql(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


async def delivered_among(
    chat_id: int, question_ids: Collection[str], *, session: AsyncSession
) -> set[str]:
    """Which of ``question_ids`` were ever delivered to the chat.

    What a quiz on a topic needs of the chat's history: whether each of the topic's
    questions was shown, nothing about the others. One probe of shown_questions'
    primary key per id (``record_shown`` writes a row with every delivery): bounded by
    the topic, not by the history.
    """
    if not question_ids:
        return set()
    postgres = is_postgresql(session)
    rows = await session.scalars(
        _DELIVERED_AMONG[postgres],
        {"chat": chat_id, "ids": ids_parameter(question_ids, postgres=postgres)},
    )
    return {str(question_id) for question_id in rows}


async def delivered_ids_for_chats(
    chat_ids: Sequence[int], *, session: AsyncSession
) -> dict[int, set[str]]:
    """The questions ever posted to each chat, from shown_questions: at most one row
    per question of the bank, however long the chat's history (``record_shown``)."""
    result: dict[int, set[str]] = {chat_id: set() for chat_id in chat_ids}
    if not chat_ids:
        return result
    rows = await session.execute(
        select(_SHOWN.c.chat_id, _SHOWN.c.question_id).where(_SHOWN.c.chat_id.in_(chat_ids))
    )
    for chat_id, question_id in rows:
        result[chat_id].add(question_id)
    return result


async def mark_sent(
    delivery_id: int, message_id: int, *, session: AsyncSession, now: datetime
) -> None:
    await session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id)
        .values(status="sent", message_id=message_id, sent_at=now, lease_until=None)
    )


async def mark_failed(delivery_id: int, *, session: AsyncSession, status: str = "failed") -> None:
    await session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id)
        .values(status=status, lease_until=None)
    )


async def release_for_retry(
    delivery_id: int, *, session: AsyncSession, now: datetime, delay: timedelta
) -> None:
    """Leave a delivery pending, to be retried once ``delay`` has passed (the retry's
    claim counts the attempt: ``claim_stale_pending``)."""
    await session.execute(
        update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(lease_until=now + delay)
    )


async def claim_stale_pending(
    *, session: AsyncSession, now: datetime, limit: int, lease: timedelta = LEASE
) -> Sequence[DeliveryRow]:
    """Pending deliveries whose lease ran out (a crash, a failed send): lease them anew."""
    query = (
        select(DeliveryRow)
        .join(ChatRow, ChatRow.id == DeliveryRow.chat_id)
        .where(DeliveryRow.status == "pending", DeliveryRow.lease_until <= now)
        .where(ChatRow.active.is_(True))
        .order_by(DeliveryRow.lease_until, DeliveryRow.id)
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(of=DeliveryRow, skip_locked=True)
    rows = (await session.scalars(query)).all()
    for row in rows:
        row.lease_until = now + lease
        # A re-send is an attempt: a delivery whose outcome can never be recorded is
        # sent at most MAX_ATTEMPTS times, not once per lease all day.
        row.attempts += 1
    return rows


_MARK_SENT = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("delivery"))
    .values(
        status="sent",
        message_id=bindparam("message"),
        sent_at=bindparam("at", type_=_DELIVERIES.c.sent_at.type),
        lease_until=None,
    )
)


async def mark_many_sent(
    sent: Sequence[dict[str, int]], *, session: AsyncSession, now: datetime
) -> None:
    """Record sends (``{"delivery": id, "message": message id}``) in one executemany.

    A Core statement: a row deleted meanwhile (/forget) is simply not updated, where
    the ORM's bulk UPDATE by primary key would raise StaleDataError for the batch.
    """
    await session.execute(_MARK_SENT, [{**row, "at": now} for row in sent])


async def end_leases(delivery_ids: Sequence[int], *, session: AsyncSession, now: datetime) -> None:
    """Claimed deliveries that will not be sent from here: any tick may send them now."""
    await session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id.in_(delivery_ids), DeliveryRow.status == "pending")
        .values(lease_until=now)
    )


async def renew_leases(
    delivery_ids: Sequence[int], *, session: AsyncSession, now: datetime, until: datetime
) -> set[int]:
    """Extend the running leases of pending deliveries to ``until``; the ids renewed.

    A lease that has run out is left alone: another instance may have claimed the
    delivery since, and it is not taken back.
    """
    result = await session.execute(
        update(_DELIVERIES)
        .where(
            _DELIVERIES.c.id.in_(delivery_ids),
            _DELIVERIES.c.status == "pending",
            _DELIVERIES.c.lease_until > now,
        )
        .values(lease_until=until)
        .returning(_DELIVERIES.c.id)
    )
    return {int(delivery) for delivery in result.scalars()}


_ANSWER_POSTED = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("delivery"))
    .values(answer_message_id=bindparam("message"))
)
# Only while no answer is stored: a slow reveal that failed must not undo the answer
# another process posted after taking its stale mark over.
_REVEAL_UNDONE = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("delivery"), _DELIVERIES.c.answer_message_id.is_(None))
    .values(revealed_at=None)
)


def answer_pending(delivery: DeliveryRow, now: datetime) -> bool:
    """Marked revealed, no answer stored yet, and the mark still young: the answer is
    being sent right now (by this process or another)."""
    revealed = delivery.revealed_at
    return (
        revealed is not None
        and delivery.answer_message_id is None
        and now - revealed < REVEAL_LEASE
    )


def answer_shown(delivery: DeliveryRow, now: datetime) -> bool:
    """Revealed for good: the answer was posted, or is being posted (a stale mark
    without an answer counts as not revealed, see ``REVEAL_LEASE``)."""
    if delivery.revealed_at is None:
        return False
    return delivery.answer_message_id is not None or answer_pending(delivery, now)


def not_revealed(now: datetime) -> Any:
    """The condition on ``DeliveryRow`` for "the answer may be revealed now": never
    revealed, or the mark is stale (``REVEAL_LEASE``)."""
    return or_(
        DeliveryRow.revealed_at.is_(None),
        and_(
            DeliveryRow.answer_message_id.is_(None),
            DeliveryRow.revealed_at <= now - REVEAL_LEASE,
        ),
    )


def _revealable(table: Table) -> Any:
    """Not revealed, or marked so long ago without an answer that the mark is stale."""
    return or_(
        table.c.revealed_at.is_(None),
        and_(
            table.c.answer_message_id.is_(None),
            table.c.revealed_at <= bindparam("stale_before", type_=table.c.revealed_at.type),
        ),
    )


async def record_answer_message(
    delivery_id: int, message_id: int | None, *, session: AsyncSession
) -> None:
    """Store the id of the posted answer; None (not posted) makes the reveal undone."""
    if message_id is None:
        await session.execute(_REVEAL_UNDONE, {"delivery": delivery_id})
    else:
        await session.execute(_ANSWER_POSTED, {"delivery": delivery_id, "message": message_id})


def _begin_reveal_statement() -> Any:
    """A Core statement (built once): an ORM UPDATE is copied on every execution,
    and hashed again for the compiled cache."""
    # Spelled out: SQLAlchemy's SQLite compiler drops table names inside RETURNING,
    # which would turn the correlation into "question_id = question_id".
    card_state = (
        select(CardRow.state)
        .where(
            literal_column("cards.person_id") == bindparam("card_person", type_=BigInteger()),
            literal_column("cards.question_id") == literal_column("deliveries.question_id"),
        )
        .scalar_subquery()
    )
    return (
        update(_DELIVERIES)
        .where(
            _DELIVERIES.c.id == bindparam("delivery"),
            _DELIVERIES.c.chat_id == bindparam("chat"),
            _revealable(_DELIVERIES),
        )
        .values(revealed_at=bindparam("at", type_=_DELIVERIES.c.revealed_at.type))
        .returning(*_DELIVERIES.c, card_state)
    )


_BEGIN_REVEAL = _begin_reveal_statement()
_DELIVERY_COLUMNS = tuple(column.key for column in _DELIVERIES.c)


async def begin_reveal(
    delivery_id: int, chat_id: int, *, card_of: int, session: AsyncSession, now: datetime
) -> tuple[DeliveryRow, CardState | None] | None:
    """Mark the chat's delivery as revealed, if nobody has (or the mark is stale,
    see ``REVEAL_LEASE``); the delivery (detached) and ``card_of``'s card for its
    question. None: no such delivery in this chat, or already revealed.

    One conditional UPDATE ... RETURNING: race-free (a double tap, two group
    members at once: one of them gets the row) and a single round trip.
    """
    found = (
        await session.execute(
            _BEGIN_REVEAL,
            {
                "delivery": delivery_id,
                "chat": chat_id,
                "card_person": card_of,
                "at": now,
                "stale_before": now - REVEAL_LEASE,
            },
        )
    ).first()
    if found is None:
        return None
    *values, state = found
    delivery = DeliveryRow(**dict(zip(_DELIVERY_COLUMNS, values, strict=True)))
    return delivery, CardState.from_dict(state) if state is not None else None


async def try_begin_reveal(delivery_id: int, *, session: AsyncSession, now: datetime) -> bool:
    """Atomically mark a delivery as revealed; False if someone already did (and
    the mark is not stale, see ``REVEAL_LEASE``).

    A conditional UPDATE is the race-free way to make a double tap (or two
    group members tapping at once) post the answer only once.
    """
    result = await session.execute(
        _TRY_BEGIN_REVEAL,
        {"delivery": delivery_id, "at": now, "stale_before": now - REVEAL_LEASE},
    )
    return bool(getattr(result, "rowcount", 0))


_TRY_BEGIN_REVEAL = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("delivery"), _revealable(_DELIVERIES))
    .values(revealed_at=bindparam("at", type_=_DELIVERIES.c.revealed_at.type))
)
