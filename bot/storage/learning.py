"""Cards (FSRS state per person and question) and reviews (grades)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    String,
    Table,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import Select

from bot.domain.chats import ChatSettings
from bot.domain.schedule import end_of_local_day
from bot.domain.srs import CardDue, CardState, Rating
from bot.domain.streaks import StreakFold, StudyHistory, StudyMark, StudyRun
from bot.storage.chats import to_settings
from bot.storage.models import (
    AddedDeckRow,
    CardRow,
    ChatRow,
    DeckRow,
    DeliveryRow,
    PersonRow,
    ReviewRow,
    ShownQuestionRow,
    StreakCheckpointRow,
)


async def due_cards_of(person_id: int, *, session: AsyncSession) -> dict[str, CardDue]:
    return (await due_cards_for_people([person_id], session=session))[person_id]


async def due_cards_for_people(
    person_ids: Sequence[int], *, session: AsyncSession
) -> dict[int, dict[str, CardDue]]:
    """Each person's cards with only their due instant (what question choice needs)."""
    result: dict[int, dict[str, CardDue]] = {person_id: {} for person_id in person_ids}
    if not person_ids:
        return result
    rows = await session.execute(
        select(CardRow.person_id, CardRow.question_id, CardRow.due).where(
            CardRow.person_id.in_(person_ids)
        )
    )
    for person_id, question_id, due in rows:
        result[person_id][question_id] = CardDue(due)
    return result


SOONEST = 5
"""Cards read per person to choose a question: the few due soonest."""


@dataclass(frozen=True)
class SoonestCards:
    """A person's cards due soonest, earliest first, as (question id, due).

    Cards tied with the last one are all included: every card not listed is due
    strictly later than every listed one.
    """

    cards: tuple[tuple[str, datetime], ...]
    complete: bool
    """True when these are all the person's cards (fewer than the window holds)."""


def _soonest_postgresql(limit: int) -> Any:
    """Per person, the first ``limit`` cards by due and any tied with the last of them: a
    LATERAL join, each side an index range."""
    people = (
        func.unnest(bindparam("people", type_=postgresql.ARRAY(BigInteger())))
        .table_valued("id")
        .render_derived(name="p")
    )
    window = (
        select(CardRow.question_id, CardRow.due)
        .where(CardRow.person_id == people.c.id)
        .order_by(CardRow.due)
        .fetch(limit, with_ties=True)
        .lateral("c")
    )
    return select(people.c.id, window.c.question_id, window.c.due).select_from(
        people.join(window, true())
    )


def _soonest_sqlite(limit: int) -> Any:
    """The same on SQLite (no LATERAL): per person, an index range up to the due instant
    of their ``limit``-th card (or their last card), both read from the index."""
    return text(
        f"""
        SELECT p.value AS person_id, c.question_id AS question_id, c.due AS due
        FROM json_each(:people) AS p
        CROSS JOIN cards AS c
        ON c.person_id = p.value AND c.due <= IFNULL(
            (SELECT n.due FROM cards AS n WHERE n.person_id = p.value
             ORDER BY n.due LIMIT 1 OFFSET {int(limit) - 1}),
            (SELECT max(m.due) FROM cards AS m WHERE m.person_id = p.value))
        """
    ).columns(person_id=BigInteger(), question_id=String(), due=CardRow.due.type)


_SOONEST_POSTGRESQL = _soonest_postgresql(SOONEST)
_SOONEST_SQLITE = _soonest_sqlite(SOONEST)


async def soonest_cards_for_people(
    person_ids: Sequence[int], *, session: AsyncSession
) -> dict[int, SoonestCards]:
    """Each person's ``SOONEST`` cards due first: what choosing a due card needs.

    Bounded per person whatever their history (the (person_id, due) index with a limit);
    :func:`bot.domain.selection.overdue_from_soonest` decides from it, and only when it
    cannot do the full cards and shown questions get read.
    """
    found: dict[int, list[tuple[str, datetime]]] = {person_id: [] for person_id in person_ids}
    if not person_ids:
        return {}
    postgres = session.bind is not None and session.bind.dialect.name == "postgresql"
    people: Any = list(person_ids) if postgres else json.dumps(list(person_ids))
    statement = _SOONEST_POSTGRESQL if postgres else _SOONEST_SQLITE
    for person_id, question_id, due in await session.execute(statement, {"people": people}):
        found[person_id].append((question_id, due))
    result: dict[int, SoonestCards] = {}
    for person_id, cards in found.items():
        cards.sort(key=lambda card: card[1])
        result[person_id] = SoonestCards(tuple(cards), complete=len(cards) < SOONEST)
    return result


