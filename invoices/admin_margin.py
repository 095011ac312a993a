"""Finance's Margin page: a month's issued invoices against Deepgram's cost of the same keys
and days (`invoices.margin`), sorted by margin, with totals, the unassigned usage's cost as a
loss, the last 12 months as a chart, and a CSV; never shown to customers. And the Unpriced
usage page: what no rate card prices, across customers (`invoices.unpriced`)."""

import csv
from datetime import date

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.utils.html import format_html

from billing_portal.admin_mixins import admin_page, require

from .forms import PeriodForm
from .margin import margin_history, month_margin
from .models import Invoice
from .services.plans import previous_month
from .templatetags.invoice_format import money
from .unpriced import unpriced_usage

ROWS_A_PAGE = 100  # the lowest margins first; the totals and the CSV hold every invoice
CSV_COLUMNS = [
    "invoice",
    "customer",
    "currency",
    "revenue",
    "cost",
    "margin",
    "margin_percent",
    "revenue_usd",
    "cost_usd",
    "margin_usd",
]


def margin_page(request, model_admin):
    require(request, "invoices.view_invoice")
    form, period = _month_asked(request)
    report = month_margin(period)
    if request.GET.get("format") == "csv":
        return _csv(report)
    history = margin_history(period, known=report)
    peak = max((abs(m) for _, m in history), default=0) or 1
    bars = [(p, m, int(abs(m) * 100 / peak), m < 0) for p, m in history]
    return admin_page(
        request,
        model_admin,
        "admin/invoices/invoice/margin.html",
        f"Margin, {period:%B %Y}",
        form=form,
        report=report,
        page=Paginator(report.rows, ROWS_A_PAGE).get_page(request.GET.get("page")),
        period=period,
        bars=bars,
    )


def _csv(report) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="margin-{report.period:%Y-%m}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        writer.writerow(
            [
                row.number,
                row.customer,
                row.currency,
                row.revenue,
                _or_unknown(row.cost),
                _or_unknown(row.margin),
                _or_unknown(row.margin_percent),
                _or_unknown(row.revenue_usd),
                _or_unknown(row.cost_usd),
                _or_unknown(row.margin_usd),
            ]
        )
    writer.writerow(
        [
            "unassigned usage",
            "",
            "USD",
            0,
            report.unassigned_usd,
            -report.unassigned_usd,
            "",
            0,
            report.unassigned_usd,
            -report.unassigned_usd,
        ]
    )
    writer.writerow(
        ["total", "", "USD", "", "", "", "", report.revenue_usd, report.cost_usd, report.margin_usd]
    )
    return response


def _or_unknown(value):
    return "unknown" if value is None else value


def draft_margin(invoice):
    """A draft's margin for its page: its revenue net of tax against Deepgram's cost of its
    keys and month, a warning when negative."""
    [row] = month_margin(invoice.period, invoices=Invoice.objects.filter(pk=invoice.pk)).rows
    if row.margin is None:
        return "Unknown: Deepgram's cost of this month is not stored (or there is no rate)."
    cur = row.currency
    text = (
        f"{money(row.margin, cur)} {cur} ({row.margin_percent} %) on revenue of "
        f"{money(row.revenue, cur)}: Deepgram's cost {money(row.cost, cur)} {cur} "
        f"({money(row.cost_usd, 'USD')} USD)"
    )
    if row.margin < 0:
        return format_html('<strong class="errornote">Negative margin: {}</strong>', text)
    return text


def unpriced_page(request, model_admin):
    """Usage no rate card prices, across every customer of a month: priced once, on the plan."""
    require(request, "invoices.view_invoice")
    form, period = _month_asked(request)
    return admin_page(
        request,
        model_admin,
        "admin/invoices/invoice/unpriced.html",
        f"Unpriced usage, {period:%B %Y}",
        form=form,
        period=period,
        groups=unpriced_usage(period),
    )


def _month_asked(request) -> tuple[PeriodForm, date]:
    """The month a page was asked for (`?period=YYYY-MM`), else last month (`previous_month`);
    a month it cannot read shows last month with the form's error."""
    form = PeriodForm(request.GET if "period" in request.GET else None)
    if form.is_valid():
        return form, form.cleaned_data["period"]
    period = previous_month()
    return (form if form.is_bound else PeriodForm(initial={"period": f"{period:%Y-%m}"})), period
