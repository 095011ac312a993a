"""A stand-in for Deepgram's management API, for machines without an account.

Stdlib only and free of Django, so tests, `make run` and benchmarks can all start it.
"""

from .control import ControlClient
from .server import CallRecord, SandboxServer

__all__ = ["CallRecord", "ControlClient", "SandboxServer"]