async def card_of(person_id: int, question_id: str, *, session: AsyncSession) -> CardState | None:
    row = await session.get(CardRow, (person_id, question_id))
    return CardState.from_dict(row.state) if row is not None else None


@dataclass(frozen=True)
class GradeTarget:
    """What a grade needs, read in one query: the delivery, the grader, their card."""

    delivery: DeliveryRow
    person: PersonRow | None
    card: CardRow | None


# Built once: a statement object keeps its compiled form's cache key, so reusing it
# skips rebuilding and re-hashing the clauses on every tap.
_GRADE_TARGET = (
    select(DeliveryRow, PersonRow, CardRow)
    .select_from(DeliveryRow)
    .outerjoin(PersonRow, PersonRow.id == bindparam("person"))
    .outerjoin(
        CardRow,
        (CardRow.person_id == bindparam("person"))
        & (CardRow.question_id == DeliveryRow.question_id),
    )
    .where(DeliveryRow.id == bindparam("delivery"))
)


async def grade_target(
    delivery_id: int, person_id: int, *, session: AsyncSession
) -> GradeTarget | None:
    """The delivery with the person and their card for its question (outer joins)."""
    found = (
        await session.execute(_GRADE_TARGET, {"person": person_id, "delivery": delivery_id})
    ).first()
    return GradeTarget(*found) if found is not None else None


def _review_values(review: ReviewRow) -> dict[str, Any]:
    return {name: getattr(review, name) for name in _REVIEW_COLUMNS}


def _card_values(review: ReviewRow, card: CardState) -> dict[str, Any]:
    return {
        "person_id": review.person_id,
        "question_id": review.question_id,
        "state": card.to_dict(),
        "due": card.due,
        "reps": 1,
        "lapses": 1 if review.rating == Rating.AGAIN else 0,
        "updated_at": review.reviewed_at,
    }


# The tables, not the mapped classes: plain Core statements, no ORM bulk-insert path.
_CARDS = cast(Table, CardRow.__table__)
_REVIEWS = cast(Table, ReviewRow.__table__)
_REVIEW_COLUMNS = tuple(column.key for column in _REVIEWS.columns if column.key != "id")
_CARD_COLUMNS = ("person_id", "question_id", "state", "due", "reps", "lapses", "updated_at")


def _card_upsert_postgresql() -> Any:
    """Insert the review; only if that inserted a row, upsert the card: one statement.

    The review's unique (person, delivery) decides a double tap; the card's
    counters are added in SQL, so they stay right whatever was read before.
    """
    cards, reviews = _CARDS, _REVIEWS
    added = (
        postgresql.insert(reviews)
        # Named parameters: inside a CTE the columns would get anonymous ones.
        .values(
            {
                name: bindparam(f"review_{name}", type_=reviews.c[name].type)
                for name in _REVIEW_COLUMNS
            }
        )
        .on_conflict_do_nothing(index_elements=["person_id", "delivery_id"])
        .returning(reviews.c.person_id)
        .cte("added")
    )
    values = select(
        *(bindparam(f"card_{name}", type_=cards.c[name].type) for name in _CARD_COLUMNS)
    ).select_from(added)
    upsert = postgresql.insert(cards).from_select(list(_CARD_COLUMNS), values)
    return (
        upsert.on_conflict_do_update(
            index_elements=["person_id", "question_id"],
            set_={
                "state": upsert.excluded.state,
                "due": upsert.excluded.due,
                "reps": cards.c.reps + upsert.excluded.reps,
                "lapses": cards.c.lapses + upsert.excluded.lapses,
                "updated_at": upsert.excluded.updated_at,
            },
        )
        .returning(cards.c.person_id)
        .add_cte(added)
    )


