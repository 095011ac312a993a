"""The invoice list's filters: period, currency, customer, and the payment state (unpaid,
partly paid, paid, credited, overdue), which is derived from the balance the database sums,
never stored."""

from django.contrib import admin
from django.db.models import (
    Case,
    Exists,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from customers.models import Customer
from usage.models import MonthlyChange

from .fields import MoneyField
from .forms import parse_period
from .models import CustomerPlan, Invoice, Payment, PricePlan

__all__ = [
    "CurrencyFilter",
    "CustomerFilter",
    "PaymentStateFilter",
    "PeriodFilter",
    "with_balances",
    "with_changes_since_computed",
]


class PeriodFilter(admin.SimpleListFilter):
    title = "period"
    parameter_name = "period"

    def lookups(self, request, model_admin):
        months = Invoice.objects.dates("period", "month", order="DESC")
        return [(f"{month:%Y-%m}", f"{month:%Y-%m}") for month in months]

    def queryset(self, request, queryset):
        period = parse_period(self.value() or "")
        return queryset.filter(period=period) if period else queryset


class CurrencyFilter(admin.SimpleListFilter):
    """The currencies of the price plans (a small table), not a scan of every invoice."""

    title = "currency"
    parameter_name = "currency"

    def lookups(self, request, model_admin):
        currencies = PricePlan.objects.order_by("currency").values_list("currency", flat=True)
        return [(c, c) for c in dict.fromkeys(currencies)]

    def queryset(self, request, queryset):
        return queryset.filter(currency=self.value()) if self.value() else queryset


class CustomerFilter(admin.SimpleListFilter):
    title = "customer"
    parameter_name = "customer"

    # Listing thousands of customers would cost more than the page; past this many only the
    # chosen one is listed (choose by searching, or from the customer's page).
    MAX_LISTED = 50

    def lookups(self, request, model_admin):
        customers = Customer.objects.only("pk", "name").order_by("name")
        listed = list(customers[: self.MAX_LISTED + 1])
        if len(listed) <= self.MAX_LISTED:
            return [(c.pk, c.name) for c in listed]
        chosen = self.value() or ""
        return [(c.pk, c.name) for c in customers.filter(pk=chosen)] if chosen.isdigit() else []

    def queryset(self, request, queryset):
        value = self.value() or ""
        return queryset.filter(customer_id=value) if value.isdigit() else queryset


def _summed(rows, field: str):
    """The sum of `field` over `rows` (grouped on the `OuterRef("pk")` they match), 0 when
    none."""
    money = MoneyField()
    total = rows.order_by().annotate(s=Sum(field)).values("s")[:1]
    return Coalesce(Subquery(total, output_field=money), Value(0), output_field=money)


def with_balances(queryset):
    """Invoices annotated with `credited` (their live credit notes, below zero), `paid_sum`
    (payments less reversals) and `outstanding`, as `balances.balances_of` reads them."""
    notes = Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE, credits=OuterRef("pk")).exclude(
        status=Invoice.Status.VOID
    )
    payments = Payment.objects.filter(invoice=OuterRef("pk"))
    return queryset.annotate(
        credited=_summed(notes.values("credits"), "total"),
        paid_sum=_summed(payments.values("invoice"), "amount"),
    ).annotate(outstanding=F("total") + F("credited") - F("paid_sum"))


def with_changes_since_computed(queryset):
    """Invoices annotated with whether, since a draft was computed, its month's usage or cost
    changed (`usage_changed`) or a plan of its customer was edited (`plan_changed`; a scheduled
    price change's copy too, one step of a chain): what the list shows as stale, in two EXISTS
    per row of the page. The draft's own page checks its whole fingerprint (terms, rates,
    manual lines too)."""
    since = OuterRef("computed_at")
    changes = MonthlyChange.objects.filter(
        api_key__customer=OuterRef("customer"), month=OuterRef("period")
    ).filter(Q(usage_changed_at__gt=since) | Q(cost_changed_at__gt=since))
    changed_by = Q(plan__replaced_by__isnull=False, plan__replaced_from__lte=OuterRef("period"))
    plans = CustomerPlan.objects.filter(customer=OuterRef("customer")).filter(
        (Q(plan__updated_at__gt=since) & ~changed_by)  # or its price change, once in force
        | (Q(plan__replaced_by__updated_at__gt=since) & changed_by)
    )
    draft = Q(status=Invoice.Status.DRAFT)  # asked of drafts only: issued ones never go stale
    return queryset.annotate(
        usage_changed=Case(When(draft, then=Exists(changes)), default=Value(False)),
        plan_changed=Case(When(draft, then=Exists(plans)), default=Value(False)),
    )


class PaymentStateFilter(admin.SimpleListFilter):
    """Issued invoices by what is left to pay on them (overdue: some left after the due
    date)."""

    title = "payment"
    parameter_name = "payment"

    def lookups(self, request, model_admin):
        return [
            ("unpaid", "Unpaid"),
            ("partly", "Partly paid"),
            ("paid", "Paid"),
            ("credited", "Credited"),
            ("overdue", "Overdue"),
        ]

    def queryset(self, request, queryset):
        if self.value() not in dict(self.lookups(request, None)):
            return queryset
        today = timezone.now().date()
        if "outstanding" not in queryset.query.annotations:  # the admin's list has them
            queryset = with_balances(queryset)
        issued = queryset.filter(kind=Invoice.Kind.INVOICE).exclude(
            status__in=[Invoice.Status.DRAFT, Invoice.Status.VOID]
        )
        left, settled = Q(outstanding__gt=0), Q(outstanding__lte=0)
        not_late = Q(due_on__isnull=True) | Q(due_on__gte=today)
        touched = Q(paid_sum__gt=0) | Q(credited__lt=0)
        return issued.filter(
            {
                "unpaid": left & not_late & ~touched,
                "partly": left & not_late & touched,
                "paid": settled & Q(paid_sum__gt=0),
                "credited": settled & ~Q(paid_sum__gt=0),
                "overdue": left & Q(due_on__lt=today),
            }[self.value()]
        )
