"""Who may open which invoices page and run which action: Finance works; Support, like other
staff, sees nothing of the invoices app (invoices/migrations/0004: invoices are Finance's
work); visitors who are not staff are sent to the admin login."""

from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from invoices.models import ExchangeRate, Invoice, InvoiceEvent, PricePlan, RateCardEntry
from invoices.services import invoice_approve, invoice_generate_drafts

from .conftest import OCTOBER

# page: (url name, object, Finance, Support); other staff always get 403.
# Support's column is all 403 (see the module's docstring), kept so that a grant
# given back to Support shows up here page by page.
PAGES = {
    "invoice list": ("admin:invoices_invoice_changelist", None, 200, 403),
    "draft page": ("admin:invoices_invoice_change", "draft", 200, 403),
    "issued page": ("admin:invoices_invoice_change", "issued", 200, 403),
    "invoice add": ("admin:invoices_invoice_add", None, 403, 403),
    "invoice delete": ("admin:invoices_invoice_delete", "draft", 403, 403),
    "invoice history": ("admin:invoices_invoice_history", "issued", 200, 403),
    "generate drafts": ("admin:invoices_invoice_generate", None, 200, 403),
    "export CSV": ("admin:invoices_invoice_export", None, 200, 403),
    "stored PDF": ("admin:invoices_invoice_pdf", "issued", 200, 403),
    "draft preview": ("admin:invoices_invoice_preview", "draft", 200, 403),
    "add manual line": ("admin:invoices_invoice_add_line", "draft", 200, 403),
    "void": ("admin:invoices_invoice_void", "issued", 200, 403),
    "credit note": ("admin:invoices_invoice_credit", "issued", 200, 403),
    "mark paid": ("admin:invoices_invoice_mark_paid", "issued", 200, 403),
    "audit list": ("admin:invoices_invoiceevent_changelist", None, 200, 403),
    "price plan list": ("admin:invoices_priceplan_changelist", None, 200, 403),
    "price plan page": ("admin:invoices_priceplan_change", "plan", 200, 403),
    "price plan add": ("admin:invoices_priceplan_add", None, 200, 403),
    "price plan delete": ("admin:invoices_priceplan_delete", "plan", 403, 403),
    "customer plan list": ("admin:invoices_customerplan_changelist", None, 200, 403),
    "customer plan add": ("admin:invoices_customerplan_add", None, 200, 403),
    "billing terms list": ("admin:invoices_billingterms_changelist", None, 200, 403),
    "billing terms add": ("admin:invoices_billingterms_add", None, 200, 403),
    "exchange rate list": ("admin:invoices_exchangerate_changelist", None, 200, 403),
    "exchange rate add": ("admin:invoices_exchangerate_add", None, 200, 403),
    "exchange rate page": ("admin:invoices_exchangerate_change", "rate", 200, 403),
    "exchange rate delete": ("admin:invoices_exchangerate_delete", "rate", 403, 403),
    "rate card entry list": ("admin:invoices_ratecardentry_changelist", None, 200, 403),
    "rate card entry page": ("admin:invoices_ratecardentry_change", "entry", 200, 403),
    "rate card plan page": ("admin:invoices_priceplan_change", "card", 200, 403),
}
ROLES = ["finance_user", "support_user", "other_staff"]


@pytest.fixture(autouse=True)
def _november():
    with time_machine.travel("2026-11-05 09:00Z", tick=False):
        yield


@pytest.fixture
def objects(acme, customer_b, plan, key_of, put_usage, finance_user):
    """A draft (Globex), an issued invoice (Acme) and the plan."""
    from invoices.models import CustomerPlan

    CustomerPlan.objects.create(customer=customer_b, plan=plan, effective_from=OCTOBER)
    put_usage(key_of(acme), date(2026, 10, 3), "10.000000")
    invoice_generate_drafts(period=OCTOBER)
    issued = invoice_approve(invoice=Invoice.objects.get(customer=acme), actor=finance_user)
    rate = ExchangeRate.objects.create(day=date(2026, 10, 30), currency="EUR", per_usd="0.92")
    card = PricePlan.objects.create(name="Card", mode=PricePlan.Mode.RATE_CARD)
    entry = RateCardEntry.objects.create(
        plan=card, name="Nova-3", unit="audio_minutes", ladder="graduated"
    )
    entry.steps.create(up_to=D(600), unit_price=D("0.01"))
    entry.steps.create(up_to=None, unit_price=D("0.005"))
    return {
        "draft": Invoice.objects.get(customer=customer_b),
        "issued": issued,
        "plan": plan,
        "rate": rate,
        "card": card,
        "entry": entry,
    }