def _card_upsert_sqlite() -> Any:
    cards = _CARDS
    upsert = sqlite.insert(cards)
    return upsert.on_conflict_do_update(
        index_elements=["person_id", "question_id"],
        set_={
            "state": upsert.excluded.state,
            "due": upsert.excluded.due,
            "reps": cards.c.reps + upsert.excluded.reps,
            "lapses": cards.c.lapses + upsert.excluded.lapses,
            "updated_at": upsert.excluded.updated_at,
        },
    )


_GRADE_POSTGRESQL = _card_upsert_postgresql()
_REVIEW_SQLITE = sqlite.insert(_REVIEWS).on_conflict_do_nothing(
    index_elements=["person_id", "delivery_id"]
)
_CARD_SQLITE = _card_upsert_sqlite()


async def record_grade(review: ReviewRow, card: CardState, *, session: AsyncSession) -> bool:
    """Store a grade: the review and the card's new state; False if already graded.

    On PostgreSQL one statement does both (``_card_upsert_postgresql``), so the
    session may be in AUTOCOMMIT; on SQLite two statements, which the caller
    runs in a transaction.
    """
    review_values = _review_values(review)
    card_values = _card_values(review, card)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        params = {f"review_{key}": value for key, value in review_values.items()}
        params.update({f"card_{key}": value for key, value in card_values.items()})
        return (await session.execute(_GRADE_POSTGRESQL, params)).first() is not None
    inserted = await session.execute(_REVIEW_SQLITE, review_values)
    if not getattr(inserted, "rowcount", 0):
        return False
    await session.execute(_CARD_SQLITE, card_values)
    return True


async def review_for_delivery(
    person_id: int, delivery_id: int, *, session: AsyncSession
) -> ReviewRow | None:
    return await session.scalar(
        select(ReviewRow).where(
            ReviewRow.person_id == person_id, ReviewRow.delivery_id == delivery_id
        )
    )


def _day_marks(person: Any) -> Any:
    """Each study day's first and last grade per UTC offset: all that streaks read.

    One row per study day (per offset, for someone who travelled), not one per grade:
    the streak rules look at a day's first and last marks only.
    """
    return (
        select(
            ReviewRow.person_id,
            ReviewRow.local_date,
            ReviewRow.utc_offset_minutes,
            func.min(ReviewRow.reviewed_at),
            func.max(ReviewRow.reviewed_at),
        )
        .where(person)
        .group_by(ReviewRow.person_id, ReviewRow.local_date, ReviewRow.utc_offset_minutes)
    )


def _marks_of(rows: Any) -> dict[int, list[StudyMark]]:
    result: dict[int, list[StudyMark]] = {}
    for person, local_date, offset, first, last in rows:
        marks = result.setdefault(person, [])
        marks.append(StudyMark.stored(first, local_date, offset))
        if last != first:
            marks.append(StudyMark.stored(last, local_date, offset))
    return result


def _runs_of(read_dates: str, day_minus_rank: str) -> str:
    """SQL: the runs of consecutive dates (person_id, first_day, last_day) among
    ``read_dates`` (rows of person_id, d). A date minus its rank among the person's dates
    is the same all along a run (gaps and islands): one row per run, whatever the number
    of days or grades."""
    return f"""
        SELECT person_id, min(d) AS first_day, max(d) AS last_day FROM (
            SELECT person_id, d, {day_minus_rank} AS island FROM (
                SELECT DISTINCT person_id, d FROM ({read_dates}) AS read_dates
            ) AS dates
        ) AS ranked
        GROUP BY person_id, island
        """


def _islands(day_minus_rank: str) -> Any:
    """Runs of consecutive study dates (person, first, last), oldest first per person.

    Only the dates after a person's checkpoint are read (``kept``: the join drives an
    index range scan of (person_id, local_date) from each checkpoint); a person without
    one (``fresh``) has all their dates read, once, before their checkpoint is written.
    """
    read_dates = """
        SELECT r.person_id, r.local_date AS d
        FROM streak_checkpoints AS c JOIN reviews AS r
            ON r.person_id = c.person_id AND r.local_date > c.through_date
        WHERE c.person_id IN :kept
        UNION ALL
        SELECT person_id, local_date AS d FROM reviews
        WHERE person_id IN :fresh
        """
    return (
        text(_runs_of(read_dates, day_minus_rank) + " ORDER BY person_id, first_day")
        .bindparams(bindparam("kept", expanding=True), bindparam("fresh", expanding=True))
        .columns(person_id=BigInteger(), first_day=Date(), last_day=Date())
    )


