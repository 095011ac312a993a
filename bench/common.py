"""Helpers the benchmarks share (they are scripts, not tests)."""

import statistics
import time


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of `url` if it does not exist (SQLite needs nothing)."""
    if not url.startswith("postgres"):
        return
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def median_ms(action, repeat: int, warmup: int = 2) -> float:
    """The median wall time of `action()` in milliseconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        action()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def interleaved_medians_ms(first, second, repeat: int, warmup: int = 2) -> tuple[float, float]:
    """Median wall times (ms) of two actions run turn about, for a fair ratio on a machine
    whose speed varies."""
    for _ in range(warmup):
        first(), second()
    times: tuple[list, list] = ([], [])
    for _ in range(repeat):
        for action, out in ((first, times[0]), (second, times[1])):
            began = time.perf_counter()
            action()
            out.append((time.perf_counter() - began) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def print_table(rows: list[tuple[str, str, str]]) -> None:
    width = max(len(label) for label, _, _ in rows)
    for label, value, note in rows:
        print(f"{label.ljust(width)}  {value:>12}  {note}")