def url_of(page: str, objects) -> str:
    name, what, _, _ = PAGES[page]
    return reverse(name, args=[objects[what].pk] if what else [])


def expected(page: str, role: str) -> int:
    _, _, finance, support = PAGES[page]
    return {"finance_user": finance, "support_user": support, "other_staff": 403}[role]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_it_gives_each_staff_role_its_pages(client, request, objects, role, page):
    client.force_login(request.getfixturevalue(role))

    response = client.get(url_of(page, objects))

    assert response.status_code == expected(page, role)


@pytest.mark.parametrize("page", PAGES)
def test_it_sends_an_anonymous_visitor_to_the_admin_login(client, objects, page):
    url = url_of(page, objects)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={url}"


@pytest.mark.parametrize(
    ("role", "models"),
    [
        (
            "finance_user",
            {
                "AccountingExport",
                "BillingTerms",
                "CustomerPlan",
                "ExchangeRate",
                "FinanceSettings",
                "Invoice",
                "InvoiceEvent",
                "PricePlan",
                "RateCardEntry",
                "StatementSent",
            },
        ),
    ],
)
def test_it_lists_each_roles_models_on_the_admin_index(db, client, request, role, models):
    client.force_login(request.getfixturevalue(role))

    response = client.get(reverse("admin:index"))

    [app] = [app for app in response.context["app_list"] if app["app_label"] == "invoices"]
    assert {model["object_name"] for model in app["models"]} == models


@pytest.mark.parametrize("role", ["support_user", "other_staff"])
def test_it_hides_the_invoices_app_from_support_and_other_staff(db, client, request, role):
    client.force_login(request.getfixturevalue(role))

    response = client.get(reverse("admin:index"))

    assert "invoices" not in [app["app_label"] for app in response.context["app_list"]]


# --- Actions --------------------------------------------------------------------------------

ACTIONS = ["approve_selected", "refresh_selected"]


def run_action(client, action: str, invoice, **extra):
    return client.post(
        reverse("admin:invoices_invoice_changelist"),
        {"action": action, "_selected_action": [invoice.pk], **extra},
    )


def test_it_offers_finance_the_actions(client, finance_user, objects):
    client.force_login(finance_user)

    listing = client.get(reverse("admin:invoices_invoice_changelist"))

    for action in ACTIONS:
        assert f'value="{action}"' in listing.text
    assert 'value="delete_selected"' not in listing.text


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", ["support_user", "other_staff"])
def test_it_refuses_an_action_to_all_but_finance(client, request, objects, role, action):
    user = request.getfixturevalue(role)
    client.force_login(user)
    draft = objects["draft"]

    response = run_action(client, action, draft, confirmed="yes")

    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.status == Invoice.Status.DRAFT
    assert not InvoiceEvent.objects.filter(actor=user).exists()


# page: the form data of a valid submission.
WRITES = {
    "void": {"reason": "Wrong plan"},
    "credit note": {"scope": "full", "reason": "Goodwill"},
    "mark paid": {"paid_on": "2026-11-04", "reference": "TX-1"},
    "add manual line": {"description": "Onboarding", "quantity": "1", "unit_price": "50"},
    "generate drafts": {"period": "2026-10"},
}


@pytest.mark.parametrize("page", WRITES)
@pytest.mark.parametrize("role", ["support_user", "other_staff"])
def test_it_refuses_every_write_to_all_but_finance(client, request, objects, role, page):
    client.force_login(request.getfixturevalue(role))
    events = InvoiceEvent.objects.count()

    response = client.post(url_of(page, objects), WRITES[page])

    assert response.status_code == 403
    assert InvoiceEvent.objects.count() == events
    assert Invoice.objects.count() == 2


@pytest.mark.parametrize("page", WRITES)
def test_it_lets_finance_make_every_write(client, finance_user, objects, page):
    client.force_login(finance_user)
    events = InvoiceEvent.objects.count()

    response = client.post(url_of(page, objects), WRITES[page])

    assert response.status_code == 302
    assert InvoiceEvent.objects.count() > events or page == "generate drafts"


def test_it_refuses_plan_edits_to_support(client, support_user, objects):
    client.force_login(support_user)
    plan = objects["plan"]

    response = client.post(
        reverse("admin:invoices_priceplan_change", args=[plan.pk]), {"name": "Cheap"}
    )

    assert response.status_code == 403
    assert PricePlan.objects.get(pk=plan.pk).name == "Standard"


