"""Usage nobody is billed for: an accessor that is no customer's key keeps its usage and cost
in tables of their own, and `accessor_assign` moves them onto the key from a chosen day, with
their corrections, never inside or before a month issued for the customer, and audited; the
monthly list of unassigned usage and cost that finance and support see."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from django.test import Client
from django.urls import reverse

from customers.services import project_ensure_default
from invoices.models import BillingTerms, CustomerPlan, Invoice, PricePlan
from invoices.services import invoice_approve, invoice_generate_drafts
from usage.models import (
    AccessorEvent,
    CostCorrection,
    DailyCost,
    DailyUsage,
    UnassignedAccessor,
    UnassignedCost,
    UnassignedUsage,
    UsageCorrection,
)
from usage.selectors import assigned_from
from usage.services import (
    UNASSIGNED_COST,
    UNASSIGNED_USAGE,
    AssignmentRefused,
    accessor_assign,
    issued_months,
    store_day_rows,
    unassigned_accessor_of,
)

pytestmark = pytest.mark.django_db

ACCESSOR = "c0c0c0c0-0000-4000-8000-000000000001"
SEPTEMBER, OCTOBER, NOVEMBER = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)


def issued_for(sender, customer, since, **kwargs):
    """The months the invoices app says are issued (the query its receiver runs)."""
    return set(
        Invoice.objects.issued_invoices()
        .filter(customer=customer, period__gte=since)
        .values_list("period", flat=True)
    )


@pytest.fixture(autouse=True)
def invoices_answer():
    issued_months.connect(issued_for, dispatch_uid="tests-issued-months")
    yield
    issued_months.disconnect(dispatch_uid="tests-issued-months")


@pytest.fixture
def console(default_project):
    """An accessor of the default project that is no customer's key."""
    return unassigned_accessor_of(project=default_project, accessor=ACCESSOR)


def units(hours, requests=1, characters=0):
    return (D(hours), D(hours), D(0), characters, 0, 0, requests)


def put(accessor, rows: dict[date, str], cost: dict[date, str] | None = None, *, run_id=None):
    """Store what Deepgram reported for the accessor over September to November: streaming
    nova-3 hours, and its cost per line item."""
    window = {accessor.pk: (SEPTEMBER, date(2026, 11, 30))}
    store_day_rows(
        UNASSIGNED_USAGE,
        {
            accessor.pk: {
                (day, "listen", "streaming", "nova-3"): units(h) for day, h in rows.items()
            }
        },
        window,
        run_id=run_id,
    )
    store_day_rows(
        UNASSIGNED_COST,
        {accessor.pk: {(day, "streaming::nova-3"): (D(d),) for day, d in (cost or {}).items()}},
        window,
        run_id=run_id,
    )


@pytest.fixture
def imported(console, customer_a, key_of):
    """The accessor's key, imported for Acme."""
    return key_of(customer_a, ACCESSOR)


# --- Stored apart ---------------------------------------------------------------------------


def test_it_keeps_one_record_per_project_and_accessor(console, default_project):
    assert unassigned_accessor_of(project=default_project, accessor=ACCESSOR) == console
    assert UnassignedAccessor.objects.count() == 1


def test_it_stores_unassigned_usage_and_cost_apart_from_customers(console):
    put(console, {date(2026, 10, 3): "1.500000"}, {date(2026, 10, 3): "0.387000"})

    row = UnassignedUsage.objects.get()
    assert (row.day, row.endpoint, row.method, row.model) == (
        date(2026, 10, 3),
        "listen",
        "streaming",
        "nova-3",
    )
    assert (row.hours, row.requests) == (D("1.500000"), 1)
    assert UnassignedCost.objects.get().dollars == D("0.387000")
    assert not DailyUsage.objects.exists() and not DailyCost.objects.exists()


def test_it_corrects_unassigned_usage_like_a_keys(console):
    put(console, {date(2026, 10, 3): "1.500000"})

    put(console, {date(2026, 10, 3): "2.000000"})

    row = UnassignedUsage.objects.get()
    correction = row.corrections.get()
    assert (correction.old_hours, correction.new_hours) == (D("1.500000"), D("2.000000"))


