"""Bulk inserts for the hot paths (usage backfills, draft generation), where building tens of
thousands of model instances costs more than the database does.

PostgreSQL takes the rows by COPY; other databases by multi-row INSERTs. Values must already be
what the column stores (Decimal, date, aware datetime, int, str, None).
"""

from collections.abc import Iterable, Sequence

from django.db import connection

INSERT_BATCH_PARAMETERS = 8000  # well within SQLite's limit of 32,766


def insert_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Insert `rows` (tuples in the order of `columns`) into `table`, in the caller's
    transaction."""
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        _insert_batches(cursor, table, names, len(columns), list(rows))


def _insert_batches(cursor, table: str, names: str, width: int, rows: list) -> None:
    ops = connection.ops
    per_statement = max(1, INSERT_BATCH_PARAMETERS // width)
    placeholder = "(" + ", ".join(["%s"] * width) + ")"
    for start in range(0, len(rows), per_statement):
        batch = rows[start : start + per_statement]
        params = [_adapt(ops, value) for row in batch for value in row]
        cursor.execute(
            f"INSERT INTO {table} ({names}) VALUES "  # noqa: S608 - names are ours
            + ", ".join([placeholder] * len(batch)),
            params,
        )


def _adapt(ops, value):
    from datetime import date, datetime
    from decimal import Decimal

    if isinstance(value, datetime):
        return ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return ops.adapt_datefield_value(value)
    if isinstance(value, Decimal):
        return str(value)
    return value
