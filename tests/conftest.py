"""Shared fixtures: the Deepgram sandbox over real HTTP, and service guards for CI.

Under CI=true a test that needs PostgreSQL or Redis fails when the service is not reachable;
elsewhere it is skipped with the reason.
"""

import os

import pytest
from django.conf import settings

from billing_portal.deepgram.sandbox import SandboxServer

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _need(what: str, ok: bool) -> None:
    if ok:
        return
    message = f"{what} is not configured or not reachable"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a test that needs it must not skip)")
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _service_guards(request):
    if request.node.get_closest_marker("postgres"):
        _need("PostgreSQL", settings.DATABASES["default"]["ENGINE"].endswith("postgresql"))
    if request.node.get_closest_marker("redis"):
        _need("Redis", bool(settings.REDIS_URL))


@pytest.fixture(scope="session")
def sandbox_server():
    """One sandbox for the whole run, on a free port, speaking real HTTP."""
    server = SandboxServer(
        port=0, token=settings.SANDBOX_API_KEY, project_id=settings.SANDBOX_PROJECT_ID
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server, settings):
    """The sandbox, reset to its initial state, with the portal's settings pointing at it."""
    sandbox_server.reset()
    settings.DEEPGRAM_API_URL = sandbox_server.url
    settings.DEEPGRAM_API_KEY = settings.SANDBOX_API_KEY
    settings.DEEPGRAM_PROJECT_ID = settings.SANDBOX_PROJECT_ID
    yield sandbox_server
    sandbox_server.reset()