# --- Links on the pages ---------------------------------------------------------------------

TOOLS = {
    "issued": ["void", "credit", "mark-paid"],
    "draft": ["add-line"],
}


@pytest.mark.parametrize("what", TOOLS)
def test_it_shows_finance_the_tools_that_fit_the_invoice(client, finance_user, objects, what):
    client.force_login(finance_user)
    invoice = objects[what]

    page = client.get(reverse("admin:invoices_invoice_change", args=[invoice.pk])).text

    every = {slug for slugs in TOOLS.values() for slug in slugs}
    shown = {slug for slug in every if f"/{invoice.pk}/{slug}/" in page}
    assert shown == set(TOOLS[what])


# --- The roles migration --------------------------------------------------------------------

FX_CODES = {"view_exchangerate", "add_exchangerate", "change_exchangerate"}  # 0006
CARD_CODES = {  # 0007
    f"{verb}_{model}"
    for model in ("ratecardentry", "ratecardstep")
    for verb in ("view", "add", "change", "delete")
}
VERSION_CODES = {"view_planversion"}  # 0009
PAYMENT_CODES = {"add_payment", "view_payment"}  # 0012
ACCOUNTING_CODES = {  # 0015
    "view_financesettings",
    "change_financesettings",
    "add_accountingexport",
    "view_accountingexport",
    "add_statementsent",
    "view_statementsent",
}
FINANCE_CODES = {
    *(f"{verb}_{model}" for model in ("priceplan", "pricetier", "customerplan", "billingterms")
      for verb in ("view", "add", "change")),
    *FX_CODES,
    *CARD_CODES,
    *VERSION_CODES,
    *PAYMENT_CODES,
    *ACCOUNTING_CODES,
    "view_invoice",
    "view_invoiceline",
    "view_invoiceevent",
    "approve_invoice",
    "void_invoice",
    "credit_invoice",
    "mark_paid_invoice",
}  # fmt: skip
SUPPORT_VIEWS_UNTIL_0004 = {
    "view_invoice",
    "view_invoiceline",
    "view_invoiceevent",
    "view_priceplan",
    "view_pricetier",
    "view_customerplan",
}


def invoice_codes(group: str) -> set[str]:
    from django.contrib.auth.models import Permission

    return set(
        Permission.objects.filter(
            group__name=group, content_type__app_label="invoices"
        ).values_list("codename", flat=True)
    )


@pytest.mark.django_db
def test_it_gives_finance_and_support_exactly_their_invoice_permissions():
    assert invoice_codes("Finance") == FINANCE_CODES
    assert invoice_codes("Support") == set()


def migration_apps(name: str):
    """The historical models as migration `name` sees them (never the live app registry)."""
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    return MigrationLoader(connection).project_state(("invoices", name)).apps


@pytest.mark.django_db
def test_it_takes_the_invoice_permissions_back_when_migrated_backwards():
    import importlib

    roles = importlib.import_module("invoices.migrations.0002_roles")
    apps = migration_apps("0002_roles")

    (operation,) = roles.Migration.operations
    operation.reverse_code(apps, None)
    later = FX_CODES | CARD_CODES | VERSION_CODES | PAYMENT_CODES | ACCOUNTING_CODES
    assert invoice_codes("Finance") == later
    assert invoice_codes("Support") == set()
    operation.code(apps, None)
    assert invoice_codes("Finance") == FINANCE_CODES


@pytest.mark.django_db
def test_it_takes_the_exchange_rate_permissions_back_when_0006_is_reversed():
    import importlib

    rates = importlib.import_module("invoices.migrations.0006_exchange_rates")
    apps = migration_apps("0006_exchange_rates")

    grant = rates.Migration.operations[-1]
    grant.reverse_code(apps, None)
    assert invoice_codes("Finance") == FINANCE_CODES - FX_CODES
    grant.code(apps, None)
    assert invoice_codes("Finance") == FINANCE_CODES


@pytest.mark.django_db
def test_it_gives_support_its_invoice_views_back_when_0004_is_reversed():
    import importlib

    support = importlib.import_module("invoices.migrations.0004_support_without_invoices")
    apps = migration_apps("0004_support_without_invoices")

    (operation,) = support.Migration.operations
    operation.reverse_code(apps, None)
    assert invoice_codes("Support") == SUPPORT_VIEWS_UNTIL_0004
    operation.code(apps, None)
    assert invoice_codes("Support") == set()
    assert invoice_codes("Finance") == FINANCE_CODES
