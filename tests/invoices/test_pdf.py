"""The invoice PDF, read back as text the way a customer's PDF reader would."""

import gc
import io
import os
import re
import threading
from datetime import date
from decimal import Decimal as D
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pypdf import PdfReader

from invoices.models import Invoice
from invoices.pdf import (
    TEMPLATE_VERSION,
    StaticFilesOnly,
    html_to_pdf,
    invoice_layout,
    render_html,
    render_invoice_pdf,
    render_pdf,
)
from invoices.services import (
    buyer_snapshot,
    credit_note_create,
    invoice_approve,
    invoice_generate_drafts,
    seller_snapshot,
)
from invoices.services.snapshots import without_bidi_controls
from invoices.templatetags.invoice_format import hours_brief

from .conftest import OCTOBER


def pdf_pages(data: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(data))
    return [page.extract_text() for page in reader.pages]


def flat(text: str) -> str:
    return " ".join(text.split())


def test_an_issued_invoice_reads_as_one(issued):
    text = flat("\n".join(pdf_pages(render_invoice_pdf(issued))))

    assert issued.number in text
    assert "Acme Voice Ltd" in text
    for line in issued.lines.all():
        assert f"{line.amount:,.2f}" in text
    assert "Subtotal 13.23" in text
    assert re.search(r"T ?ax \(20%\) 2\.65", text)  # pypdf may split the kerned "T"
    assert "Total USD 15.88" in text
    assert "12.50 750.0" in text  # hours to a hundredth, and minutes
    assert "0.258/h" in text
    assert f"{issued.due_on:%-d %B %Y}" in text
    assert "Payment terms: 14 days" in text
    assert "Page 1 of 1" in text
    assert "DRAFT" not in text
    assert "1\u201331 October 2026 (UTC)" in text  # the period, with an en dash
    assert f"AMOUNT DUE 15.88 USD by {issued.due_on:%-d %B %Y}" in text
    assert "Hours a day, October 2026: 12.5 h in all, at most 10 h" in text  # the chart's


def test_the_seller_and_buyer_come_from_the_snapshot(issued, settings):
    settings.BILLING_COMPANY_NAME = "Renamed Seller plc"
    issued.customer.name = "Renamed Buyer"
    issued.customer.save()

    text = flat("\n".join(pdf_pages(render_invoice_pdf(Invoice.objects.get(pk=issued.pk)))))

    assert "Example Voice Apps Ltd" in text and "Renamed Seller" not in text
    assert "Acme Voice Ltd" in text and "Renamed Buyer" not in text


def test_a_draft_renders_as_a_watermarked_preview_without_a_number(october_draft):
    text = flat("\n".join(pdf_pages(render_invoice_pdf(october_draft))))

    assert "DRAFT" in text
    assert "Draft invoice" in text and "assigned on approval" in text
    assert not re.search(r"INV-\d{4}-\d{6}", text)
    assert "Total USD 15.88" in text


def test_a_credit_note_refers_to_the_original(issued, finance_user):
    note = credit_note_create(
        invoice=issued, actor=finance_user, reason="Goodwill", amount=D("5.00")
    )

    text = flat("\n".join(pdf_pages(render_invoice_pdf(note))))

    assert "Credit note" in text and note.number in text
    assert f"refers to invoice {issued.number}" in text
    assert "Total credit USD -6.00" in text  # 5.00 net and 20 % tax
    assert "Credit of 6.00 USD" in text and "REASON Credits" in text and "Goodwill" in text


def test_reverse_charge_prints_its_note_instead_of_a_rate(acme, key_of, put_usage, finance_user):
    terms = acme.billing_terms
    terms.reverse_charge, terms.tax_rate = True, D("0")
    terms.save()
    put_usage(key_of(acme), date(2026, 10, 3), "1.000000")
    invoice = invoice_approve(
        invoice=invoice_generate_drafts(period=OCTOBER).created[0], actor=finance_user
    )

    text = flat("\n".join(pdf_pages(render_invoice_pdf(invoice))))

    assert "Reverse charge: VAT to be accounted for by the recipient." in text
    assert re.search(r"T ?ax 0\.00", text)


