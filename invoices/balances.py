"""What is left to pay of issued invoices, and their payment state: read only (the admin, the
portal and the services read it; `services.payments` writes payments).

An invoice's outstanding balance is its total, less its credit notes that are not void, less
its payments (reversals count against them). Its payment state is derived, never stored:
unpaid, partly paid, paid, credited (nothing left and none of it paid), and overdue when read
after its due date with a balance left.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from .models import Invoice, Payment

__all__ = ["Balance", "CustomerBalance", "balances_of", "customer_balances"]

ZERO = Decimal(0)


@dataclass(frozen=True)
class Balance:
    """What is left to pay of an invoice, and how it came about."""

    total: Decimal
    credited: Decimal  # its credit notes' totals, as a positive amount
    paid: Decimal  # payments less reversals
    due_on: date | None

    @property
    def outstanding(self) -> Decimal:
        return self.total - self.credited - self.paid

    def state(self, today: date | None = None) -> str:
        """unpaid / partly paid / paid / credited (nothing left, none of it paid) / overdue
        (a balance left after the due date)."""
        if self.outstanding <= 0:
            return "credited" if self.paid <= 0 else "paid"
        today = today or timezone.now().date()
        if self.due_on is not None and today > self.due_on:
            return "overdue"
        return "partly paid" if self.paid > 0 or self.credited > 0 else "unpaid"


def balances_of(invoices) -> dict[int, Balance]:
    """The balance of each issued invoice among `invoices` (instances): two queries."""
    pks = {i.pk for i in invoices if i.kind == Invoice.Kind.INVOICE and not i.is_draft}
    if not pks:
        return {}
    credited = dict(
        Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE, credits_id__in=pks)
        .exclude(status=Invoice.Status.VOID)
        .values_list("credits_id")
        .annotate(s=Sum("total"))
        .order_by()
    )
    paid = dict(
        Payment.objects.filter(invoice_id__in=pks)
        .values_list("invoice_id")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    return {
        i.pk: Balance(i.total, -(credited.get(i.pk) or ZERO), paid.get(i.pk) or ZERO, i.due_on)
        for i in invoices
        if i.pk in pks
    }


@dataclass(frozen=True)
class CustomerBalance:
    """What a customer has left to pay in one currency: the sum of its open invoices'
    balances (the portal keeps no unapplied credit: overpayments are refused), how much of
    it is overdue, and the next due date of what is not."""

    currency: str
    outstanding: Decimal
    overdue: Decimal
    open_invoices: int
    next_due: date | None


def customer_balances(customer, today: date | None = None) -> list[CustomerBalance]:
    """The customer's balance per currency (only currencies with something left), in three
    queries."""
    today = today or timezone.now().date()
    invoices = list(
        Invoice.objects.filter(
            customer=customer, kind=Invoice.Kind.INVOICE, status=Invoice.Status.ISSUED
        ).only("pk", "kind", "status", "total", "currency", "due_on")
    )
    found: dict[str, dict] = {}
    balances = balances_of(invoices)
    for invoice in invoices:
        balance = balances[invoice.pk]
        if balance.outstanding <= 0:
            continue
        entry = found.setdefault(
            invoice.currency, {"outstanding": ZERO, "overdue": ZERO, "open": 0, "next": None}
        )
        entry["outstanding"] += balance.outstanding
        entry["open"] += 1
        if balance.state(today) == "overdue":
            entry["overdue"] += balance.outstanding
        elif invoice.due_on and (entry["next"] is None or invoice.due_on < entry["next"]):
            entry["next"] = invoice.due_on
    return [
        CustomerBalance(cur, e["outstanding"], e["overdue"], e["open"], e["next"])
        for cur, e in sorted(found.items())
    ]
