"""The reliability matrix: faults and bad input, each row asserting that where nothing may
change, nothing did. `stored_state` reads every table of the apps as rows, so a test compares
the tables, not a return value."""

import pytest
from django.apps import apps

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
