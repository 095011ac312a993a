"""Invoice generation benchmark (not a test), on PostgreSQL.

Drafts for N customers (3 keys each, 31 days of usage a key), against the floor of one raw SQL
aggregate over the same rows; then the admin's invoice list with 100,000 invoices.

    python bench/invoices.py [--customers 10000] [--invoices 100000]
                             [--database postgres://postgres@127.0.0.1:5432/billing_bench_inv]
"""

import argparse
import resource
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    bench_environment,
    print_table,
    start_django_on_empty_database,
)

PERIOD = date(2026, 10, 1)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/billing_bench_inv"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    bench_environment(args.database, DJANGO_ALLOWED_HOSTS="*")
    start_django_on_empty_database(args.database)
    rows = _seed(args.customers)
    rows_out = [("daily usage rows", f"{rows:,}", "")]
    rows_out += _generate()
    rows_out += _admin_list(args.invoices)
    print_table(rows_out)


def _seed(customers: int) -> int:
    from django.db import connection

    from customers.models import ApiKey, Customer, DeepgramProject
    from invoices.models import CustomerPlan, PricePlan, PriceTier

    project = DeepgramProject.objects.create(project_id="bench", name="Bench", is_default=True)
    plan = PricePlan.objects.create(
        name="Bench",
        currency="USD",
        rate_per_hour=Decimal("0.25"),
        included_hours=Decimal("10"),
        platform_fee=Decimal("20"),
        monthly_minimum=Decimal("5"),
    )
    PriceTier.objects.bulk_create(
        [
            PriceTier(plan=plan, up_to_hours=Decimal("100"), rate_per_hour=Decimal("0.30")),
            PriceTier(plan=plan, rate_per_hour=Decimal("0.20")),
        ]
    )
    made = Customer.objects.bulk_create(
        Customer(name=f"Customer {n:05d}", billing_email=f"c{n}@bench.example")
        for n in range(customers)
    )
    CustomerPlan.objects.bulk_create(
        CustomerPlan(customer=c, plan=plan, effective_from=date(2026, 1, 1)) for c in made
    )
    created = datetime(2026, 1, 1, tzinfo=UTC)
    keys = ApiKey.objects.bulk_create(
        ApiKey(
            customer=c,
            project=project,
            key_id=f"k-{c.pk}-{n}",
            comment="bench",
            scopes=["usage:write"],
            created_at=created,
        )
        for c in made
        for n in range(3)
    )
    now = datetime.now(UTC)
    # Streamed row by row, so the seeding's memory does not count in the peak RSS.
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY usage_dailyusage (api_key_id, day, method, hours, total_hours, requests, "
            "first_seen_at, changed_at) FROM STDIN"
        ) as copy,
    ):
        for key in keys:
            for offset in range(31):
                hours = Decimal(1 + (key.pk * 7 + offset) % 23) / 4
                copy.write_row(
                    (key.pk, PERIOD + timedelta(days=offset), "all", hours, hours, 10, now, now)
                )
    return len(keys) * 31


def _counting():
    from django.db import connection

    counter = {"queries": 0}

    def count(execute, sql, params, many, context):
        counter["queries"] += 1
        return execute(sql, params, many, context)

    return connection.execute_wrapper(count), counter


def _generate():
    from django.db import connection
    from django.db.models import F

    from invoices.models import PriceTier
    from invoices.services import invoice_generate_drafts

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT k.customer_id, k.id, d.method, SUM(d.total_hours) FROM usage_dailyusage d "
            "JOIN customers_apikey k ON k.id = d.api_key_id WHERE d.day BETWEEN %s AND %s "
            "GROUP BY k.customer_id, k.id, d.method",
            [PERIOD, date(2026, 10, 31)],
        )
        cursor.fetchall()
    floor = time.perf_counter() - began
    wrapper, counter = _counting()
    began = time.perf_counter()
    with wrapper:
        report = invoice_generate_drafts(period=PERIOD)
    seconds = time.perf_counter() - began
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    began = time.perf_counter()
    again = invoice_generate_drafts(period=PERIOD)
    refresh = time.perf_counter() - began
    # Finance raises the tier rates: every draft changes and is priced and written again.
    PriceTier.objects.update(rate_per_hour=F("rate_per_hour") + Decimal("0.01"))
    began = time.perf_counter()
    repriced = invoice_generate_drafts(period=PERIOD)
    changed = time.perf_counter() - began
    return [
        ("raw SQL aggregate (floor), s", f"{floor:.2f}", ""),
        (
            "generate drafts, s",
            f"{seconds:.2f}",
            f"{report.counts()['created']:,} drafts; {seconds / floor:.1f}x the floor "
            "(target <= 5x, < 30 s)",
        ),
        ("generate drafts, queries", f"{counter['queries']:,}", ""),
        ("peak RSS, MB", f"{rss:,.0f}", "target < 300"),
        ("refresh, nothing changed, s", f"{refresh:.2f}", f"{len(again.unchanged):,} unchanged"),
        (
            "refresh, every draft changed, s",
            f"{changed:.2f}",
            f"{len(repriced.refreshed):,} refreshed",
        ),
    ]


def _admin_list(total: int):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from customers.models import Customer
    from invoices.models import Invoice

    customers = list(Customer.objects.values_list("pk", flat=True))
    months = -(-total // len(customers))  # earlier months, one invoice a customer each
    Invoice.objects.bulk_create(
        (
            Invoice(customer_id=pk, period=date(2024 + m // 12, m % 12 + 1, 1), currency="USD")
            for m in range(months)
            for pk in customers
        ),
        batch_size=5000,
    )
    # `flush` removed the role groups; a superuser sees the same list.
    user = get_user_model().objects.create_superuser("bench-admin", password="x")
    client = Client()
    client.force_login(user)
    client.get("/admin/invoices/invoice/")  # warm up
    wrapper, counter = _counting()
    began = time.perf_counter()
    with wrapper:
        response = client.get("/admin/invoices/invoice/")
    seconds = time.perf_counter() - began
    return [
        (
            f"admin invoice list, {Invoice.objects.count():,} invoices, ms",
            f"{seconds * 1000:.0f}",
            f"status {response.status_code}; target < 300 ms",
        ),
        ("admin invoice list, queries", f"{counter['queries']}", "target <= 10"),
    ]


if __name__ == "__main__":
    main()
