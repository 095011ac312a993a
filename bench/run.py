"""Benchmarks (not tests): the Deepgram client against the sandbox over real HTTP.

Prints a table of figures and ratios. Run with `make bench`.
"""

import logging
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django

django.setup()

from django.conf import settings  # noqa: E402

from billing_portal.deepgram import DeepgramClient  # noqa: E402
from billing_portal.deepgram.sandbox import SandboxServer  # noqa: E402

START, END = date(2026, 9, 1), date(2026, 10, 31)
KEYS = 40


def timed(fn) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def summaries(server: SandboxServer, key_ids: list[str], workers: int) -> float:
    def one(key_id: str) -> None:
        with DeepgramClient(api_key=settings.SANDBOX_API_KEY, base_url=server.url) as client:
            client.usage_summary(settings.SANDBOX_PROJECT_ID, start=START, end=END, accessor=key_id)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return timed(lambda: list(pool.map(one, key_ids)))


def main() -> None:
    # The fault rows retry on purpose; their warnings would bury the table.
    logging.getLogger("billing_portal.deepgram").setLevel(logging.ERROR)
    server = SandboxServer(
        port=0, token=settings.SANDBOX_API_KEY, project_id=settings.SANDBOX_PROJECT_ID
    ).start()
    created = datetime(2026, 8, 1, tzinfo=UTC)
    key_ids = [server.add_key(f"bench {n}", created=created)["api_key_id"] for n in range(KEYS)]
    client = DeepgramClient(
        api_key=settings.SANDBOX_API_KEY, base_url=server.url, sleep=lambda seconds: None
    )
    project = settings.SANDBOX_PROJECT_ID
    rows = []

    latencies = []
    for key_id in key_ids:
        latencies.append(
            timed(lambda k=key_id: client.usage_summary(project, start=START, end=END, accessor=k))
        )
    rows.append(
        ("usage summary, 61 days, one session: median ms", statistics.median(latencies) * 1000)
    )

    for latency_ms in (0, 50):
        server.set_latency(latency_ms)
        serial = summaries(server, key_ids, 1)
        parallel = summaries(server, key_ids, 8)
        rows.append((f"{KEYS} key summaries at +{latency_ms} ms, 1 worker: s", serial))
        rows.append((f"{KEYS} key summaries at +{latency_ms} ms, 8 workers: s", parallel))
        rows.append((f"  speed-up 8 workers / 1 worker at +{latency_ms} ms", serial / parallel))
    server.set_latency(0)

    day = date(2026, 10, 5)
    count = 0

    def page_all() -> None:
        nonlocal count
        count = sum(1 for _ in client.iter_requests(project, start=day, end=day, limit=100))

    seconds = timed(page_all)
    rows.append((f"requests listing, {count} requests in pages of 100: req/s", count / seconds))

    def one_fault_each() -> None:
        for _ in range(20):
            server.queue_fault("server_error")
            client.list_projects()

    calls_before = client.stats.calls
    faulty = timed(one_fault_each)
    rows.append(
        ("20 calls each hit by one 5xx: extra HTTP calls", client.stats.calls - calls_before - 20)
    )
    rows.append(("20 calls each hit by one 5xx (no sleeping): ms per call", faulty / 20 * 1000))
    server.stop()

    width = max(len(label) for label, _ in rows)
    print(f"{'figure'.ljust(width)}  value")
    for label, value in rows:
        print(f"{label.ljust(width)}  {value:,.2f}")


if __name__ == "__main__":
    main()