def _person_runs(day_minus_rank: str, dates: Any, type_: Any) -> Any:
    """One person's runs of study dates after their checkpoint (all of them without
    one), as two lists in one row: first days and last days, pairwise (``dates``
    aggregates a column into one value). A part of the /stats snapshot's one round trip.

    The checkpoint's date is read first (a scalar subquery), so the reviews are read
    by an index range scan of (person_id, local_date) from it, as in :func:`_islands`.
    """
    read_dates = """
        SELECT person_id, local_date AS d FROM reviews
        WHERE person_id = :person AND local_date > COALESCE(
            (SELECT through_date FROM streak_checkpoints WHERE person_id = :person),
            '0001-01-01')
        """
    return (
        text(
            f"SELECT {dates('first_day')} AS run_firsts, {dates('last_day')} AS run_lasts "
            f"FROM ({_runs_of(read_dates, day_minus_rank)}) AS runs"
        )
        .bindparams(bindparam("person", type_=BigInteger()))
        .columns(run_firsts=type_, run_lasts=type_)
        .subquery("runs")
    )


_RANK = "row_number() OVER (PARTITION BY person_id ORDER BY d)"
_DAY_MINUS_RANK_POSTGRESQL = f"d - CAST({_RANK} AS INTEGER)"
_DAY_MINUS_RANK_SQLITE = f"julianday(d) - {_RANK}"
_ISLANDS_POSTGRESQL = _islands(_DAY_MINUS_RANK_POSTGRESQL)
_ISLANDS_SQLITE = _islands(_DAY_MINUS_RANK_SQLITE)
_EDGE_DAYS = _day_marks(
    tuple_(ReviewRow.person_id, ReviewRow.local_date).in_(bindparam("edges", expanding=True))
)


def _fold_of(row: StreakCheckpointRow) -> StreakFold:
    last = None
    if row.last_first_day is not None and row.last_day is not None:
        mark = None
        if row.last_mark_at is not None and row.last_mark_offset is not None:
            mark = StudyMark.stored(row.last_mark_at, row.last_day, row.last_mark_offset)
        last = StudyRun(row.last_first_day, row.last_day, None, mark)
    return StreakFold(row.through_date, row.run, row.longest, row.held, row.used, row.days, last)


def _checkpoint_values(person_id: int, fold: StreakFold) -> dict[str, Any]:
    last, mark = fold.last, fold.last.last if fold.last else None
    return {
        "person_id": person_id,
        "through_date": fold.through,
        "run": fold.run,
        "longest": fold.longest,
        "held": fold.held,
        "used": fold.used,
        "days": fold.days,
        "last_first_day": last.first_day if last else None,
        "last_day": last.last_day if last else None,
        "last_mark_at": mark.at if mark else None,
        "last_mark_offset": mark.utc_offset_minutes if mark else None,
    }


async def study_runs(person_id: int, *, session: AsyncSession) -> list[StudyRun]:
    """Every run of the person's study days, oldest first (/export's data.json, tests):
    no checkpoint is read or written."""
    result = await study_histories([person_id], session=session, use_checkpoints=False)
    return list(result[person_id].runs)


