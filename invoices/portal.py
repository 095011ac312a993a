"""The customer portal's pages: the dashboard, the invoice list and the PDF download.

Every view is wrapped in `customer_required` and reads only `request.customer`'s data; a
draft or another customer's document is a 404, never a 403.
"""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_safe

from customers.portal import customer_required
from usage import selectors as usage_selectors
from usage.charts import daily_bars
from usage.models import Method
from usage.services import utc_today

from . import documents
from .balances import balances_of, customer_balances
from .estimates import dashboard_estimates
from .exceptions import PdfIntegrityError
from .portal_selectors import portal_invoice, portal_invoices
from .stamps import stamped_copy

INVOICES_PER_PAGE = 25
LATEST_INVOICES = 5


@require_safe
@customer_required
def dashboard(request):
    """This UTC month's estimated charge so far (and, on its first days, the last month's
    until it is invoiced: `invoices.estimates`), what the customer owes (per currency, what
    is overdue, the next due date), this month's usage so far (total hours per key, per
    method, per day) and the latest invoices."""
    customer = request.customer
    today = utc_today()
    first, last = usage_selectors.month_bounds(today)
    by_key = [
        {**row, "label": row["comment"] or row["key_id"]}
        for row in usage_selectors.hours_by_key(customer=customer, start=first, end=today)
    ]
    by_method = [
        _with_label(row)
        for row in usage_selectors.hours_by_method(customer=customer, start=first, end=today)
    ]
    daily = usage_selectors.daily_hours(customer=customer, start=first, end=today)
    chart = daily_bars(daily, end=last, days=last.day)
    return render(
        request,
        "portal/dashboard.html",
        {
            "customer": customer,
            "nav": "dashboard",
            "month": first,
            "today": today,
            "total_hours": chart.total,
            "by_key": by_key,
            "by_method": by_method,
            "breakdowns": [("By key", "Key", by_key), ("By method", "Method", by_method)],
            "chart": chart,
            "invoices": portal_invoices(customer=customer)[:LATEST_INVOICES],
            "balances": customer_balances(customer, today),
            "estimates": dashboard_estimates(customer, today),
        },
    )


@require_safe
@customer_required
def invoice_list(request):
    """The customer's issued, paid and void invoices and credit notes, newest first, each
    invoice with what is left to pay on it and its payment state."""
    paginator = Paginator(portal_invoices(customer=request.customer), INVOICES_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    balances = balances_of(page.object_list)  # what is left to pay on each, two queries
    for invoice in page.object_list:
        invoice.balance = balances.get(invoice.pk)
    return render(
        request,
        "portal/invoices.html",
        {"customer": request.customer, "nav": "invoices", "page": page},
    )


@require_safe
@customer_required
def invoice_pdf(request, public_id):
    """The stored PDF of one of the customer's documents, as an attachment."""
    invoice = portal_invoice(customer=request.customer, public_id=public_id)
    try:  # the customer's copy: stamped with its state now (void, paid, credited)
        data = stamped_copy(invoice, documents.invoice_pdf_bytes(invoice))
    except PdfIntegrityError:  # logged for the operators; the customer gets a page, not a 500
        return render(request, "portal/pdf_unavailable.html", {"invoice": invoice}, status=503)
    return documents.pdf_response(invoice, data, as_attachment=True)


def _with_label(row: dict) -> dict:
    label = Method(row["method"]).label if row["method"] in Method.values else row["method"]
    return {**row, "label": label}
