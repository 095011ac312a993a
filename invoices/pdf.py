"""Invoice PDFs: rendered by WeasyPrint from the invoice's own snapshot and lines.

`render_invoice_pdf(invoice)` is pure rendering; storing the issued document once, and serving
it, is `invoices.documents`. The URL fetcher only reads the project's static files: a template
or a setting can never make a render reach the network or the rest of the file system.
"""

import logging
import threading
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.db.models import Sum
from django.template.loader import render_to_string
from weasyprint import CSS, HTML, Document
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from billing_portal.cycles import cycle_collector_paused
from usage import selectors as usage_selectors
from usage.charts import daily_bars
from usage.models import Method

from .models import BilledUsage, Invoice, InvoiceLine
from .services.snapshots import (
    buyer_snapshot,
    seller_snapshot,
    without_bidi_controls,
    without_bidi_values,
)

logger = logging.getLogger(__name__)

# Bump when the template changes what an invoice shows; each stored PDF records the version.
TEMPLATE_VERSION = "2026.12.2"  # hours to a hundredth; the country once; tiers' usage lines
TEMPLATE = "invoices/pdf/invoice.html"
STYLESHEET = "invoices/pdf/invoice.css"


class StaticFilesOnly(URLFetcher):
    """WeasyPrint's fetcher, limited to `data:` URLs and files inside the static roots."""

    def __init__(self):
        super().__init__(timeout=2, allowed_protocols={"file", "data"}, allow_redirects=False)
        self.roots = [root.resolve() for root in static_roots()]

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "file":
            path = Path(unquote(parts.path)).resolve()
            if not any(path.is_relative_to(root) for root in self.roots):
                raise ValueError(f"Refused to read {path}: not a static file of the project.")
        elif scheme != "data":
            raise ValueError(f"Refused to fetch {url}: invoices may use static files only.")
        return super().fetch(url, headers)


def static_roots() -> list[Path]:
    """Every directory static files are served from: the finders' and the collected root."""
    roots = [Path(settings.STATIC_ROOT)]
    for finder in finders.get_finders():
        storages = getattr(finder, "storages", None) or {}
        roots += [Path(storage.location) for storage in storages.values()]
    return roots


def logo_url() -> str:
    """The seller's logo (`BILLING_LOGO_PATH`, a static file path) as a file URL, or ''."""
    if not settings.BILLING_LOGO_PATH:
        return ""
    found = finders.find(settings.BILLING_LOGO_PATH)
    if not found:
        logger.warning("BILLING_LOGO_PATH %s is not a static file", settings.BILLING_LOGO_PATH)
        return ""
    return Path(found).resolve().as_uri()


METHOD_ORDER = {method: n for n, method in enumerate(Method.values)}


@dataclass
class LineGroup:
    title: str
    lines: list = field(default_factory=list)


def group_lines(lines: list[InvoiceLine]) -> list[LineGroup]:
    """Usage grouped by key (titled by the key's comment and id), its lines in method order;
    then the charges that belong to no key (tiers, included hours, minimum, fees, manual).
    Titles and descriptions print without bidi controls (the lines themselves are not saved)."""
    groups: dict[int, LineGroup] = {}
    other = LineGroup("Charges")
    for line in lines:
        line.description = without_bidi_controls(line.description)
        if line.api_key_id is None:
            other.lines.append(line)
            continue
        key = line.api_key
        title = f"{key.comment} · key {key.key_id}" if key.comment else f"Key {key.key_id}"
        title = without_bidi_controls(title)
        groups.setdefault(line.api_key_id, LineGroup(title)).lines.append(line)
    for group in groups.values():
        group.lines.sort(key=lambda line: (METHOD_ORDER.get(line.method, 9), line.position))
    return [*groups.values(), *([other] if other.lines else [])]


def daily_hours_of(invoice: Invoice) -> dict[date, Decimal]:
    """Hours per day of the invoice's month, in the quantity it bills: what an issued invoice
    recorded as billed, or for a draft the stored usage it is computed from."""
    first, last = usage_selectors.month_bounds(invoice.period)
    if invoice.is_draft:
        return usage_selectors.daily_hours(
            customer=invoice.customer, start=first, end=last, quantity=invoice.billed_quantity
        )
    rows = (
        BilledUsage.objects.filter(invoice=invoice, day__range=(first, last))
        .values("day")
        .annotate(hours=Sum("quantity"))
        .order_by()
    )
    return {row["day"]: row["hours"] for row in rows}


