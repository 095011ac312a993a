"""The migration to usage by line item (0008-0010): rows made at the old schema are all kept,
with their totals, as the "model not reported" line item; and (golden) the invoices made
before it, drafts and issued, price to the same cent after it, and after a backfill by model
that replaces those rows."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from invoices.models import BillingTerms, CustomerPlan, Invoice, PricePlan, PriceTier
from invoices.services import invoice_approve, invoice_generate_drafts, invoice_refresh_draft
from invoices.services.draft_inputs import inputs_for_draft
from invoices.services.draft_pricing import price_draft
from invoices.services.plans import plan_for
from usage.line_items import NOT_REPORTED, LineItemMapping
from usage.models import DailyUsage, LineItem, UsageCorrection
from usage.services import KEY_USAGE, store_day_rows

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BEFORE = ("usage", "0007_syncrun_held_reason")
AUGUST, SEPTEMBER, OCTOBER = date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)


def migrate_to(*targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(list(targets) or executor.loader.graph.leaf_nodes())
    return executor.loader.project_state(list(targets)).apps if targets else None


def usage_rows() -> list[tuple]:
    return list(
        DailyUsage.objects.order_by("pk").values_list(
            "pk", "api_key_id", "day", "method", "hours", "total_hours", "requests"
        )
    )


# --- Rows made at the old schema ------------------------------------------------------------


def test_it_keeps_every_old_row_as_the_model_not_reported_line_item():
    old = migrate_to(BEFORE)
    Project = old.get_model("customers", "DeepgramProject")
    Customer = old.get_model("customers", "Customer")
    OldKey = old.get_model("customers", "ApiKey")
    OldUsage = old.get_model("usage", "DailyUsage")
    OldCorrection = old.get_model("usage", "UsageCorrection")
    project = Project.objects.create(project_id="p-1", name="P")
    customer = Customer.objects.create(name="Acme", billing_email="b@acme.example")
    keys = [
        OldKey.objects.create(
            customer=customer, project=project, key_id=f"k-{n}", comment="", scopes=[]
        )
        for n in range(2)
    ]
    now = timezone.now()
    made = []
    for n in range(1, 21):
        for method in ("all",) if n % 2 else ("sync", "async", "streaming"):
            made.append(
                OldUsage.objects.create(
                    api_key=keys[n % 2],
                    day=date(2026, 10, n),
                    method=method,
                    hours=D(f"{n}.123457"),
                    total_hours=D(f"{n * 2}.000001"),
                    requests=n * 7,
                    first_seen_at=now,
                    changed_at=now,
                )
            )
    OldCorrection.objects.create(
        usage=made[0],
        at=now,
        old_hours=D("1"),
        new_hours=made[0].hours,
        old_total_hours=D("2"),
        new_total_hours=made[0].total_hours,
        old_requests=1,
        new_requests=made[0].requests,
    )
    before = sorted(
        (r.pk, r.api_key_id, r.day, r.method, r.hours, r.total_hours, r.requests) for r in made
    )

    migrate_to()

    assert usage_rows() == before
    rows = DailyUsage.objects.all()
    assert {(r.endpoint, r.model) for r in rows} == {("", "")}
    assert {(r.agent_hours, r.tts_characters, r.tokens_in, r.tokens_out) for r in rows} == {
        (D(0), 0, 0, 0)
    }
    assert sum(r.total_hours for r in rows) == sum(r[5] for r in before)
    mapping = LineItemMapping.load()
    assert {mapping.of(r.endpoint, r.method, r.model).code for r in rows} == {NOT_REPORTED}
    correction = UsageCorrection.objects.get()
    assert (correction.usage_id, correction.old_hours) == (made[0].pk, D("1.000000"))
    assert (correction.old_tts_characters, correction.new_agent_hours) == (0, D(0))


def test_it_gives_the_roles_the_line_items_and_takes_them_back():
    migrate_to()
    finance = Group.objects.get(name="Finance")
    support = Group.objects.get(name="Support")
    assert finance.permissions.filter(codename="change_lineitemrule").exists()
    assert support.permissions.filter(codename="view_unassignedaccessor").exists()
    assert not support.permissions.filter(codename="change_lineitem").exists()
    assert LineItem.objects.filter(code=NOT_REPORTED, source="fixed").exists()

    migrate_to(BEFORE)

    assert not finance.permissions.filter(content_type__model="lineitem").exists()
    migrate_to()


# --- Golden: invoices made before price the same after --------------------------------------


def put(key, day, method, hours, total_hours, requests):
    now = timezone.now()
    DailyUsage.objects.create(
        api_key=key,
        day=day,
        method=method,
        hours=D(hours),
        total_hours=D(total_hours),
        requests=requests,
        first_seen_at=now,
        changed_at=now,
    )


@pytest.fixture
def invoices(make_customer, key_of, finance_user):
    """Two customers (one split by method on method rates, one on tiers billing audio hours),
    August and September issued, a late change of an August day since, October drafted with
    its adjustment line. Returns the invoices, oldest first."""
    by_method = PricePlan.objects.create(
        name="By method",
        currency="EUR",
        rate_per_hour=D("0.258000"),
        rate_sync=D("0.210000"),
        rate_streaming=D("0.333333"),
        platform_fee=D("10.00"),
        included_hours=D("1.5"),
    )
    tiered = PricePlan.objects.create(
        name="Tiered", currency="USD", rate_per_hour=D("0.3"), billed_quantity="hours"
    )
    PriceTier.objects.create(plan=tiered, up_to_hours=D("20"), rate_per_hour=D("0.300000"))
    PriceTier.objects.create(plan=tiered, up_to_hours=None, rate_per_hour=D("0.245000"))
    customers = []
    for plan, tax in ((by_method, "20.00"), (tiered, "7.70")):
        customer = make_customer()
        CustomerPlan.objects.create(customer=customer, plan=plan, effective_from=AUGUST)
        BillingTerms.objects.create(customer=customer, tax_rate=D(tax), payment_terms_days=30)
        customers.append(customer)
    split, plain, tiers = key_of(customers[0]), key_of(customers[0]), key_of(customers[1])
    for month in (AUGUST, SEPTEMBER, OCTOBER):
        for n in range(1, 29, 3):
            day = month.replace(day=n)
            put(split, day, "sync", f"0.{n:02}3331", f"0.{n:02}6667", n)
            put(split, day, "streaming", f"1.{n:02}0001", f"2.{n:02}0003", 2 * n)
            put(split, day, "async", "0.000001", "0.000002", 1)
            put(plain, day, "all", f"{n}.333333", f"{n}.777777", 3 * n)
            put(tiers, day, "all", f"{n}.101010", f"{n}.202020", n)
    with time_machine.travel(datetime(2026, 10, 20, tzinfo=UTC)):
        for month in (AUGUST, SEPTEMBER):
            for draft in invoice_generate_drafts(period=month).created:
                invoice_approve(invoice=draft, actor=finance_user)
    DailyUsage.objects.filter(api_key=plain, day=date(2026, 8, 4)).update(total_hours=D("9.5"))
    invoice_generate_drafts(period=OCTOBER)
    found = list(Invoice.objects.order_by("period", "customer_id"))
    assert [i.status for i in found] == ["issued"] * 4 + ["draft"] * 2
    assert Invoice.objects.filter(lines__kind="adjustment").count() == 1
    return found


def priced(invoice: Invoice) -> tuple:
    """What the invoice services price the invoice's inputs at now, and what it holds."""
    draft = price_draft(
        inputs_for_draft(invoice, plan_for(invoice.customer, invoice.period)), invoice.period
    )
    lines = [(line.kind, line.quantity, line.unit_price, line.amount) for line in draft.lines]
    invoice.refresh_from_db()
    stored = [
        (line.kind, line.quantity, line.unit_price, line.amount)
        for line in invoice.lines.order_by("position")
    ]
    return lines, stored, (invoice.subtotal, invoice.tax, invoice.total)


