from datetime import UTC, datetime

import pytest

from billing_portal.deepgram import client_from_settings
from customers.services import api_key_import


@pytest.fixture
def make_key(sandbox, default_project, support_user):
    """A key that has existed on Deepgram since `created` (fixed id: fixed synthetic usage),
    assigned to a customer through the import service."""
    counter = iter(range(1, 10_000))

    def make(customer, *, created=datetime(2026, 9, 1, tzinfo=UTC), project=None):
        project = project or default_project
        key_id = f"5e5e5e5e-0000-4000-8000-{next(counter):012d}"
        sandbox.add_key(
            f"{customer.name} (console)",
            created=created,
            api_key_id=key_id,
            project_id=project.project_id,
            scopes=("usage:write",),
        )
        return api_key_import(project=project, key_id=key_id, customer=customer, actor=support_user)

    return make


@pytest.fixture
def client(sandbox):
    return client_from_settings()
