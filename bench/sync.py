"""Usage sync benchmark (not a test): N keys with a month of usage in the sandbox at a given
latency, a full backfill and then an incremental run, through the same code as
`manage.py sync_usage`. The sandbox runs as its own process so that the figures (and the
peak RSS) are the sync's alone.

    python bench/sync.py [--keys 2000] [--latency-ms 50] [--concurrency 16]
                         [--database postgres://postgres@127.0.0.1:5432/billing_bench]
"""

import argparse
import resource
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_environment, start_django_on_empty_database  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/billing_bench")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    args = parse_args()
    port = free_port()
    bench_environment(args.database, DEEPGRAM_API_URL=f"http://127.0.0.1:{port}")
    sandbox = subprocess.Popen(  # noqa: S603 - our own manage.py
        [
            sys.executable,
            "manage.py",
            "deepgram_sandbox",
            "--port",
            str(port),
            "--latency-ms",
            str(args.latency_ms),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        run(args)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"CPU of the sandbox process (whole bench): {children.ru_utime + children.ru_stime:,.1f} s"
    )


def run(args) -> None:
    start_django_on_empty_database(args.database)
    import requests
    from django.conf import settings

    from customers.models import ApiKey, Customer
    from customers.services import project_ensure_default
    from usage.models import DailyUsage, SyncRun
    from usage.services import usage_sync_run

    _wait_for(settings.DEEPGRAM_API_URL)
    project = project_ensure_default(project_id=settings.DEEPGRAM_PROJECT_ID)
    created = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=args.days - 1
    )
    customers = Customer.objects.bulk_create(
        Customer(name=f"Bench customer {n}", billing_email=f"c{n}@bench.example")
        for n in range(max(1, args.keys // 20))
    )
    key_ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{n}")) for n in range(args.keys)]
    with requests.Session() as http:
        for key_id in key_ids:
            http.post(
                f"{settings.DEEPGRAM_API_URL}/__sandbox__/keys",
                timeout=10,
                json={
                    "comment": "bench",
                    "api_key_id": key_id,
                    "created": created.isoformat(),
                },
            ).raise_for_status()
        http.post(
            f"{settings.DEEPGRAM_API_URL}/__sandbox__/latency",
            timeout=10,
            json={"ms": args.latency_ms},
        ).raise_for_status()
    ApiKey.objects.bulk_create(
        ApiKey(
            customer=customers[n % len(customers)],
            project=project,
            key_id=key_id,
            comment="bench",
            scopes=["usage:write"],
            created_at=created,
        )
        for n, key_id in enumerate(key_ids)
    )
    pks = list(ApiKey.objects.order_by("pk").values_list("pk", flat=True))
    limit = args.concurrency / (args.latency_ms / 1000) if args.latency_ms else float("inf")

    rows = []
    for label in ("full backfill", "incremental"):
        began = time.perf_counter()
        sync = usage_sync_run(
            trigger=SyncRun.Trigger.COMMAND, key_ids=pks, concurrency=args.concurrency
        )
        seconds = time.perf_counter() - began
        calls_per_second = sync.api_calls / seconds
        rows.append(
            (
                label,
                seconds,
                sync.api_calls,
                calls_per_second,
                calls_per_second / limit,
                (sync.rows_created + sync.rows_changed) / seconds,
                sync.keys_failed,
            )
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(
        f"keys {args.keys}, {args.days} days, latency {args.latency_ms} ms, "
        f"concurrency {args.concurrency}: limit {limit:,.0f} calls/s; "
        f"{DailyUsage.objects.count():,} daily rows stored"
    )
    print(
        f"{'run':<14} {'wall s':>8} {'calls':>7} {'calls/s':>8} {'of limit':>8} "
        f"{'rows/s':>9} {'failed':>6}"
    )
    for label, seconds, calls, cps, ratio, rps, failed in rows:
        print(
            f"{label:<14} {seconds:>8.1f} {calls:>7} {cps:>8.1f} {ratio:>8.0%} "
            f"{rps:>9,.0f} {failed:>6}"
        )
    print(f"peak RSS of the syncing process: {peak_mb:,.0f} MB")


def _wait_for(url: str) -> None:
    import requests

    for _ in range(100):
        try:
            requests.get(f"{url}/__sandbox__/keys", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise SystemExit("the sandbox did not start")


if __name__ == "__main__":
    main()
