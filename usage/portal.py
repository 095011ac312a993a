"""The customer portal's usage pages: the months with usage, one month per line item (models,
text to speech, voice agent) with a chart per unit, and one CSV per month.

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
from .portal_charts import stacked_daily_bars
from .portal_selectors import PORTAL_UNITS, line_item_days
from .services import utc_today

CSV_COLUMNS = ["day", "key_id", "key_comment", "method", "hours", "total_hours", "requests"]
MONTH = re.compile(r"(\d{4})-(\d{2})")


# How each unit a customer's month is shown in reads, each with its own chart:
# (label, suffix, hours?). Keyed by `portal_selectors.PORTAL_UNITS`, in its order.
UNIT_LABELS: dict[str, tuple[str, str, bool]] = {
    "total_hours": ("Audio hours (every channel counted)", "h", True),
    "agent_hours": ("Voice agent hours", "h", True),
    "tts_characters": ("Text-to-speech characters", "characters", False),
    "tokens_in": ("Tokens in", "tokens", False),
    "tokens_out": ("Tokens out", "tokens", False),
}


@require_safe
@customer_required
def usage_months(request):
    """The months with stored usage, newest first, each with its CSV; with `?month=YYYY-MM`,
    that month per line item and unit (`usage_month`)."""
    if "month" in request.GET:
        return usage_month(request, _month_or_404(request.GET["month"]))
    return render(
        request,
        "portal/usage.html",
        {
            "customer": request.customer,
            "months": selectors.usage_months(customer=request.customer),
            "nav": "usage",
        },
    )


def usage_month(request, month: date):
    """A month's usage per line item and, for each unit it has, a chart of its days with a
    series per line item, and the line items' quantities. Four queries in all (the session,
    the user and customer, the rows, the mapping)."""
    first, last = selectors.month_bounds(month)
    items = line_item_days(customer=request.customer, start=first, end=last)
    units = []
    for unit in PORTAL_UNITS:
        label, suffix, in_hours = UNIT_LABELS[unit]
        used = [(item.label, item.days[unit]) for item in items if item.total(unit)]
        if used:
            units.append(
                {
                    "unit": unit,
                    "label": label,
                    "suffix": suffix,
                    "hours": in_hours,
                    "chart": stacked_daily_bars(used, start=first, end=last),
                    "items": sorted(
                        ((name, sum(days.values())) for name, days in used), key=lambda i: -i[1]
                    ),
                }
            )
    return render(
        request,
        "portal/usage_month.html",
        {
            "customer": request.customer,
            "month": first,
            "through": min(last, utc_today()),
            "units": units,
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
