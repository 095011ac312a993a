import pytest
from django.contrib.auth.models import Group


def codes(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


@pytest.mark.django_db
def test_it_gives_support_customer_care_permissions():
    assert {"customers.add_customer", "customers.change_customer"} <= codes("Support")
    assert "customers.change_customer_billing" not in codes("Support")


@pytest.mark.django_db
def test_it_gives_finance_billing_details_but_not_customer_edits():
    assert "customers.change_customer_billing" in codes("Finance")
    assert "customers.change_customer" not in codes("Finance")
    assert "customers.add_customer" not in codes("Finance")


@pytest.mark.django_db
def test_it_gives_neither_role_the_schedules_or_users():
    for group in ("Support", "Finance"):
        assert not {c for c in codes(group) if c.startswith(("django_celery_beat.", "auth."))}


@pytest.mark.django_db
def test_it_keeps_the_invoices_app_to_finance():
    assert {c for c in codes("Finance") if c.startswith("invoices.")}
    assert not {c for c in codes("Support") if c.startswith("invoices.")}
