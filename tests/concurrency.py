"""Running the same call from several threads at once, for the tests of races, and waiting
for something another thread or process does."""

import threading
import time

from django.db import connection


def at_once(call, times: int) -> tuple[list, list[BaseException]]:
    """Call `call()` from `times` threads released together; wait for all. Returns what the
    calls returned and what they raised. Each thread closes its own database connection."""
    barrier, results, errors = threading.Barrier(times), [], []

    def run():
        try:
            barrier.wait()
            results.append(call())
        except Exception as exc:  # returned to the test, which asserts on it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def soon(condition, *, timeout: float, every: float = 0.02):
    """What `condition()` gives once it is truthy, asked every `every` s; None after
    `timeout` s (the caller says what it waited for)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    return None