# --- Assignment -----------------------------------------------------------------------------


def test_it_moves_the_rows_from_the_chosen_day_onto_the_key(console, imported, support_user):
    put(
        console,
        {date(2026, 9, 30): "1.000000", date(2026, 10, 1): "2.000000", date(2026, 10, 9): "4.0"},
        {date(2026, 9, 30): "0.100000", date(2026, 10, 9): "0.400000"},
    )

    done = accessor_assign(accessor=console, api_key=imported, from_day=OCTOBER, user=support_user)

    assert (done.usage_rows, done.cost_rows, done.kept) == (2, 1, 0)
    assert {(r.day, r.total_hours) for r in DailyUsage.objects.filter(api_key=imported)} == {
        (date(2026, 10, 1), D("2.000000")),
        (date(2026, 10, 9), D("4.000000")),
    }
    moved = DailyUsage.objects.get(api_key=imported, day=date(2026, 10, 9))
    assert (moved.endpoint, moved.method, moved.model) == ("listen", "streaming", "nova-3")
    assert DailyCost.objects.get(api_key=imported).dollars == D("0.400000")
    assert list(UnassignedUsage.objects.values_list("day", flat=True)) == [date(2026, 9, 30)]
    assert list(UnassignedCost.objects.values_list("day", flat=True)) == [date(2026, 9, 30)]
    console.refresh_from_db()
    assert (console.assigned_key, console.assigned_from) == (imported, OCTOBER)


def test_it_moves_the_corrections_with_their_rows(console, imported, support_user):
    put(console, {date(2026, 10, 3): "1.000000"}, {date(2026, 10, 3): "0.100000"})
    put(console, {date(2026, 10, 3): "3.000000"}, {date(2026, 10, 3): "0.300000"})

    accessor_assign(accessor=console, api_key=imported, from_day=OCTOBER, user=support_user)

    usage = UsageCorrection.objects.get()
    assert usage.usage.api_key == imported
    assert (usage.old_total_hours, usage.new_total_hours) == (D("1.000000"), D("3.000000"))
    cost = CostCorrection.objects.get()
    assert (cost.cost.api_key, cost.old_dollars, cost.new_dollars) == (
        imported,
        D("0.100000"),
        D("0.300000"),
    )


def test_it_keeps_the_rows_the_key_already_holds(console, imported, support_user):
    put(console, {date(2026, 10, 3): "1.000000", date(2026, 10, 4): "2.000000"})
    now = datetime(2026, 10, 5, tzinfo=UTC)
    DailyUsage.objects.create(
        api_key=imported,
        day=date(2026, 10, 4),
        endpoint="listen",
        method="streaming",
        model="nova-3",
        hours=D("2.500000"),
        total_hours=D("2.500000"),
        requests=3,
        first_seen_at=now,
        changed_at=now,
    )

    done = accessor_assign(accessor=console, api_key=imported, from_day=OCTOBER, user=support_user)

    assert (done.usage_rows, done.kept) == (1, 1)
    stored = dict(DailyUsage.objects.filter(api_key=imported).values_list("day", "hours"))
    assert stored == {date(2026, 10, 3): D("1.000000"), date(2026, 10, 4): D("2.500000")}
    assert not UnassignedUsage.objects.exists()


def test_it_tells_the_sync_the_first_day_that_is_the_keys(
    console, imported, key_of, customer_a, support_user
):
    other = key_of(customer_a)
    accessor_assign(accessor=console, api_key=imported, from_day=OCTOBER, user=support_user)

    assert assigned_from([imported.pk, other.pk]) == {imported.pk: OCTOBER}


def test_it_records_who_assigned_what_from_when(console, imported, support_user):
    put(console, {date(2026, 10, 3): "1.000000"})

    accessor_assign(accessor=console, api_key=imported, from_day=OCTOBER, user=support_user)

    event = AccessorEvent.objects.get()
    assert (event.action, event.actor, event.accessor, event.api_key) == (
        AccessorEvent.Action.ASSIGN,
        support_user,
        console,
        imported,
    )
    assert "From 2026-10-01" in event.detail and "1 usage and 0 cost rows moved" in event.detail


