"""Bulk inserts for the hot paths (usage backfills, draft generation), where building tens of
thousands of model instances costs more than the database does.

PostgreSQL takes the rows by COPY; other databases by multi-row INSERTs. `insert_rows` takes
values that are already what the column stores (Decimal, date, aware datetime, int, str, None);
`insert_objects` takes a model's field values and fills in the defaults.
"""

import json
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from itertools import chain

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import AutoField, BigAutoField, ForeignKey, Lookup, Model

INSERT_BATCH_PARAMETERS = 8000  # well within SQLite's limit of 32,766

# Field types whose Python value is already what `insert_rows` takes; any other field (JSON,
# UUID, file, ...) is prepared by Django for the database, as `bulk_create` would.
_AS_IS = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "DateField",
    "DateTimeField",
    "DecimalField",
    "ForeignKey",
    "IntegerField",
    "OneToOneField",
    "PositiveBigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "TextField",
}


def insert_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Insert `rows` (tuples in the order of `columns`) into `table`, in the caller's
    transaction. No rows, no statement."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    rows = chain([first], rows)
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        _insert_batches(cursor, table, names, len(columns), list(rows))


def insert_objects(model: type[Model], values: Iterable[dict]) -> None:
    """Insert new rows of `model` by `insert_rows`, each with the fields in its dict of
    `values` (by attname) and every other field's default, as `bulk_create` would store them
    but without building instances (the cost of `bulk_create` on a wide model). No ids come
    back: the caller reads them by a natural key. No `save()`, no signals."""
    meta = model._meta
    fields = [f for f in meta.concrete_fields if f is not meta.auto_field]
    position = {f.attname: n for n, f in enumerate(fields)}
    convert = [None if f.get_internal_type() in _AS_IS else _to_db(f) for f in fields]
    template = [
        to_db(f.get_default()) if to_db else f.get_default()
        for f, to_db in zip(fields, convert, strict=True)
    ]
    per_object = [  # uuid4, now: a new value for each object
        (n, f.attname, f.default) for n, f in enumerate(fields) if _default_varies(f)
    ]

    def rows():
        for given in values:
            row = template.copy()
            for n, name, default in per_object:
                if name not in given:
                    row[n] = convert[n](default()) if convert[n] else default()
            for name, value in given.items():
                n = position[name]
                row[n] = convert[n](value) if convert[n] else value
            yield row

    insert_rows(meta.db_table, [f.column for f in fields], rows())


def update_objects(objs: Sequence[Model], fields: Sequence[str]) -> None:
    """Save `fields` of saved instances of one model: one UPDATE by primary key each, sent
    together (a pipeline on PostgreSQL). Where `bulk_update` builds a CASE per field over the
    whole batch, which costs the database and Django time in the square of its size."""
    if not objs:
        return
    meta = objs[0]._meta
    targets = [meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in targets)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {meta.db_table} SET {assignments} "  # noqa: S608 - names are the model's
            f"WHERE {connection.ops.quote_name(meta.pk.column)} = %s",
            [
                [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in targets]
                + [obj.pk]
                for obj in objs
            ],
        )


def _default_varies(field) -> bool:
    # An empty dict or list (a JSON default) is stored the same way every time.
    return field.has_default() and callable(field.default) and field.default not in (dict, list)


def _to_db(field):
    """How a value of `field` is stored. JSON goes as its text, as Django writes it (psycopg's
    JSON wrapper costs more than the rest of a row); anything else as Django prepares it."""
    if field.get_internal_type() == "JSONField":
        return lambda value: None if value is None else json.dumps(value, cls=field.encoder)
    return lambda value: field.get_db_prep_save(value, connection)


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
    if isinstance(value, datetime):
        return ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return ops.adapt_datefield_value(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


@contextmanager
def memory_to_group(groups: int):
    """Room for PostgreSQL to sum `groups` groups in memory (say a month of usage per key and
    method): its hash table takes some 0.5 kB a group, so past 8,000 groups or so it outgrows
    the default work_mem (4 MB) and spills to disk, which doubles the query's time. So it gets
    about 1 kB a group, up to 256 MB, for this one transaction."""
    if connection.vendor != "postgresql" or groups < 8_000:
        yield
        return
    megabytes = min(groups // 1000 + 4, 256)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{megabytes}MB'")
        yield


class IdsIn(Lookup):
    """`field__ids_in=[...]`: the field is one of these integer ids, without Django preparing
    each id (a sync range names ten thousand keys a query; `__in` prepares them one by one,
    and PostgreSQL then parses ten thousand placeholders). On PostgreSQL it is one array
    parameter of the column's own type, `= ANY(%s::bigint[])`: psycopg would send small ids
    as a `smallint[]`, and a comparison across types is not hashed, so each row would be
    compared with every id (0.75 s instead of 0.03 s for 70,000 lines against 10,000
    invoices); elsewhere the same `IN (...)` as `__in`. No ids: no row."""

    lookup_name = "ids_in"
    prepare_rhs = False

    def get_prep_lookup(self):
        return [int(value) for value in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        if not self.rhs:
            raise EmptyResultSet
        if connection.vendor == "postgresql":
            array = f"{self.lhs.output_field.cast_db_type(connection)}[]"
            return f"{lhs} = ANY(%s::{array})", [*params, self.rhs]
        return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", [*params, *self.rhs]


for _field in (ForeignKey, AutoField, BigAutoField):
    _field.register_lookup(IdsIn)