def test_every_invoice_prices_to_the_same_cent_after_the_migration(invoices):
    before = [priced(invoice) for invoice in invoices]
    rows = usage_rows()

    old = migrate_to(BEFORE)
    assert old.get_model("usage", "DailyUsage").objects.count() == len(rows)
    migrate_to()

    assert usage_rows() == rows
    assert [priced(invoice) for invoice in invoices] == before
    for draft in invoices[4:]:
        assert invoice_refresh_draft(customer=draft.customer, period=OCTOBER)[0] == "unchanged"


def backfill_by_model(rows):
    """What a sync by model would store for each key's days: each row split over two models
    of its method, summing to what was stored."""
    windows, reported = {}, {}
    for _, key_pk, day, method, hours, total_hours, requests in rows:
        windows[key_pk] = (AUGUST, date(2026, 10, 31))
        half = (hours / 2).quantize(D("0.000001")), (total_hours / 2).quantize(D("0.000001"))
        for model, h, t, r in (
            ("nova-3", half[0], half[1], requests // 2),
            ("Nova-2", hours - half[0], total_hours - half[1], requests - requests // 2),
        ):
            reported.setdefault(key_pk, {})[(day, "listen", method, model)] = (
                h,
                t,
                D(0),
                0,
                0,
                0,
                r,
            )
    store_day_rows(KEY_USAGE, reported, windows, run_id=None)


def test_every_invoice_prices_to_the_same_cent_after_a_backfill_by_model(invoices):
    before = [priced(invoice) for invoice in invoices]
    migrate_to()

    backfill_by_model(usage_rows())

    assert not DailyUsage.objects.filter(model="").exclude(total_hours=0).exists()
    assert [priced(invoice) for invoice in invoices] == before
