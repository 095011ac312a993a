"""`MonthlyChange`: when a key's usage and cost rows of a month last changed, kept by triggers
on the two tables, so every writer keeps it (the ORM, the sync's COPY and bulk updates, a
hand-run SQL fix), and filled from the rows already stored.

PostgreSQL: one statement-level trigger an insert or update, over its transition table (one
upsert a statement, not a row). SQLite (the embedded default): a row-level trigger.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLES = {"usage": "usage_dailyusage", "cost": "usage_dailycost"}


def _postgres(kind: str, table: str) -> tuple[list[str], list[str]]:
    column = f"{kind}_changed_at"
    function = f"usage_note_{kind}_change"
    upsert = (
        f"INSERT INTO usage_monthlychange (api_key_id, month, {column}) "
        "SELECT api_key_id, date_trunc('month', day)::date, max(changed_at) FROM {rows} "
        "GROUP BY 1, 2 ON CONFLICT (api_key_id, month) DO UPDATE SET "
        f"{column} = GREATEST(usage_monthlychange.{column}, EXCLUDED.{column})"
    )
    forward = [
        f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"{upsert.format(rows='new_rows')}; RETURN NULL; END $$",
        *(
            f"CREATE TRIGGER {table}_{event.lower()}_changes AFTER {event} ON {table} "
            f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            for event in ("INSERT", "UPDATE")
        ),
        upsert.format(rows=table),
    ]
    backward = [
        *(f"DROP TRIGGER {table}_{event}_changes ON {table}" for event in ("insert", "update")),
        f"DROP FUNCTION {function}()",
    ]
    return forward, backward


def _sqlite(kind: str, table: str) -> tuple[list[str], list[str]]:
    column = f"{kind}_changed_at"
    upsert = (
        f"INSERT INTO usage_monthlychange (api_key_id, month, {column}) "
        "VALUES (NEW.api_key_id, date(NEW.day, 'start of month'), NEW.changed_at) "
        "ON CONFLICT (api_key_id, month) DO UPDATE SET "
        f"{column} = max(coalesce({column}, excluded.{column}), excluded.{column})"
    )
    forward = [
        f"CREATE TRIGGER {table}_{event.lower()}_changes AFTER {event} ON {table} "
        f"BEGIN {upsert}; END"
        for event in ("INSERT", "UPDATE")
    ]
    forward.append(
        f"INSERT INTO usage_monthlychange (api_key_id, month, {column}) "
        f"SELECT api_key_id, date(day, 'start of month'), max(changed_at) FROM {table} "
        f"WHERE true GROUP BY 1, 2 ON CONFLICT (api_key_id, month) DO UPDATE SET "
        f"{column} = excluded.{column}"
    )
    backward = [f"DROP TRIGGER {table}_{event}_changes" for event in ("insert", "update")]
    return forward, backward


def _statements(schema_editor, backwards: bool) -> list[str]:
    vendor = schema_editor.connection.vendor
    make = {"postgresql": _postgres, "sqlite": _sqlite}[vendor]
    statements = []
    for kind, table in TABLES.items():
        forward, backward = make(kind, table)
        statements += backward if backwards else forward
    return statements


def add_triggers(apps, schema_editor):
    for statement in _statements(schema_editor, backwards=False):
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    for statement in _statements(schema_editor, backwards=True):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0007_project_breakdown_facts'),
        ('usage', '0012_monthly_cost_sums'),
    ]

    operations = [
        migrations.CreateModel(
            name='MonthlyChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField()),
                ('usage_changed_at', models.DateTimeField(null=True)),
                ('cost_changed_at', models.DateTimeField(null=True)),
                ('api_key', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.apikey')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('api_key', 'month'), name='one_change_a_key_month')],
            },
        ),
        migrations.RunPython(add_triggers, drop_triggers),
    ]