def test_many_lines_paginate_with_page_x_of_y(acme, key_of, put_usage, finance_user):
    for n in range(200):
        put_usage(key_of(acme, key_id=f"key-{n:03d}"), date(2026, 10, 1 + n % 28), "0.500000")
    invoice = invoice_approve(
        invoice=invoice_generate_drafts(period=OCTOBER).created[0], actor=finance_user
    )
    assert invoice.lines.count() > 200

    pages = pdf_pages(render_invoice_pdf(invoice))

    assert len(pages) >= 4
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert "DESCRIPTION" in text.upper()  # the table head repeats on every page
    assert "Total USD" in flat(pages[-1])


def test_the_page_count_grows_with_the_lines(acme, key_of, put_usage, finance_user):
    put_usage(key_of(acme), date(2026, 10, 3), "1.000000")
    short = invoice_generate_drafts(period=OCTOBER).created[0]

    assert len(pdf_pages(render_invoice_pdf(short))) == 1


def test_the_invoice_records_the_template_it_was_rendered_with(issued):
    from invoices.documents import invoice_store_pdf

    stored = invoice_store_pdf(invoice=issued)

    assert stored.pdf_template_version == TEMPLATE_VERSION
    assert PdfReader(stored.pdf.open("rb")).metadata["/Producer"].startswith("WeasyPrint")


# --- Hostile text: bidi controls, long words, CJK (the matrix is tests/reliability) ---------


def with_buyer(invoice: Invoice, fields: dict) -> Invoice:
    """The issued invoice as if its buyer snapshot had been stored with `fields` (say, before
    snapshots left out bidi controls): a row update, never a save of an issued invoice."""
    Invoice.objects.filter(pk=invoice.pk).update(buyer={**invoice.buyer, **fields})
    return Invoice.objects.get(pk=invoice.pk)


BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def test_it_removes_every_bidi_control_and_keeps_right_to_left_letters():
    text = "".join(f"{control}x" for control in BIDI_CONTROLS)

    assert without_bidi_controls(text) == "x" * len(BIDI_CONTROLS)
    assert without_bidi_controls("شارع 12 רחוב, 漢字\n") == "شارع 12 רחוב, 漢字\n"


def test_both_snapshots_leave_out_bidi_controls(customer_a, settings):
    settings.BILLING_ADDRESS = "1 Example Street\u202e, London"
    settings.BILLING_COMPANY_NAME = "\u2067Example\u2069 Ltd"
    customer_a.legal_name, customer_a.address = "Acme\u200f", "9 Road\u202e, Leeds\u202c"
    customer_a.tax_id = "\u202dGB123"

    seller, buyer = seller_snapshot(), buyer_snapshot(customer_a)

    assert seller["address"] == "1 Example Street, London" and seller["name"] == "Example Ltd"
    assert (buyer["name"], buyer["address"], buyer["tax_id"]) == ("Acme", "9 Road, Leeds", "GB123")


def test_a_snapshot_stored_with_a_bidi_override_prints_without_it(issued):
    issued = with_buyer(issued, {"address": "12 Main Street\u202e, Springfield"})

    text = flat("\n".join(pdf_pages(render_invoice_pdf(issued))))

    assert "12 Main Street, Springfield" in text and "\u202e" not in text
    assert Invoice.objects.get(pk=issued.pk).buyer["address"].endswith("\u202e, Springfield")


def test_key_comments_and_line_texts_print_without_bidi_controls(acme, key_of, put_usage):
    put_usage(key_of(acme, comment="Prod\u202euction"), date(2026, 10, 3), "1.000000")
    draft = invoice_generate_drafts(period=OCTOBER).created[0]
    line = draft.lines.first()
    line.description = "Speech\u202e usage"
    line.save(update_fields=["description"])

    text = flat("\n".join(pdf_pages(render_invoice_pdf(draft))))

    assert "Production · key" in text and "Speech usage" in text
    assert not set(BIDI_CONTROLS) & set(text)