async def study_histories(
    person_ids: Sequence[int],
    *,
    session: AsyncSession,
    use_checkpoints: bool = True,
    folds: dict[int, StreakFold] | None = None,
) -> dict[int, StudyHistory]:
    """Each person's study history as the streak rules read it: their checkpoint and the
    runs of consecutive study days after it (never graded: no fold and no runs).

    Three small queries for all of them: the checkpoints (primary key; skipped when the
    caller read them already and passes ``folds``, as /stats does), one row per run
    after each checkpoint, and the edge marks the travel rule needs where two runs are
    one date apart (only when there are such gaps). What
    :func:`bot.domain.streaks.compute_streak_of_history` reads (/stats, /top, reminders).

    Reading writes nothing: :func:`bot.domain.streaks.checkpoint_due` says when a
    checkpoint should move on, and :func:`save_checkpoints` moves it.
    """
    result: dict[int, StudyHistory] = {p: StudyHistory(None, ()) for p in person_ids}
    if not person_ids:
        return result
    if folds is None:
        folds = {}
        if use_checkpoints:
            rows = await session.scalars(
                select(StreakCheckpointRow).where(StreakCheckpointRow.person_id.in_(person_ids))
            )
            folds = {row.person_id: _fold_of(row) for row in rows}
    postgres = session.bind is not None and session.bind.dialect.name == "postgresql"
    islands = _ISLANDS_POSTGRESQL if postgres else _ISLANDS_SQLITE
    params = {"kept": list(folds), "fresh": [p for p in person_ids if p not in folds]}
    spans: dict[int, list[tuple[date, date]]] = {}
    for person, first, last in await session.execute(islands, params):
        spans.setdefault(person, []).append((first, last))
    return await _histories_of(person_ids, spans, folds, session=session)


async def _histories_of(
    person_ids: Sequence[int],
    spans: dict[int, list[tuple[date, date]]],
    folds: dict[int, StreakFold],
    *,
    session: AsyncSession,
) -> dict[int, StudyHistory]:
    """The histories from each person's checkpoint and runs after it (oldest first), with
    the edge marks the travel rule needs where two runs are one date apart (a query
    only when there are such gaps)."""
    result: dict[int, StudyHistory] = {}
    edges = sorted(
        {
            (person, day)
            for person, runs in spans.items()
            for (_, before), (after, _) in pairwise(_with_fold_edge(runs, folds.get(person)))
            if (after - before).days == 2
            for day in (before, after)
        }
    )
    first_of, last_of = await _edge_marks(edges, session=session)
    for person in person_ids:
        runs = tuple(
            StudyRun(first, last, first_of.get((person, first)), last_of.get((person, last)))
            for first, last in spans.get(person, [])
        )
        result[person] = StudyHistory(folds.get(person), runs)
    return result


def _with_fold_edge(
    runs: list[tuple[date, date]], fold: StreakFold | None
) -> list[tuple[date, date]]:
    """The runs, preceded by the checkpoint's last run: the pair the travel rule may read
    across the checkpoint (its last mark is stored; the first mark after it is read)."""
    if fold is None or fold.last is None:
        return runs
    return [(fold.last.first_day, fold.last.last_day), *runs]


async def _edge_marks(
    edges: Sequence[tuple[int, date]], *, session: AsyncSession
) -> tuple[dict[tuple[int, date], StudyMark], dict[tuple[int, date], StudyMark]]:
    """The first and last marks of each (person, study day) in ``edges``."""
    first_of: dict[tuple[int, date], StudyMark] = {}
    last_of: dict[tuple[int, date], StudyMark] = {}
    if not edges:
        return first_of, last_of
    found = await session.execute(_EDGE_DAYS, {"edges": list(edges)})
    for person, marks in _marks_of(found).items():
        for mark in marks:
            key = (mark.at, mark.utc_offset_minutes)
            day = (person, mark.local_date)
            if day not in first_of or key < (first_of[day].at, first_of[day].utc_offset_minutes):
                first_of[day] = mark
            if day not in last_of or key > (last_of[day].at, last_of[day].utc_offset_minutes):
                last_of[day] = mark
    return first_of, last_of


