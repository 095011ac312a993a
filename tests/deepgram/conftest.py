from datetime import UTC, datetime

import pytest
from django.conf import settings

from billing_portal.deepgram import DeepgramClient


@pytest.fixture
def sleeps():
    """The waits a client asked for, instead of sleeping them."""
    return []


@pytest.fixture
def make_client(sandbox, sleeps):
    def make(**overrides) -> DeepgramClient:
        options = {
            "api_key": settings.SANDBOX_API_KEY,
            "base_url": sandbox.url,
            "connect_timeout": 2.0,
            "read_timeout": 0.5,
            "max_retries": 3,
            "sleep": sleeps.append,
        }
        options.update(overrides)
        return DeepgramClient(**options)

    return make


@pytest.fixture
def client(make_client):
    with make_client() as client:
        yield client


@pytest.fixture
def project_id():
    return settings.SANDBOX_PROJECT_ID


@pytest.fixture
def key_id(sandbox):
    """Acme's key in the sandbox, made on 1 September 2026 and tagged `acme`: its usage and
    requests are the sandbox's, the same on every run."""
    return sandbox.add_key(
        "Acme",
        created=datetime(2026, 9, 1, tzinfo=UTC),
        api_key_id="acacacac-0000-4000-8000-00000000000a",
        tags=("acme",),
    )["api_key_id"]
