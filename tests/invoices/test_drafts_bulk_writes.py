"""How draft generation writes: new drafts in bulk (COPY on PostgreSQL, multi-row INSERT on
SQLite) with every other field at its default, ids read back per customer, lines and events."""

import gc
import uuid
from datetime import date
from decimal import Decimal as D

import pytest
from django.utils import timezone

from billing_portal.bulk import insert_objects, insert_rows
from customers.models import Customer
from invoices.models import CustomerPlan, Invoice, InvoiceEvent, InvoiceLine
from invoices.services import invoice_generate_drafts
from invoices.services.draft_pricing import DRAFT_TOTALS_FIELDS

from .conftest import OCTOBER

# What generation sets on a new draft; every other field must hold its model default.
# What a new draft is given: its identity, customer and month, and what pricing sets.
COMPUTED = {"id", "public_id", "customer", "period", "created_at", *DRAFT_TOTALS_FIELDS}


@pytest.fixture
def customers(plan, key_of, put_usage):
    """Three customers on the plan, each with its own key and usage."""
    made = []
    for n, hours in enumerate(("10.000000", "2.500000", "7.250000"), start=1):
        customer = Customer.objects.create(name=f"Customer {n}", billing_email=f"c{n}@x.example")
        CustomerPlan.objects.create(customer=customer, plan=plan, effective_from=date(2026, 1, 1))
        put_usage(key_of(customer, f"key-{n}"), date(2026, 10, 3), hours)
        made.append(customer)
    return made


def test_it_stores_a_new_draft_with_every_other_field_at_its_default(acme, key_of, put_usage):
    put_usage(key_of(acme), date(2026, 10, 3), "10.000000")
    before = timezone.now()

    draft = Invoice.objects.get(pk=invoice_generate_drafts(period=OCTOBER).created_ids[0])

    for field in Invoice._meta.concrete_fields:
        if field.name not in COMPUTED:
            assert getattr(draft, field.attname) == field.get_default(), field.name
    assert (draft.customer, draft.period, draft.kind, draft.status) == (
        acme,
        OCTOBER,
        "invoice",
        "draft",
    )
    assert isinstance(draft.public_id, uuid.UUID)
    assert draft.pricing_notes == ["10.000000 h of usage in October 2026."]
    assert before <= draft.created_at <= timezone.now()
    assert draft.computed_at >= before


def test_it_gives_each_new_draft_its_own_id_lines_and_event(customers):
    report = invoice_generate_drafts(period=OCTOBER)

    drafts = report.created
    assert [d.customer for d in drafts] == customers
    assert len({d.public_id for d in drafts}) == 3
    for draft in drafts:
        usage_line = draft.lines.get(kind=InvoiceLine.Kind.USAGE)
        assert usage_line.api_key.customer == draft.customer
        assert draft.subtotal == sum(line.amount for line in draft.lines.all())
        event = InvoiceEvent.objects.get(invoice=draft)
        assert (event.action, event.detail) == ("generated", f"Total {draft.total} USD.")
    assert [d.subtotal for d in drafts] == [D("12.58"), D("10.65"), D("11.87")]


def test_it_reads_the_new_drafts_only_when_asked(customers, django_assert_num_queries):
    report = invoice_generate_drafts(period=OCTOBER)

    assert report.counts()["created"] == 3
    with django_assert_num_queries(1):
        assert [d.pk for d in report.created] == report.created_ids
    with django_assert_num_queries(0):
        report.created  # noqa: B018 - read once


def test_insert_rows_sends_nothing_without_rows(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        insert_rows(InvoiceEvent._meta.db_table, ("invoice_id",), iter(()))


def test_insert_objects_stores_json_text_uuids_and_defaults(customer_a):
    notes = ['tab\there, "quotes", back\\slash', "new\nline", "ünïcode €"]

    insert_objects(
        Invoice,
        [
            {"customer_id": customer_a.pk, "period": OCTOBER, "currency": "EUR"},
            {
                "customer_id": customer_a.pk,
                "period": date(2026, 11, 1),
                "currency": "EUR",
                "pricing_notes": notes,
                "seller": {"name": "Voice Apps Ltd", "vat": None},
                "subtotal": D("12.34"),
            },
        ],
    )

    plain, full = Invoice.objects.filter(customer=customer_a).order_by("period")
    assert (plain.pricing_notes, plain.seller, plain.buyer, plain.subtotal) == ([], {}, {}, 0)
    assert (full.pricing_notes, full.seller, full.subtotal) == (
        notes,
        {"name": "Voice Apps Ltd", "vat": None},
        D("12.34"),
    )
    assert plain.public_id != full.public_id
    assert plain.status == "draft" and plain.number is None


@pytest.mark.parametrize("enabled", [True, False])
def test_it_leaves_the_garbage_collector_as_it_found_it(customers, enabled):
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        invoice_generate_drafts(period=OCTOBER)

        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_a_refresh_updates_the_computed_fields_and_nothing_else(customers, put_usage):
    before = {d.pk: d for d in invoice_generate_drafts(period=OCTOBER).created}
    for customer in customers:
        put_usage(customer.api_keys.get(), date(2026, 10, 20), "1.000000")

    report = invoice_generate_drafts(period=OCTOBER)

    assert [d.pk for d in report.refreshed] == list(before)
    # One more hour at 0.258 each: 11 h 2.84, 3.5 h 0.90 (0.903), 8.25 h 2.13; fee 10.
    assert [d.subtotal for d in Invoice.objects.filter(pk__in=before).order_by("pk")] == [
        D("12.84"),
        D("10.90"),
        D("12.13"),
    ]
    for draft in Invoice.objects.filter(pk__in=before):
        old = before[draft.pk]
        assert (draft.public_id, draft.created_at, draft.status) == (
            old.public_id,
            old.created_at,
            old.status,
        )
        assert draft.usage_fingerprint != old.usage_fingerprint
        assert draft.computed_at > old.computed_at
        assert draft.pricing_notes[0].endswith("h of usage in October 2026.")
        assert draft.pricing_notes != old.pricing_notes
        assert draft.total == draft.subtotal + draft.tax
        assert draft.subtotal == sum(line.amount for line in draft.lines.all())
        assert list(draft.events.values_list("action", flat=True)) == ["generated", "refreshed"]