def test_it_bills_the_moved_usage_on_the_customers_next_draft(console, imported, support_user):
    plan = PricePlan.objects.create(name="Standard", currency="USD", rate_per_hour=D("0.258"))
    CustomerPlan.objects.create(customer=imported.customer, plan=plan, effective_from=SEPTEMBER)
    put(console, {date(2026, 10, 3): "10.000000", date(2026, 9, 3): "99.000000"})

    accessor_assign(accessor=console, api_key=imported, from_day=OCTOBER, user=support_user)
    draft = invoice_generate_drafts(period=OCTOBER).created[0]

    assert draft.subtotal == D("2.58")


def test_moved_cost_counts_in_the_months_kept_sums(console, imported, support_user):
    from usage.month_costs import month_costs

    put(console, {date(2026, 10, 3): "1.000000"}, {date(2026, 10, 3): "0.387000"})
    october = (OCTOBER, date(2026, 10, 31))
    assert month_costs(*october) == {}  # summed before the move

    accessor_assign(accessor=console, api_key=imported, from_day=OCTOBER, user=support_user)

    # The moved row keeps its older change time: the month is summed again, whole.
    assert month_costs(*october) == {imported.pk: D("0.387")}


# --- Refusals -------------------------------------------------------------------------------


def refused(console, api_key, from_day, user) -> str:
    before = (UnassignedUsage.objects.count(), DailyUsage.objects.count())
    with pytest.raises(AssignmentRefused) as refusal:
        accessor_assign(accessor=console, api_key=api_key, from_day=from_day, user=user)
    assert (UnassignedUsage.objects.count(), DailyUsage.objects.count()) == before
    assert not AccessorEvent.objects.exists()
    console.refresh_from_db()
    assert console.assigned_key is None
    return str(refusal.value)


def test_it_refuses_another_key(console, customer_a, key_of, support_user):
    put(console, {date(2026, 10, 3): "1.000000"})
    other = key_of(customer_a, "another-key")

    assert "is not accessor" in refused(console, other, OCTOBER, support_user)


def test_it_refuses_the_same_key_id_in_another_project(console, customer_a, key_of, support_user):
    elsewhere = project_ensure_default(project_id="proj-elsewhere", name="Elsewhere")
    record = unassigned_accessor_of(project=elsewhere, accessor=ACCESSOR)
    key = key_of(customer_a, ACCESSOR)  # in the default project

    assert "is not accessor" in refused(record, key, OCTOBER, support_user)


def test_it_refuses_an_accessor_assigned_already(console, imported, support_user):
    accessor_assign(accessor=console, api_key=imported, from_day=OCTOBER, user=support_user)

    with pytest.raises(AssignmentRefused, match="assigned already, from 2026-10-01"):
        accessor_assign(accessor=console, api_key=imported, from_day=NOVEMBER, user=support_user)
    assert AccessorEvent.objects.count() == 1


@pytest.fixture
def october_issued(imported, finance_user):
    """Acme's October invoice, issued."""
    plan = PricePlan.objects.create(name="Standard", currency="USD", rate_per_hour=D("0.258"))
    CustomerPlan.objects.create(customer=imported.customer, plan=plan, effective_from=SEPTEMBER)
    BillingTerms.objects.create(customer=imported.customer, tax_rate=D("0"), payment_terms_days=30)
    now = datetime(2026, 11, 2, tzinfo=UTC)
    DailyUsage.objects.create(
        api_key=imported,
        day=date(2026, 10, 2),
        hours=D("1"),
        total_hours=D("1"),
        requests=1,
        first_seen_at=now,
        changed_at=now,
    )
    draft = invoice_generate_drafts(period=OCTOBER).created[0]
    return invoice_approve(invoice=draft, actor=finance_user)


@pytest.mark.parametrize("from_day", [date(2026, 10, 1), date(2026, 10, 31), date(2026, 9, 15)])
def test_it_refuses_a_day_inside_or_before_an_issued_month(
    console, imported, october_issued, support_user, from_day
):
    put(console, {date(2026, 10, 3): "1.000000", date(2026, 11, 3): "1.000000"})

    assert "October 2026 is already issued" in refused(console, imported, from_day, support_user)