def test_chinese_and_japanese_print_with_a_cjk_font(issued):
    issued = with_buyer(issued, {"name": "漢字株式会社", "address": "東京都 かな通り 1"})

    reader = PdfReader(io.BytesIO(render_invoice_pdf(issued)))
    fonts = {
        str(f.get_object()["/BaseFont"]) for f in reader.pages[0]["/Resources"]["/Font"].values()
    }

    assert "漢字株式会社" in reader.pages[0].extract_text()
    assert "東京都 かな通り 1" in reader.pages[0].extract_text()
    assert any("WenQuanYi" in name for name in fonts), fonts


def _right_edges(box):
    yield box.border_box_x() + box.border_width()
    for child in getattr(box, "children", ()):
        yield from _right_edges(child)


def test_an_unbroken_e_mail_address_wraps_inside_the_page(issued):
    issued = with_buyer(issued, {"email": "billing-" + "x" * 230 + "@acme.example"})

    page = invoice_layout(issued).pages[0]._page_box

    assert max(_right_edges(page.children[0])) <= page.margin_width() - page.margin_right + 0.5


def test_a_long_address_prints_up_to_an_ellipsis_and_stays_stored_whole(issued):
    address = "Unit 4\n" + "9" * 5000
    issued = with_buyer(issued, {"address": address})

    pages = pdf_pages(render_invoice_pdf(issued))

    assert len(pages) == 1 and "AMOUNT DUE" in pages[0]
    assert "Unit 4" in pages[0] and "9…" in pages[0] and pages[0].count("9") < 600
    assert Invoice.objects.get(pk=issued.pk).buyer["address"] == address


# --- The URL fetcher: static files only ----------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def web_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_the_fetcher_refuses_the_network(web_server):
    with pytest.raises(ValueError, match="static files only"):
        StaticFilesOnly().fetch(f"{web_server}/logo.png")

    html_to_pdf(
        f'<img src="{web_server}/logo.png"><link rel="stylesheet" href="{web_server}/x.css">'
    )

    assert _Recorder.hits == []  # the render never reached the server