async def save_checkpoints(folds: dict[int, StreakFold], *, session: AsyncSession) -> None:
    """Store these checkpoints (from :func:`bot.domain.streaks.checkpoint_due`), with the
    last mark of each one's newest run, which the travel rule may read later.

    Two instances doing so at once write the same row (it is derived from the reviews
    alone); the upsert keeps the later date. A person deleted meanwhile (/forget) makes
    the insert fail on its foreign key: the caller's transaction then writes nothing.
    """
    if not folds:
        return
    needed = sorted(
        (person, fold.last.last_day)
        for person, fold in folds.items()
        if fold.last is not None and fold.last.last is None
    )
    _, last_of = await _edge_marks(needed, session=session)
    values = []
    for person, fold in folds.items():
        if fold.last is not None and fold.last.last is None:
            last = replace(fold.last, last=last_of.get((person, fold.last.last_day)))
            fold = replace(fold, last=last)
        values.append(_checkpoint_values(person, fold))
    postgres = session.bind is not None and session.bind.dialect.name == "postgresql"
    insert = postgresql.insert if postgres else sqlite.insert
    statement = insert(StreakCheckpointRow)
    excluded = statement.excluded
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[StreakCheckpointRow.person_id],
            set_={column: excluded[column] for column in values[0] if column != "person_id"},
            where=excluded.through_date > StreakCheckpointRow.through_date,
        ),
        values,
    )


@dataclass(frozen=True)
class StudySnapshot:
    """What /stats shows about a person in their private chat, read in one query.

    Every part is bounded by what /stats shows, not by the number of grades: counts
    are computed in SQL, study days come one row per run, and the due and shown question
    ids (at most the bank) come as arrays in the counts' row, not a row each.
    """

    timezone: str
    settings: ChatSettings
    history: StudyHistory
    """The streak checkpoint and the runs of study days after it (what the rules read)."""
    total: int
    this_week: int
    good_or_easy: int
    due: list[str]
    """Question ids of the cards due by the end of the person's local day."""
    seen: frozenset[str]
    """Question ids the person has a card for or was shown (includes ``due``)."""
    state: tuple[int, int]
    """(reviews, newest review id): changes with every grade (the picture's cache key)."""
    has_decks: bool = False
    """Whether the person owns or added a deck: /stats reads their decks only then (most
    people have none, and the read is a round trip)."""


_GOOD = ReviewRow.rating.in_([int(Rating.GOOD), int(Rating.EASY)])
# One pass over the person's reviews for the counts (total, Good/Easy, this week) and the
# newest id (the picture's key), joined to the chat and zone: one round trip.
_COUNTS = (
    select(
        func.count().label("total"),
        func.sum(case((_GOOD, 1), else_=0)).label("good"),
        func.sum(
            case(
                (ReviewRow.reviewed_at >= bindparam("week", type_=ReviewRow.reviewed_at.type), 1),
                else_=0,
            )
        ).label("week"),
        func.max(ReviewRow.id).label("newest"),
    )
    .where(ReviewRow.person_id == bindparam("person"))
    .subquery("counts")
)
DUE_SOON = timedelta(days=2)
"""Longer than any local day from any instant in it: the cards due by the end of the
person's day (a horizon that needs their time zone) are among those due this soon."""


def _snapshot(ids: Any, instants: Any, runs: Any) -> Select[Any]:
    """The chat, zone and counts, with the person's cards (all their question ids, and
    the ids and due instants of those due soon, in the same order) and the question ids
    shown in their chat, each list aggregated into one value, the person's streak
    checkpoint (if any) and their runs of study days after it.

    One round trip for what needs no time zone; the due cards are narrowed to the
    person's day in Python. One value per list instead of a row per id: fetching and
    converting hundreds of rows one at a time was most of what a year of history
    added to /stats. The runs were a second round trip, a fifth of /stats's own time
    in a profile of the 1,000-/stats burst.

    No estimate depends on a parameter but the person (the cards due soon are a
    ``FILTER`` of one scan of the person's cards, not a range of the index), so
    PostgreSQL's generic plan of the prepared statement costs what a custom plan does
    and is kept after five executions: planning this statement costs more than
    running it. The union of the cards and the shown questions is made in Python
    (a set of a few hundred ids), not hashed by the database.
    """
    soon = CardRow.due <= bindparam("soon", type_=CardRow.due.type)
    cards = (
        select(
            ids(CardRow.question_id).label("card_ids"),
            ids(CardRow.question_id).filter(soon).label("ids"),
            instants(CardRow.due).filter(soon).label("dues"),
        )
        .where(CardRow.person_id == bindparam("person"))
        .subquery("person_cards")
    )
    shown = (
        # shown_questions: one row per question posted, however often (not every delivery).
        select(ids(ShownQuestionRow.question_id).label("shown"))
        .where(ShownQuestionRow.chat_id == bindparam("person"))
        .subquery("shown")
    )
    has_decks = or_(
        exists().where(DeckRow.owner_id == bindparam("person")),
        exists().where(AddedDeckRow.person_id == bindparam("person")),
    )
    return (
        select(ChatRow, PersonRow.timezone, _COUNTS.c.total, _COUNTS.c.good, _COUNTS.c.week)
        .add_columns(_COUNTS.c.newest, cards.c.ids, cards.c.dues, cards.c.card_ids)
        .add_columns(shown.c.shown, StreakCheckpointRow, has_decks.label("has_decks"))
        .add_columns(runs.c.run_firsts, runs.c.run_lasts)
        .join(PersonRow, PersonRow.id == ChatRow.id)
        .outerjoin(StreakCheckpointRow, StreakCheckpointRow.person_id == ChatRow.id)
        .join(_COUNTS, true())
        .join(cards, true())
        .join(shown, true())
        .join(runs, true())
        .where(ChatRow.id == bindparam("person"))
    )


