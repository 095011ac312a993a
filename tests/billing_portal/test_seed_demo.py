import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from customers.models import ApiKey, Customer, CustomerUser, DeepgramProject
from usage.models import DailyUsage
from usage.services import utc_today


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts():
    return (
        get_user_model().objects.count(),
        Customer.objects.count(),
        DeepgramProject.objects.count(),
        ApiKey.objects.count(),
    )


@pytest.mark.django_db
def test_it_is_idempotent(sandbox):
    seed()
    first = counts()

    seed()

    assert first == (4, 3, 1, 6)  # a new and an imported older key per customer
    assert counts() == first


@pytest.mark.django_db
def test_it_gives_each_demo_customer_a_key_on_deepgram(sandbox):
    seed()

    keys = ApiKey.objects.all()
    assert {key.customer.name for key in keys} == {c.name for c in Customer.objects.all()}
    assert all(key.key_id in sandbox.key_ids() for key in keys)


@pytest.mark.django_db
def test_it_syncs_usage_so_the_demo_has_numbers(sandbox):
    out = seed()

    assert DailyUsage.objects.filter(day__lt=utc_today() - timedelta(days=30)).exists()
    assert "Usage synced: 6 keys" in out


@pytest.mark.django_db
def test_it_makes_a_portal_user_for_the_first_customer(sandbox):
    seed()

    assert CustomerUser.objects.get().customer.name == "Acme Voice Ltd"


@pytest.mark.django_db
def test_it_puts_demo_staff_in_their_roles(sandbox):
    seed()
    User = get_user_model()

    assert list(User.objects.get(username="support").groups.values_list("name", flat=True)) == [
        "Support"
    ]
    assert list(User.objects.get(username="finance").groups.values_list("name", flat=True)) == [
        "Finance"
    ]
    assert User.objects.get(username="admin").is_superuser


@pytest.mark.django_db
def test_it_makes_the_configured_project_the_default(sandbox, settings):
    seed()

    assert DeepgramProject.objects.get(is_default=True).project_id == settings.DEEPGRAM_PROJECT_ID


@pytest.mark.django_db
def test_it_prints_passwords_only_in_debug(sandbox, settings):
    settings.DEBUG = False
    quiet = seed()
    settings.DEBUG = True
    loud = seed()

    assert "password:" not in quiet
    assert "support             password: demo-support-pass" in loud
    assert get_user_model().objects.get(username="support").check_password("demo-support-pass")


@pytest.mark.django_db
def test_it_issues_some_demo_invoices_and_leaves_a_draft_to_approve(sandbox):
    import hashlib

    from invoices.models import Invoice
    from invoices.services import previous_month

    out = seed()
    numbers = sorted(Invoice.objects.exclude(number=None).values_list("number", flat=True))
    again = seed()

    last_month = Invoice.objects.filter(period=previous_month()).order_by("customer__name")
    assert [(i.customer.name, i.status) for i in last_month] == [
        ("Acme Voice Ltd", "issued"),
        ("Globex Transcripts", "issued"),
        ("Initech Calls", "draft"),
    ]
    assert all(invoice.total > 0 for invoice in last_month)
    earlier = Invoice.objects.get(period=previous_month(previous_month()))
    assert (earlier.customer.name, earlier.status) == ("Acme Voice Ltd", "paid")
    for invoice in Invoice.objects.exclude(status="draft"):
        stored = invoice.pdf.open("rb").read()
        assert hashlib.sha256(stored).hexdigest() == invoice.pdf_sha256
    # A second run issues nothing more.
    assert sorted(Invoice.objects.exclude(number=None).values_list("number", flat=True)) == numbers
    assert "Invoices issued for the portal demo: 3" in out
    assert "Invoices issued for the portal demo: 0" in again


@pytest.mark.django_db
def test_it_makes_no_keys_against_the_real_deepgram(sandbox, settings):
    settings.DEEPGRAM_SANDBOX = False
    keys_before = sandbox.key_ids()

    out = seed()

    assert not ApiKey.objects.exists()
    assert sandbox.key_ids() == keys_before
    assert "Demo keys provisioned: 0" in out


@pytest.mark.django_db
def test_it_issues_demo_invoices_in_nobodys_name(sandbox):
    from invoices.models import Invoice, InvoiceEvent

    seed()

    issued = Invoice.objects.exclude(number=None)
    assert issued.count() == 3
    assert {(i.approved_by, i.paid_marked_by) for i in issued} == {(None, None)}
    assert not InvoiceEvent.objects.exclude(actor=None).filter(
        action__in=[InvoiceEvent.Action.APPROVED, InvoiceEvent.Action.PAID]
    )


@pytest.mark.django_db
def test_a_rerun_a_month_on_issues_nothing_and_logs_nobody_out(sandbox, client, settings):
    import time_machine

    from invoices.models import Invoice

    settings.DEBUG = True  # fixed demo passwords, set on every run before
    seed()
    finance = get_user_model().objects.get(username="finance")
    client.force_login(finance)
    hashes = dict(get_user_model().objects.values_list("username", "password"))
    numbers = set(Invoice.objects.exclude(number=None).values_list("number", flat=True))

    with time_machine.travel(utc_today() + timedelta(days=31), tick=False):
        again = seed()

    assert set(Invoice.objects.exclude(number=None).values_list("number", flat=True)) == numbers
    assert "Invoices issued for the portal demo: 0" in again
    assert dict(get_user_model().objects.values_list("username", "password")) == hashes
    assert client.get("/admin/").status_code == 200  # the session still holds


@pytest.mark.django_db
def test_it_shows_each_pricing_mode_on_a_demo_customer(sandbox):
    from invoices.models import Invoice, PricePlan
    from invoices.services import previous_month

    seed()

    last = {
        invoice.customer.name: invoice
        for invoice in Invoice.objects.filter(period=previous_month()).select_related("customer")
    }
    modes = {name: invoice.pricing_mode for name, invoice in last.items()}
    assert modes == {
        "Acme Voice Ltd": PricePlan.Mode.HOURLY,
        "Globex Transcripts": PricePlan.Mode.RATE_CARD,
        "Initech Calls": PricePlan.Mode.COST_PLUS,
    }
    card_lines = " ".join(last["Globex Transcripts"].lines.values_list("description", flat=True))
    assert "Aura text to speech" in card_lines and "Voice agent" in card_lines
    initech = last["Initech Calls"]
    assert initech.fx_rate is not None and initech.pricing_blockers == [] and initech.subtotal > 0


@pytest.mark.django_db
def test_its_margin_page_knows_every_demo_customers_margin(sandbox):
    from invoices.margin import month_margin
    from invoices.services import previous_month

    seed()

    rows = month_margin(previous_month()).rows
    # Initech's month is the draft left to approve (its page shows its margin).
    assert {row.customer for row in rows} == {"Acme Voice Ltd", "Globex Transcripts"}
    assert all(row.margin is not None and row.margin_usd is not None for row in rows)
