"""Running the same call from several threads at once, for the tests of races."""

import threading

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
