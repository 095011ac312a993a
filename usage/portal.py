"""The customer portal's usage pages: the months with usage, and one CSV per month.

Every view is wrapped in `customer_required` and reads only `request.customer`'s keys.
"""

import csv
import re
from datetime import date

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.http import require_safe

from billing_portal.csv_cells import text_cell
from customers.portal import customer_required

from . import selectors
from .services import utc_today

CSV_COLUMNS = ["day", "key_id", "key_comment", "method", "hours", "total_hours", "requests"]
MONTH = re.compile(r"(\d{4})-(\d{2})")


@require_safe
@customer_required
def usage_months(request):
    """The months with stored usage, newest first, each with its CSV."""
    return render(
        request,
        "portal/usage.html",
        {
            "customer": request.customer,
            "months": selectors.usage_months(customer=request.customer),
            "nav": "usage",
        },
    )


@require_safe
@customer_required
def usage_csv(request, month: str):
    """One row per key, day and method of a month, hours as stored (6 decimals)."""
    first, last = selectors.month_bounds(_month_or_404(month))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=csv_filename(request.customer, first)
    )
    response["Cache-Control"] = "private, no-store"
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    rows = selectors.usage_rows(customer=request.customer, start=first, end=last)
    for row in rows.iterator(chunk_size=2000):
        writer.writerow(
            [
                row["day"].isoformat(),
                text_cell(row["key_id"]),
                text_cell(row["key_comment"]),
                row["method"],
                f"{row['hours']:.6f}",
                f"{row['total_hours']:.6f}",
                row["requests"],
            ]
        )
    return response


def csv_filename(customer, month: date) -> str:
    return f"usage-{slugify(customer.name) or 'customer'}-{month:%Y-%m}.csv"


def _month_or_404(text: str) -> date:
    """`YYYY-MM` of a month not after the current UTC month, as its first day."""
    match = MONTH.fullmatch(text)
    try:
        first = date(int(match[1]), int(match[2]), 1) if match else None
    except ValueError:
        first = None
    if first is None or first > utc_today().replace(day=1):
        raise Http404("No such month")
    return first