# PostgreSQL: arrays (asyncpg decodes them in C); SQLite: JSON arrays (json.loads).
_SNAPSHOT_POSTGRESQL = _snapshot(
    lambda column: func.array_agg(column, type_=postgresql.ARRAY(String())),
    lambda column: func.array_agg(column, type_=postgresql.ARRAY(DateTime(timezone=True))),
    _person_runs(
        _DAY_MINUS_RANK_POSTGRESQL, lambda column: f"array_agg({column})", postgresql.ARRAY(Date())
    ),
)
_SNAPSHOT_SQLITE = _snapshot(
    lambda column: func.json_group_array(column, type_=String()),
    lambda column: func.json_group_array(column, type_=String()),
    _person_runs(_DAY_MINUS_RANK_SQLITE, lambda column: f"json_group_array({column})", String()),
)


async def study_snapshot(
    person_id: int,
    *,
    session: AsyncSession,
    now: datetime,
    week_start: datetime,
) -> StudySnapshot | None:
    """The person's chat, zone, review counts, shown questions and cards due soon, with
    their streak checkpoint and their runs of study days after it, in one query (a
    second only for a travelled day's marks); None if either the person or the chat is
    unknown."""
    params = {"person": person_id, "week": week_start, "soon": now + DUE_SOON}
    postgres = session.bind is not None and session.bind.dialect.name == "postgresql"
    statement = _SNAPSHOT_POSTGRESQL if postgres else _SNAPSHOT_SQLITE
    found = (await session.execute(statement, params)).first()
    if found is None:
        return None
    chat, timezone, total, good, week, newest, due_ids, dues, card_ids, shown = found[:10]
    checkpoint, has_decks, run_firsts, run_lasts = found[10:]
    if not postgres:  # JSON arrays; instants as SQLite stores them (UTC, no offset)
        due_ids, card_ids, shown = json.loads(due_ids), json.loads(card_ids), json.loads(shown)
        dues = [datetime.fromisoformat(due).replace(tzinfo=UTC) for due in json.loads(dues)]
        run_firsts = [date.fromisoformat(day) for day in json.loads(run_firsts)]
        run_lasts = [date.fromisoformat(day) for day in json.loads(run_lasts)]
    horizon = end_of_local_day(now, timezone)
    due = [
        question for question, at in zip(due_ids or [], dues or [], strict=True) if at <= horizon
    ]
    folds = {person_id: _fold_of(checkpoint)} if checkpoint is not None else {}
    runs = sorted(zip(run_firsts or [], run_lasts or [], strict=True))
    histories = await _histories_of([person_id], {person_id: runs}, folds, session=session)
    return StudySnapshot(
        timezone,
        to_settings(chat),
        histories[person_id],
        int(total or 0),
        int(week or 0),
        int(good or 0),
        due,
        frozenset(card_ids or ()).union(shown or ()),
        (int(total or 0), int(newest or 0)),
        bool(has_decks),
    )
