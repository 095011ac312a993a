"""Usage sync benchmark (not a test): N keys with a month of usage in the sandbox at a given
latency, a full backfill and then an incremental run, through the same code as
`manage.py sync_usage`, in three ways:

- project-wide, where Deepgram combines groupings (the default sync: four calls a range);
- project-wide where it does not (the sandbox refuses to combine: the per-key fallback);
- key by key (`sync_usage --key`'s calls, for every key: the way the sync asked before).

The sandbox runs as its own process, and each way runs in a process of its own, so that the
figures (and each peak RSS) are the sync's alone.

    python bench/sync.py [--keys 10000] [--days 31] [--latency-ms 50] [--concurrency 4]
                         [--ways project,fallback,per-key]
                         [--database postgres://postgres@127.0.0.1:5432/billing_bench]
"""

import argparse
import json
import os
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

WAYS = {
    "project": "project-wide, groupings combine",
    "fallback": "project-wide, groupings refused (per-key fallback)",
    "per-key": "key by key",
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--ways", default="project,fallback,per-key")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/billing_bench")
    parser.add_argument("--one-way", help=argparse.SUPPRESS)  # a child process: one way
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    args = parse_args()
    if args.one_way:
        print(json.dumps(one_way(args)))
        return
    port = free_port()
    bench_environment(args.database, DEEPGRAM_API_URL=f"http://127.0.0.1:{port}")
    sandbox = subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "deepgram_sandbox", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        results = run(args)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    report(args, results)


def run(args) -> list[dict]:
    """Set the keys up once (sandbox and database), then each way in its own process."""
    start_django_on_empty_database(args.database)
    import requests
    from django.conf import settings

    from customers.models import ApiKey, Customer
    from customers.services import project_ensure_default

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
                json={"comment": "bench", "api_key_id": key_id, "created": created.isoformat()},
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
    results = []
    for way in args.ways.split(","):
        child = subprocess.run(  # noqa: S603 - this script
            [sys.executable, __file__, *sys.argv[1:], "--one-way", way],
            cwd=ROOT,
            env=os.environ,
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode:
            raise SystemExit(f"way {way} failed:\n{child.stderr[-3000:]}")
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    return results


def one_way(args) -> dict:
    """One way, from nothing stored: a backfill, then an incremental run."""
    import django

    django.setup()
    import requests
    from django.conf import settings

    from customers.models import ApiKey, DeepgramProject
    from usage.models import (
        DailyCost,
        DailyUsage,
        KeySyncState,
        SyncRun,
        UnassignedAccessor,
        UnassignedCost,
        UnassignedUsage,
        UsageCorrection,
    )
    from usage.services import usage_sync_run

    for model in (UsageCorrection, DailyUsage, DailyCost, UnassignedUsage, UnassignedCost):
        model.objects.all().delete()
    UnassignedAccessor.objects.all().delete()
    KeySyncState.objects.all().delete()
    SyncRun.objects.all().delete()
    DeepgramProject.objects.update(groupings_combine=None, model_grouping="")
    requests.post(
        f"{settings.DEEPGRAM_API_URL}/__sandbox__/config",
        timeout=10,
        json={"combine_groupings": args.one_way != "fallback"},
    ).raise_for_status()
    pks = list(ApiKey.objects.order_by("pk").values_list("pk", flat=True))
    rows = []
    for label in ("full backfill", "incremental"):
        began = time.perf_counter()
        sync = usage_sync_run(
            trigger=SyncRun.Trigger.COMMAND,
            key_ids=pks,
            concurrency=args.concurrency,
            per_key=args.one_way == "per-key",
        )
        seconds = time.perf_counter() - began
        rows.append(
            {
                "run": label,
                "seconds": seconds,
                "calls": sync.api_calls,
                "by_endpoint": sync.calls_by_endpoint,
                "rows": sync.rows_created + sync.rows_changed,
                "failed": sync.keys_failed,
                "differences": len(sync.differences),
            }
        )
    return {
        "way": args.one_way,
        "runs": rows,
        "stored": DailyUsage.objects.count(),
        "costs": DailyCost.objects.count(),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cpu_s": _cpu_seconds(),
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def report(args, results: list[dict]) -> None:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"keys {args.keys:,}, {args.days} days, latency {args.latency_ms} ms, "
        f"concurrency {args.concurrency}"
    )
    print(
        f"{'way':<50} {'run':<14} {'wall s':>8} {'calls':>8} {'calls/key':>9} "
        f"{'calls/day':>9} {'rows/s':>9} {'RSS MB':>7} {'failed':>6} {'diffs':>5}"
    )
    for result in results:
        for run in result["runs"]:
            days = args.days if run["run"] == "full backfill" else 4
            print(
                f"{WAYS[result['way']]:<50} {run['run']:<14} {run['seconds']:>8.1f} "
                f"{run['calls']:>8,} {run['calls'] / args.keys:>9.2f} "
                f"{run['calls'] / days:>9.1f} {run['rows'] / run['seconds']:>9,.0f} "
                f"{result['peak_mb']:>7,.0f} {run['failed']:>6} {run['differences']:>5}"
            )
        print(
            f"  stored: {result['stored']:,} usage rows, {result['costs']:,} cost rows; "
            f"CPU of the syncing process: {result['cpu_s']:,.1f} s"
        )
    print(
        "CPU of the sandbox and the ways' processes together (whole bench): "
        f"{children.ru_utime + children.ru_stime:,.1f} s"
    )


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