def test_the_fetcher_refuses_files_outside_the_static_roots(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not print")

    with pytest.raises(ValueError, match="not a static file"):
        StaticFilesOnly().fetch(secret.as_uri())
    with pytest.raises(ValueError, match="not a static file"):
        StaticFilesOnly().fetch("file:///etc/passwd")

    text = flat("\n".join(pdf_pages(html_to_pdf(f'<object data="{secret.as_uri()}"></object>'))))
    assert "do not print" not in text


def test_the_fetcher_reads_static_files_and_data_urls(settings):
    from django.contrib.staticfiles import finders

    logo = finders.find("billing/logo.svg")
    assert logo, "the demo logo ships with the static files"

    assert b"<svg" in StaticFilesOnly().fetch(f"file://{logo}").read()
    assert StaticFilesOnly().fetch("data:text/plain,hello").read() == b"hello"


def test_the_logo_setting_prints_a_static_file(issued, settings):
    settings.BILLING_LOGO_PATH = "billing/logo.svg"

    reader = PdfReader(io.BytesIO(render_invoice_pdf(issued)))

    assert reader.pages[0].images or "/XObject" in reader.pages[0]["/Resources"]


def test_the_logo_is_read_once_and_again_when_its_file_changes(issued, settings, tmp_path):
    from PIL import Image

    settings.STATICFILES_DIRS = [tmp_path]
    settings.BILLING_LOGO_PATH = "seller-logo.png"
    logo = tmp_path / "seller-logo.png"
    Image.new("RGB", (40, 10), "navy").save(logo)
    stamp = logo.stat().st_mtime_ns

    def printed_logo_widths() -> list[int]:
        reader = PdfReader(io.BytesIO(render_invoice_pdf(issued)))
        return [image.image.width for image in reader.pages[0].images]

    assert printed_logo_widths() == [40]

    # Replaced under the same modification time: the logo read before still prints.
    Image.new("RGB", (80, 10), "navy").save(logo)
    os.utime(logo, ns=(stamp, stamp))
    assert printed_logo_widths() == [40]

    # A new modification time (a deploy, an edit): the new file prints, without a restart.
    os.utime(logo, ns=(stamp + 10**9, stamp + 10**9))
    assert printed_logo_widths() == [80]


def test_a_render_frees_its_reference_cycles_in_one_pass_at_the_end(issued):
    html = render_html(issued)
    passes = []

    def watch(phase, info):
        if phase == "stop":
            passes.append((info["generation"], info["collected"]))

    gc.callbacks.append(watch)
    try:
        render_pdf(html)
    finally:
        gc.callbacks.remove(watch)

    # None while it renders (no walks over objects still in use, no promotions to the old
    # generations), then one young-generation pass that frees the render's cycles.
    assert len(passes) == 1
    generation, collected = passes[0]
    assert generation == 0 and collected > 5_000
    assert gc.isenabled()


def test_a_render_leaves_a_paused_collector_paused(issued):
    gc.disable()
    try:
        render_invoice_pdf(issued)
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize(
    ("hours", "shown"),
    [
        ("1420.500000", "1,420.5 h"),
        ("60.750000", "60.75 h"),
        ("10.000000", "10 h"),
        ("0.333333", "0.33 h"),
        ("0.004000", "0 h"),
        ("100", "100 h"),
    ],
)
def test_hours_for_reading_drop_the_billing_decimals(hours, shown):
    assert hours_brief(D(hours)) == shown


@pytest.mark.parametrize(
    ("country", "address", "printed"),
    [
        ("GB", "1 Example Street\nLondon", "United Kingdom"),
        ("GB", "1 Example Street\nLondon\nUnited Kingdom", ""),  # once, not twice
        ("DE", "Hauptstr. 1\n10115 Berlin\nDE", ""),
        ("DE", "Hauptstr. 1\n10115 Berlin, Germany", ""),
        ("", "Somewhere", ""),
    ],
)
def test_the_buyer_s_country_prints_once_by_name(country, address, printed):
    from invoices.templatetags.invoice_format import country_line

    assert country_line({"country": country, "address": address}) == printed


@pytest.mark.parametrize(
    ("hours", "shown"), [("12.500000", "12.50"), ("0.004000", "0.00"), ("1234.567890", "1,234.57")]
)
def test_a_line_s_hours_read_to_a_hundredth(hours, shown):
    from invoices.templatetags.invoice_format import hours_shown

    assert hours_shown(D(hours)) == shown


def test_a_tiered_invoice_s_usage_lines_say_they_are_priced_in_the_tiers(
    make_customer, key_of, put_usage, finance_user
):
    from invoices.models import CustomerPlan, PricePlan, PriceTier

    from .conftest import no_tax_terms

    plan = PricePlan.objects.create(name="Tiers", currency="USD", rate_per_hour=D(0))
    PriceTier.objects.create(plan=plan, up_to_hours=D(100), rate_per_hour=D("1.00"))
    PriceTier.objects.create(plan=plan, up_to_hours=None, rate_per_hour=D("0.50"))
    customer = make_customer()
    CustomerPlan.objects.create(customer=customer, plan=plan, effective_from=OCTOBER)
    no_tax_terms(customer)
    put_usage(key_of(customer), date(2026, 10, 3), "120.000000")
    [draft] = invoice_generate_drafts(period=OCTOBER, customers=[customer]).created

    text = flat("\n".join(pdf_pages(render_invoice_pdf(draft))))

    assert "120.00 7,200.0 \u2013 in the tiers" in text  # no price, and no 0.00 amount
    assert "Total USD 110.00" in text