def context_for(invoice: Invoice) -> dict:
    """Everything the template shows, from the invoice's own snapshot and lines (a draft has
    no snapshot yet: it previews the current seller and buyer details). Texts print without
    bidi controls, also those of a snapshot stored before they were left out of snapshots."""
    lines = list(invoice.lines.select_related("api_key").order_by("position", "pk"))
    first, last = usage_selectors.month_bounds(invoice.period)
    is_credit = invoice.kind == Invoice.Kind.CREDIT_NOTE
    chart = None
    if not is_credit:
        chart = daily_bars(daily_hours_of(invoice), end=last, days=(last - first).days + 1)
    terms_days = (
        (invoice.due_on - invoice.issued_on).days if invoice.due_on and invoice.issued_on else None
    )
    return {
        "invoice": invoice,
        "is_draft": invoice.is_draft,
        "is_credit": is_credit,
        "title": "Credit note" if is_credit else "Invoice",
        "seller": without_bidi_values(invoice.seller or seller_snapshot()),
        "buyer": without_bidi_values(invoice.buyer or buyer_snapshot(invoice.customer)),
        "pricing_notes": [without_bidi_controls(note) for note in invoice.pricing_notes],
        "tax_note": without_bidi_controls(invoice.tax_note),
        "logo_url": logo_url(),
        "first_day": first,
        "last_day": last,
        "groups": group_lines(lines),
        "by_unit": any(line.unit for line in lines),
        "chart": chart,
        "terms_days": terms_days,
        "credits": invoice.credits if is_credit else None,
        "credit_amount": -invoice.total if is_credit else None,
        "template_version": TEMPLATE_VERSION,
    }


def render_html(invoice: Invoice) -> str:
    return render_to_string(TEMPLATE, context_for(invoice))


def render_invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice (or credit note) as an A4 PDF; a draft renders as a watermarked preview."""
    return render_pdf(render_html(invoice))


def layout(html: str, stylesheets: list[CSS] | None = None) -> Document:
    """Any of our HTML laid out in pages (boxes with positions), with the static-files-only
    fetcher."""
    static_dir = (settings.BASE_DIR / "static").as_uri() + "/"
    document = HTML(string=html, base_url=static_dir, url_fetcher=StaticFilesOnly())
    return document.render(
        stylesheets=stylesheets, font_config=_font_config(), cache=_image_cache()
    )


def html_to_pdf(html: str, stylesheets: list[CSS] | None = None) -> bytes:
    """Any of our HTML to PDF, with the static-files-only fetcher."""
    # A render makes some 18,000 objects in reference cycles: without the pause, a full
    # collection (40 to 100 ms) fell into every second or third render.
    with cycle_collector_paused(collect_young_after=True):
        return layout(html, stylesheets).write_pdf()


def render_pdf(html: str) -> bytes:
    """HTML of the invoice template to PDF, with the invoice stylesheet."""
    return html_to_pdf(html, stylesheets=[_stylesheet()])


def invoice_layout(invoice: Invoice) -> Document:
    """The invoice's pages as WeasyPrint lays them out, before they become a PDF."""
    return layout(render_html(invoice), stylesheets=[_stylesheet()])


_per_thread = threading.local()


def _font_config() -> FontConfiguration:
    """One font configuration per thread (Pango's font maps are not thread-safe): building it
    costs on every render otherwise. The template declares no @font-face, so it only ever
    holds the system fonts."""
    if not hasattr(_per_thread, "font_config"):
        _per_thread.font_config = FontConfiguration()
    return _per_thread.font_config


def _image_cache() -> dict:
    """WeasyPrint's image cache, per thread: the logo is read and parsed once, not on every
    render. Only static files can be fetched, and they change with a deploy; the cache is
    still dropped when the logo setting or the logo file's modification time changes."""
    logo = logo_url()
    try:
        stamp = (logo, Path(unquote(urlsplit(logo).path)).stat().st_mtime_ns) if logo else ""
    except OSError:
        stamp = (logo, None)
    if getattr(_per_thread, "image_stamp", None) != stamp:
        _per_thread.image_stamp, _per_thread.images = stamp, {}
    return _per_thread.images


def _stylesheet() -> CSS:
    """The invoice stylesheet, parsed once per thread (parsing it is a good part of a render)."""
    if not hasattr(_per_thread, "stylesheet"):
        _per_thread.stylesheet = CSS(
            string=render_to_string(STYLESHEET),
            url_fetcher=StaticFilesOnly(),
            font_config=_font_config(),
        )
    return _per_thread.stylesheet
