"""A total deadline for one HTTP exchange with Deepgram: connect, headers and the whole body.

Rules:
- requests only bounds each read (a body that drips a byte a second never trips a read
  timeout), and signals work in the main thread only, while the sync calls Deepgram from
  worker threads. So an exchange is watched instead: when its request has gone out, its
  connection's socket is handed to one watchdog thread, which shuts the socket down at the
  deadline. That ends whatever read is blocked, in headers or body, in any thread; the
  transport then reports the overrun (`Exchange.fired`).
- An exchange finished before its deadline is never touched: finishing and firing take the
  same lock, so a kept-alive connection back in the pool is never shut down.
- Only sessions with `DeadlineAdapter` mounted are watched, and only inside `watched()`.
"""

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class Exchange:
    """One exchange's deadline (a `time.monotonic()` instant) and what happened to it."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds
        self.fired = False
        self._done = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def expired(self) -> bool:
        return self.fired or time.monotonic() >= self.deadline

    def timeouts(self, connect: float, read: float) -> tuple[float, float]:
        """The connect and read timeouts, neither beyond the time left."""
        left = max(self.left(), 0.001)
        return min(connect, left), min(read, left)

    def arm(self, sock: socket.socket | None) -> None:
        if sock is not None:
            self._sock = sock
            _watchdog.watch(self)

    def fire(self) -> None:
        with self._lock:
            if self._done or self._sock is None:
                return
            self.fired = True
            with contextlib.suppress(OSError):  # closed already
                self._sock.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        with self._lock:
            self._done = True
            self._sock = None


@contextlib.contextmanager
def watched(seconds: float) -> Iterator[Exchange]:
    """Watch the exchange made inside the block (in this thread) with a deadline in `seconds`."""
    exchange = Exchange(seconds)
    _current.exchange = exchange
    try:
        yield exchange
    finally:
        _current.exchange = None
        exchange.finish()


class _Watchdog:
    """One daemon thread that fires each armed exchange at its deadline."""

    def __init__(self):
        self._heap: list[tuple[float, int, Exchange]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, exchange: Exchange) -> None:
        with self._wake:
            heapq.heappush(self._heap, (exchange.deadline, next(self._order), exchange))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="deepgram-deadline", daemon=True
                )
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._wake.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                _, _, exchange = heapq.heappop(self._heap)
            exchange.fire()  # a finished exchange ignores it


_watchdog = _Watchdog()


class _Watched:
    def getresponse(self, *args, **kwargs):
        # The request is out; from here on its headers and body are read on this socket.
        exchange = getattr(_current, "exchange", None)
        if exchange is not None:
            exchange.arm(self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections are watched inside `watched()`."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_POOLS)
        return manager
