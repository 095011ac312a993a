"""PDF benchmark (not a test), on PostgreSQL and Redis with a real Celery worker.

1. One invoice of 20 lines rendered by `render_invoice_pdf`, against the same table as a bare
   HTML page through WeasyPrint: median times and their ratio.
2. N drafts approved one after the other with the worker running: the time until every PDF
   is stored (and mailed, to Django's dummy backend).
3. A stored PDF downloaded through the portal (the Django stack in-process, with session,
   scoping and the checksum check): median time.

    python bench/pdf.py [--drafts 1000] [--concurrency 2]
                        [--database postgres://postgres@127.0.0.1:5432/billing_bench_pdf]
                        [--redis redis://127.0.0.1:6379/6]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    bench_environment,
    interleaved_runs,
    median_ms,
    print_table,
    start_django_on_empty_database,
)

PERIOD = date(2026, 10, 1)
METHODS = ("sync", "async", "streaming")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drafts", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/billing_bench_pdf"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6")
    parser.add_argument(
        "--only", choices=["render", "issue"], help="one part (the download needs 'issue')"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    media = tempfile.mkdtemp(prefix="bench-pdf-media-")
    bench_environment(
        args.database,
        DJANGO_ALLOWED_HOSTS="*",
        REDIS_URL=args.redis,
        CELERY_BROKER_URL=args.redis,
        EMAIL_URL="dummymail://",
        MEDIA_ROOT=media,
        # A seller as `make run` shows one: logo, tax id and bank details on every invoice.
        BILLING_LOGO_PATH="billing/logo.svg",
        BILLING_TAX_ID="GB 000 0000 00 (demo)",
        BILLING_BANK_DETAILS="Demo Bank plc, sort code 00-00-00, account 00000000",
    )
    start_django_on_empty_database(args.database)
    finance = _finance_user()
    rows = []
    if args.only in (None, "render"):
        rows += _render_vs_bare(finance, args.repeat)
    if args.only in (None, "issue"):
        rows += _issue_with_worker(finance, args.drafts, args.concurrency)
        rows += _portal_download()
    print_table(rows)


# --- Seeding ----------------------------------------------------------------------------------


def _finance_user():
    from django.contrib.auth import get_user_model

    # The services take the approver for the audit; permissions are the admin's business.
    return get_user_model().objects.create_user("bench-finance", is_staff=True)


def _project():
    from customers.models import DeepgramProject

    project, _ = DeepgramProject.objects.get_or_create(
        project_id="bench", defaults={"name": "Bench", "is_default": True}
    )
    return project


def _plan(name: str, **rates):
    from invoices.models import PricePlan

    return PricePlan.objects.create(
        name=name,
        currency="USD",
        rate_per_hour=Decimal("0.25"),
        platform_fee=Decimal("20"),
        **rates,
    )


def _customers(names: list[str], plan, keys_each: int, methods: tuple[str, ...]) -> list:
    from customers.models import ApiKey, Customer
    from invoices.models import BillingTerms, CustomerPlan
    from usage.models import DailyUsage

    made = Customer.objects.bulk_create(
        Customer(name=name, billing_email=f"billing{n}@bench.example", currency="USD")
        for n, name in enumerate(names)
    )
    CustomerPlan.objects.bulk_create(
        CustomerPlan(customer=c, plan=plan, effective_from=date(2026, 1, 1)) for c in made
    )
    BillingTerms.objects.bulk_create(
        BillingTerms(customer=c, tax_rate=Decimal("20"), payment_terms_days=30) for c in made
    )
    keys = ApiKey.objects.bulk_create(
        ApiKey(
            customer=c,
            project=_project(),
            key_id=f"key-{c.pk}-{n}",
            comment=f"{c.name} app {n + 1}",
            scopes=["usage:write"],
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        for c in made
        for n in range(keys_each)
    )
    now = datetime.now(UTC)
    DailyUsage.objects.bulk_create(
        DailyUsage(
            api_key=key,
            day=PERIOD + timedelta(days=offset),
            method=method,
            hours=Decimal(1 + (key.pk * 7 + offset) % 23) / 4,
            total_hours=Decimal(1 + (key.pk * 7 + offset) % 23) / 4,
            requests=10,
            first_seen_at=now,
            changed_at=now,
        )
        for key in keys
        for method in methods
        for offset in range(31)
    )
    return made


# --- 1. The invoice against a bare table ------------------------------------------------------


def _render_vs_bare(finance, repeat: int):
    import io

    from pypdf import PdfReader
    from weasyprint import HTML

    from invoices.models import Invoice
    from invoices.pdf import render_html, render_invoice_pdf
    from invoices.services import (
        invoice_add_manual_line,
        invoice_approve,
        invoice_generate_drafts,
    )

    plan = _plan("Per method", rate_sync=Decimal("0.26"), rate_streaming=Decimal("0.35"))
    # Five keys split by method (15 usage lines), the platform fee, four manual lines: 20.
    (customer,) = _customers(["Render Ltd"], plan, keys_each=5, methods=METHODS)
    draft = invoice_generate_drafts(period=PERIOD, customers=[customer]).created[0]
    for n, (what, price) in enumerate(
        [("Onboarding workshop", "150"), ("Custom vocabulary setup", "80"),
         ("Priority support, October", "40"), ("Data export", "25")]
    ):  # fmt: skip
        invoice_add_manual_line(
            invoice=draft,
            actor=None,
            description=what,
            quantity=Decimal(1 + n % 2),
            unit_price=Decimal(price),
        )
    invoice = invoice_approve(invoice=Invoice.objects.get(pk=draft.pk), actor=finance)
    lines = list(invoice.lines.all())
    seller = "seller with " + (
        ", ".join(
            what
            for what, setting in (
                ("logo", "BILLING_LOGO_PATH"),
                ("tax id", "BILLING_TAX_ID"),
                ("bank details", "BILLING_BANK_DETAILS"),
            )
            if os.environ.get(setting)
        )
        or "name and address only"
    )
    pages = len(PdfReader(io.BytesIO(render_invoice_pdf(invoice))).pages)

    # The same table: the invoice's own lines table, cut out of its HTML, on a bare page
    # (no stylesheet, no header, chart, page boxes or fonts of ours).
    html = render_html(invoice)
    table = html[
        html.index('<table class="lines">') : html.index(
            "</table>", html.index('<table class="lines">')
        )
        + 8
    ]
    bare = f"<!doctype html><html><body>{table}</body></html>"
    # Interleaved, so that a busy moment of the machine slows both sides alike. The verdict
    # takes the worse of two estimates: the ratio of the medians, and the median of the
    # ratios of each turn (the steadier one on a machine whose speed drifts).
    runs = interleaved_runs(
        lambda: render_invoice_pdf(invoice), lambda: HTML(string=bare).write_pdf(), repeat
    )
    full_ms, bare_ms = (statistics.median(times) for times in runs.wall)
    low, pair_ratio, high = statistics.quantiles(runs.pair_ratios(), n=4)
    cpu_ratio = statistics.median(runs.cpu[0]) / statistics.median(runs.cpu[1])
    ratio = max(full_ms / bare_ms, pair_ratio)
    return [
        ("invoice lines / pages", f"{len(lines)} / {pages}", seller),
        ("render the invoice (median)", f"{full_ms:.0f} ms", f"{repeat} runs, turn about"),
        ("render the bare table (median)", f"{bare_ms:.0f} ms", ""),
        ("ratio of the medians", f"{full_ms / bare_ms:.2f}x", ""),
        ("median ratio of a turn", f"{pair_ratio:.2f}x", f"quartiles {low:.2f}x to {high:.2f}x"),
        ("ratio of CPU times", f"{cpu_ratio:.2f}x", "medians"),
        (
            "ratio",
            f"{ratio:.2f}x",
            "the worse of the first two; target: at most 1.3x "
            + ("(met)" if ratio <= 1.3 else "(NOT met)"),
        ),
    ]


# --- 2. Issue N drafts with the worker running ------------------------------------------------


def _issue_with_worker(finance, drafts: int, concurrency: int):
    from billing_portal.celery import app
    from invoices.models import Invoice
    from invoices.services import invoice_approve, invoice_generate_drafts

    plan = _plan("Bulk", included_hours=Decimal("10"))
    made = _customers([f"Customer {n:05d}" for n in range(drafts)], plan, 2, ("all",))
    report = invoice_generate_drafts(period=PERIOD, customers=made)
    app.control.purge()
    worker = subprocess.Popen(  # noqa: S603
        [
            sys.executable, "-m", "celery", "-A", "billing_portal", "worker",
            "--concurrency", str(concurrency), "--loglevel", "WARNING",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )  # fmt: skip
    try:
        _wait_for_worker(app)
        began = time.perf_counter()
        for draft in report.created:
            invoice_approve(invoice=draft, actor=finance)
        approved = time.perf_counter() - began
        issued = Invoice.objects.filter(pk__in=[d.pk for d in report.created])
        deadline = began + 15 * 60
        while time.perf_counter() < deadline:
            stored = issued.exclude(pdf_sha256="").count()
            if stored == len(report.created):
                break
            time.sleep(0.5)
        stored_s = time.perf_counter() - began
        stored = issued.exclude(pdf_sha256="").count()
        deadline = time.perf_counter() + 120
        while issued.filter(emailed_at__isnull=True).exists() and time.perf_counter() < deadline:
            time.sleep(0.5)
        mailed_s = time.perf_counter() - began
        mailed = issued.exclude(emailed_at__isnull=True).count()
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    n = len(report.created)
    met = stored == n and stored_s < 360
    return [
        (f"approve {n} drafts", f"{approved:.1f} s", "one by one, as finance would"),
        (
            f"until {stored}/{n} PDFs stored",
            f"{stored_s:.1f} s",
            f"{concurrency} worker processes; target under 6 min "
            + ("(met)" if met else "(NOT met)"),
        ),
        ("PDFs per second", f"{stored / stored_s:.1f}", ""),
        (f"until {mailed}/{n} mailed", f"{mailed_s:.1f} s", "dummy mail backend"),
    ]


def _wait_for_worker(app) -> None:
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline:
        if app.control.ping(timeout=1):
            return
    raise SystemExit("The Celery worker did not answer within 60 s.")


# --- 3. Download through the portal ------------------------------------------------------------


def _portal_download():
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from customers.models import CustomerUser
    from invoices.models import Invoice

    invoice = Invoice.objects.exclude(pdf_sha256="").select_related("customer").first()
    user = get_user_model().objects.create_user("bench-portal@bench.example")
    CustomerUser.objects.create(user=user, customer=invoice.customer)
    client = Client()
    client.force_login(user)
    url = reverse("portal:invoice_pdf", args=[invoice.public_id])

    def download():
        response = client.get(url)
        assert response.status_code == 200 and response.content.startswith(b"%PDF")

    ms = median_ms(download, 200, warmup=5)
    return [
        (
            "portal PDF download (median)",
            f"{ms:.1f} ms",
            "200 runs; target under 30 ms " + ("(met)" if ms < 30 else "(NOT met)"),
        )
    ]


if __name__ == "__main__":
    main()