def test_it_assigns_from_the_month_after_the_issued_one(
    console, imported, october_issued, support_user
):
    put(console, {date(2026, 10, 3): "1.000000", date(2026, 11, 3): "1.000000"})

    done = accessor_assign(accessor=console, api_key=imported, from_day=NOVEMBER, user=support_user)

    assert done.usage_rows == 1
    assert list(UnassignedUsage.objects.values_list("day", flat=True)) == [date(2026, 10, 3)]


def test_it_assigns_after_a_voided_month(console, imported, october_issued, support_user):
    Invoice.objects.filter(pk=october_issued.pk).update(status=Invoice.Status.VOID)
    put(console, {date(2026, 10, 3): "1.000000"})

    assert (
        accessor_assign(
            accessor=console, api_key=imported, from_day=OCTOBER, user=support_user
        ).usage_rows
        == 1
    )


def test_it_refuses_when_no_app_says_which_months_are_issued(
    console, imported, support_user, monkeypatch
):
    put(console, {date(2026, 10, 3): "1.000000"})
    monkeypatch.setattr(issued_months, "receivers", [])

    assert "No app answered" in refused(console, imported, OCTOBER, support_user)


# --- The unassigned usage list --------------------------------------------------------------

UNASSIGNED = reverse("admin:usage_unassignedaccessor_changelist")


@pytest.fixture
def client(db):
    """The web client (the usage conftest's `client` is the Deepgram one)."""
    return Client()


@pytest.fixture
def two_months(console, default_project):
    """The console key used September and October; a staff key only September."""
    put(
        console,
        {date(2026, 9, 30): "1.000000", date(2026, 10, 1): "2.000000", date(2026, 10, 2): "0.5"},
        {date(2026, 10, 1): "0.516000", date(2026, 10, 2): "0.129000"},
    )
    staff = unassigned_accessor_of(project=default_project, accessor="staff-key")
    put(staff, {date(2026, 9, 3): "7.000000"}, {date(2026, 9, 3): "1.806000"})
    return console, staff


def listed(response) -> dict[str, tuple]:
    return {
        row.accessor: (row.total_hours, row.requests, row.dollars)
        for row in response.context["cl"].result_list
    }


@pytest.mark.parametrize("user", ["support_user", "finance_user"])
def test_it_lists_a_months_unassigned_usage_and_cost(client, request, user, two_months):
    client.force_login(request.getfixturevalue(user))

    response = client.get(UNASSIGNED, {"month": "2026-10"})

    assert response.status_code == 200
    assert listed(response) == {ACCESSOR: (D("2.500000"), 2, D("0.645000"))}
    assert "Unassigned usage, October 2026" in response.text
    assert "2.500000 total hours" in response.text and "0.645000" in response.text


def test_it_lists_every_months_when_none_is_chosen(client, support_user, two_months):
    client.force_login(support_user)

    response = client.get(UNASSIGNED)

    assert listed(response) == {
        ACCESSOR: (D("3.500000"), 3, D("0.645000")),
        "staff-key": (D("7.000000"), 1, D("1.806000")),
    }
    assert "October 2026" in response.text and "September 2026" in response.text


def test_it_forbids_the_unassigned_usage_to_other_staff(client, other_staff):
    client.force_login(other_staff)

    assert client.get(UNASSIGNED).status_code == 403


# Session, user, permissions (2); the months to filter by, the projects to filter by; the
# count, the full count and the page (with each accessor's sums).
UNASSIGNED_LIST_QUERIES = 9


@pytest.mark.parametrize("accessors", [3, 30])
def test_it_lists_unassigned_usage_in_a_fixed_number_of_queries(
    finance_user, default_project, list_in_queries, accessors
):
    for n in range(accessors):
        record = unassigned_accessor_of(project=default_project, accessor=f"key-{n}")
        put(record, {date(2026, 10, 1 + n % 28): "1.000000"}, {date(2026, 10, 2): "0.1"})

    shown = list_in_queries(
        UNASSIGNED, user=finance_user, queries=UNASSIGNED_LIST_QUERIES, month="2026-10"
    )

    assert len(shown) == accessors
