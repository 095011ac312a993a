"""The billing side of a customer's admin page (the customer page is finance's and support's
hub): what is missing before the customer can be billed, its plans over time, its billing
terms, its balance, its latest invoices and credit notes and, for finance, its margin. Reads
only; shown by the `billing_hub` template tag, so the customers app imports nothing of
invoices.

Who sees what: anyone who opens the page sees what setup is missing (support provisions keys
and invites users; finance sets plans and terms), each with a link only for those who may
act on it. Money (balance, invoices, margin) needs the invoices view permission, which
Support does not have.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from customers.models import ApiKey, CustomerUser

from .balances import Balance, CustomerBalance, balances_of, customer_balances
from .margin import MarginRow, month_margin
from .models import BillingTerms, CustomerPlan, Invoice, PricePlan
from .services.plans import MAX_CHAIN

__all__ = ["CustomerHub", "customer_hub"]

LATEST_DOCUMENTS = 12
MARGIN_MONTHS = 6


@dataclass(frozen=True)
class Missing:
    """A step of setup not done: what, why it matters, and where to do it (None: the user
    may not)."""

    what: str
    why: str
    url: str | None
    action: str


@dataclass(frozen=True)
class PriceChange:
    """A price change scheduled for (or in force on) a plan while it is the customer's."""

    month: date
    plan: PricePlan
    replaces: PricePlan


@dataclass
class CustomerHub:
    missing: list[Missing] = field(default_factory=list)
    plans: list[CustomerPlan] = field(default_factory=list)
    current_plan: CustomerPlan | None = None
    price_changes: list[PriceChange] = field(default_factory=list)
    priced_by: PricePlan | None = None  # this month, when a price change is in force
    terms: BillingTerms | None = None
    terms_url: str | None = None
    add_plan_url: str | None = None
    sees_money: bool = False
    balances: list[CustomerBalance] = field(default_factory=list)
    drafts: list[Invoice] = field(default_factory=list)
    documents: list[tuple[Invoice, Balance | None]] = field(default_factory=list)
    more_documents: int = 0
    documents_url: str = ""
    margin: list[MarginRow] = field(default_factory=list)
    statement_url: str | None = None


def customer_hub(customer, user, today: date | None = None) -> CustomerHub:
    """Everything the customer page shows of billing, for `user`. A bounded number of queries:
    15, and up to 8 per month of margin (at most 6 months) for finance."""
    today = today or timezone.now().date()
    hub = CustomerHub()
    may = user.has_perm
    hub.plans = list(
        CustomerPlan.objects.filter(customer=customer)
        .select_related("plan__replaced_by")
        .order_by("-effective_from")
    )
    month = today.replace(day=1)
    hub.current_plan = next((p for p in hub.plans if p.effective_from <= month), None)
    hub.price_changes = _price_changes(hub.plans)
    if hub.current_plan is not None:
        in_force = [c.plan for c in hub.price_changes if hub.current_plan.effective_from
                    <= c.month <= month]  # fmt: skip
        hub.priced_by = in_force[-1] if in_force else None
    hub.terms = BillingTerms.objects.filter(customer=customer).first()
    if may("invoices.add_customerplan"):
        hub.add_plan_url = _add_url("invoices_customerplan", customer, effective_from=month)
    if hub.terms and may("invoices.change_billingterms"):
        hub.terms_url = reverse("admin:invoices_billingterms_change", args=[hub.terms.pk])
    hub.missing = _missing(customer, hub, may)
    hub.sees_money = may("invoices.view_invoice")
    if hub.sees_money:
        _money(customer, hub, today, user)
    return hub


def _price_changes(plans: list[CustomerPlan]) -> list[PriceChange]:
    """The price changes of each assigned plan while it is the customer's (`plans` newest
    first), in month order; a query for each step of a chain after the first."""
    changes = []
    ends = [None, *(a.effective_from for a in plans[:-1])][: len(plans)]
    for assignment, end in zip(plans, ends, strict=True):
        plan = assignment.plan
        for _ in range(MAX_CHAIN):
            if not plan.replaced_by_id or (end and plan.replaced_from >= end):
                break
            month = max(plan.replaced_from, assignment.effective_from)
            changes.append(PriceChange(month, plan.replaced_by, plan))
            plan = plan.replaced_by
    return sorted(changes, key=lambda change: change.month)


def _missing(customer, hub: CustomerHub, may) -> list[Missing]:
    missing = []
    if hub.current_plan is None:
        later = hub.plans[-1] if hub.plans else None
        why = (
            f"its first plan starts {later.effective_from:%B %Y}"
            if later
            else "no draft can be priced"
        )
        missing.append(Missing("No price plan this month", why, hub.add_plan_url, "Assign a plan"))
    if hub.terms is None:
        may_add = may("invoices.add_billingterms")
        url = _add_url("invoices_billingterms", customer) if may_add else None
        missing.append(
            Missing("No billing terms", "drafts cannot be approved", url, "Set billing terms")
        )
    if not CustomerUser.objects.filter(customer=customer).exists():
        url = (
            reverse("admin:customers_customer_invite_user", args=[customer.pk])
            if may("customers.add_customeruser")
            else None
        )
        missing.append(
            Missing("No portal user", "nobody can download its invoices", url, "Invite a user")
        )
    if not ApiKey.objects.filter(customer=customer, status=ApiKey.Status.ACTIVE).exists():
        url = (
            reverse("admin:customers_customer_provision_key", args=[customer.pk])
            if may("customers.provision_apikey")
            else None
        )
        missing.append(
            Missing("No active Deepgram key", "it has no usage to bill", url, "Provision a key")
        )
    return missing


def _money(customer, hub: CustomerHub, today: date, user) -> None:
    hub.balances = customer_balances(customer, today)
    hub.drafts = list(
        Invoice.objects.filter(customer=customer, status=Invoice.Status.DRAFT).order_by("-period")
    )
    documents = Invoice.objects.filter(customer=customer).exclude(status=Invoice.Status.DRAFT)
    latest = list(
        documents.select_related("credits").order_by("-issued_on", "-number")[:LATEST_DOCUMENTS]
    )
    balances = balances_of(latest)
    hub.documents = [(doc, balances.get(doc.pk)) for doc in latest]
    hub.more_documents = max(documents.count() - len(latest), 0) if latest else 0
    hub.documents_url = f"{reverse('admin:invoices_invoice_changelist')}?customer={customer.pk}"
    if user.has_perm("invoices.add_statementsent"):
        hub.statement_url = reverse("admin:invoices_statementsent_statement", args=[customer.pk])
    periods = sorted(
        {doc.period for doc in latest if doc.kind == Invoice.Kind.INVOICE}, reverse=True
    )[:MARGIN_MONTHS]
    for period in periods:
        issued = Invoice.objects.issued_invoices().filter(customer=customer, period=period)
        hub.margin.extend(month_margin(period, invoices=issued).rows)


def _add_url(name: str, customer, **initial) -> str:
    query = "&".join(
        [f"customer={customer.pk}", *(f"{k}={v:%Y-%m-%d}" for k, v in initial.items())]
    )
    return f"{reverse(f'admin:{name}_add')}?{query}"


def margin_total(rows: list[MarginRow]) -> Decimal | None:
    """The margin in USD of rows whose margin is known (None when none is)."""
    known = [r.margin_usd for r in rows if r.margin_usd is not None]
    return sum(known, Decimal(0)) if known else None
