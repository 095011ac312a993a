"""Helpers the benchmarks share (they are scripts, not tests)."""

import os
import statistics
import time
from dataclasses import dataclass


def bench_environment(database: str, **settings: str) -> None:
    """The environment a bench runs Django in (and hands to the processes it starts): debug
    settings on `database`, quiet logs, no Deepgram key, and `settings` on top."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="billing_portal.settings",
        DJANGO_DEBUG="1",
        DATABASE_URL=database,
        LOG_LEVEL="WARNING",
        DEEPGRAM_API_KEY="",
        **settings,
    )


def start_django_on_empty_database(database: str) -> None:
    """Create `database` if needed, set Django up, migrate, and empty every table."""
    ensure_database(database)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)


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


@dataclass
class Interleaved:
    """Wall and CPU times (ms) of two actions run turn about: index 0 is the first action."""

    wall: tuple[list[float], list[float]]
    cpu: tuple[list[float], list[float]]

    def pair_ratios(self) -> list[float]:
        """first/second for each turn: a slow moment of the machine slows both of a pair."""
        return [a / b for a, b in zip(*self.wall, strict=True)]


def interleaved_runs(first, second, repeat: int, warmup: int = 2) -> Interleaved:
    for _ in range(warmup):
        first(), second()
    runs = Interleaved(wall=([], []), cpu=([], []))
    for _ in range(repeat):
        for n, action in enumerate((first, second)):
            wall, cpu = time.perf_counter(), time.process_time()
            action()
            runs.wall[n].append((time.perf_counter() - wall) * 1000)
            runs.cpu[n].append((time.process_time() - cpu) * 1000)
    return runs


def print_table(rows: list[tuple[str, str, str]]) -> None:
    width = max(len(label) for label, _, _ in rows)
    for label, value, note in rows:
        print(f"{label.ljust(width)}  {value:>12}  {note}")
