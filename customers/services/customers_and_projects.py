"""Customers and the Deepgram project their keys are made in.

There is one default project: making a project the default takes it away from any other.
Both writes are idempotent, for setup and seeding.
"""

from django.db import transaction

from ..models import Customer, DeepgramProject


@transaction.atomic
def project_ensure_default(*, project_id: str, name: str = "Default project") -> DeepgramProject:
    """Make `project_id` the one default project, creating it when new. Idempotent."""
    DeepgramProject.objects.filter(is_default=True).exclude(project_id=project_id).update(
        is_default=False
    )
    project, _ = DeepgramProject.objects.update_or_create(
        project_id=project_id,
        defaults={"is_default": True},
        create_defaults={"name": name, "is_default": True},
    )
    return project


def customer_ensure(*, name: str, billing_email: str, **details) -> tuple[Customer, bool]:
    """The customer named `name`, created with `details` when missing; (customer, created)."""
    return Customer.objects.get_or_create(
        name=name, defaults={"billing_email": billing_email, **details}
    )
