"""Every foreign key is served by an index whose leading columns are its own.

Deleting a row that others refer to makes the database find those others by the
foreign key's columns (ON DELETE CASCADE deletes them, SET NULL updates them, and a
plain key checks that none is left). Without an index starting with those columns, that
is a scan of the referring table for every deleted row: with a year of history, deleting
a few thousand old deliveries scanned 36.5 million reviews each time.
"""

from __future__ import annotations

from sqlalchemy import ForeignKeyConstraint, PrimaryKeyConstraint, Table, UniqueConstraint

from bot.storage.models import Base


def _leading_column_lists(table: Table) -> list[list[str]]:
    lists = [[column.name for column in index.columns] for index in table.indexes]
    for constraint in table.constraints:
        if isinstance(constraint, PrimaryKeyConstraint | UniqueConstraint):
            lists.append([column.name for column in constraint.columns])
    return lists


def _unserved(constraint: ForeignKeyConstraint, table: Table) -> bool:
    columns = [column.name for column in constraint.columns]
    return not any(lead[: len(columns)] == columns for lead in _leading_column_lists(table))


def test_every_foreign_key_has_an_index_starting_with_its_columns() -> None:
    unserved = [
        f"{table.name}({', '.join(c.name for c in constraint.columns)}) -> "
        f"{constraint.referred_table.name}"
        for table in Base.metadata.sorted_tables
        for constraint in table.foreign_key_constraints
        if _unserved(constraint, table)
    ]
    assert unserved == []
