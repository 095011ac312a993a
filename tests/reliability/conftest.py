"""The reliability matrix: faults and bad input, each row asserting that where nothing may
change, nothing did. `stored_state` reads every table of the apps as rows, so a test compares
the tables, not a return value."""

from datetime import datetime

import pytest
from django.apps import apps

from customers.services import api_key_import

APPS = ("customers", "usage", "invoices")


def read_stored_state() -> dict[str, list[tuple]]:
    """Every row of every model of the apps, in primary-key order, as tuples of field values."""
    state = {}
    for label in APPS:
        for model in apps.get_app_config(label).get_models():
            names = [field.attname for field in model._meta.concrete_fields]
            rows = model.objects.order_by("pk").values_list(*names)
            state[model._meta.label] = list(rows)
    return state


@pytest.fixture
def stored_state():
    """`stored_state()` reads the tables now (call it before and after the fault)."""
    return read_stored_state


def changed_tables(before: dict, after: dict) -> set[str]:
    """The tables whose rows differ between two `stored_state()` readings."""
    return {table for table in before.keys() | after.keys() if before[table] != after[table]}


@pytest.fixture
def imported_keys(sandbox, default_project, support_user, customer_a, customer_b):
    """`imported_keys(count, created=..., id_prefix=...)`: keys made on the sandbox at
    `created` (fixed ids: fixed synthetic usage), imported in turn for customers A and B."""

    def make(count: int, *, created: datetime, id_prefix: str) -> list:
        made = []
        for n in range(count):
            customer = (customer_a, customer_b)[n % 2]
            key_id = f"{id_prefix}-0000-4000-8000-{n + 1:012d}"
            sandbox.add_key(
                customer.name,
                created=created,
                api_key_id=key_id,
                project_id=default_project.project_id,
                scopes=("usage:write",),
            )
            made.append(
                api_key_import(
                    project=default_project, key_id=key_id, customer=customer, actor=support_user
                )
            )
        return made

    return make


@pytest.fixture
def with_october_usage(key_of):
    """`with_october_usage(customer, plan)`: the customer on `plan` since January, with
    billing terms (20 % tax) and 2 hours on 3 October on a key of its own."""
    from datetime import UTC, date
    from decimal import Decimal as D

    from invoices.models import BillingTerms, CustomerPlan
    from usage.models import DailyUsage

    def put(customer, plan):
        CustomerPlan.objects.create(customer=customer, plan=plan, effective_from=date(2026, 1, 1))
        BillingTerms.objects.create(customer=customer, tax_rate=D("20.00"))
        now = datetime(2026, 10, 4, tzinfo=UTC)
        DailyUsage.objects.create(
            api_key=key_of(customer), day=date(2026, 10, 3), method="all", hours=D("2"),
            total_hours=D("2"), requests=3, first_seen_at=now, changed_at=now,
        )  # fmt: skip

    return put
