import uuid

import pytest

from customers.services import api_key_provision


@pytest.fixture
def provision(sandbox, default_project, support_user):
    """Provision a key through the real service and the sandbox; returns ProvisionedKey."""

    def make(customer, **overrides):
        options = {
            "customer": customer,
            "project": default_project,
            "comment": customer.name,
            "scopes": ["usage:write"],
            "tags": [],
            "actor": support_user,
            "token": uuid.uuid4(),
        }
        options.update(overrides)
        return api_key_provision(**options)

    return make
