"""Which version of its plan an invoice was priced by, recorded at approval.

Rules:
- A version is a plan's pricing form (`pricing_snapshot`) as it billed a month: the first
  invoice issued under a form makes it the plan's next version, effective from that
  invoice's month; every later invoice under the same form records the same version (a plan
  edited back to an earlier form takes that version again).
- Numbered per plan from 1 under a lock on the plan, so two approvals never take one number.
"""

import hashlib
import json

from django.db.models import Max

from ..models import Invoice, PlanVersion, PricePlan
from .plans import plan_for

__all__ = ["plan_version_of"]


def plan_version_of(invoice: Invoice) -> PlanVersion | None:
    """The version of the month's plan this draft was priced by (its snapshot), recorded as
    the plan's next one if no invoice was issued under that form yet. In the approval's
    transaction."""
    plan = plan_for(invoice.customer, invoice.period)
    if plan is None or not invoice.pricing_snapshot:
        return None
    digest = hashlib.sha256(
        json.dumps(invoice.pricing_snapshot, sort_keys=True).encode()
    ).hexdigest()
    PricePlan.objects.select_for_update().filter(pk=plan.pk).first()  # number them one by one
    found = PlanVersion.objects.filter(plan=plan, digest=digest).first()
    if found is not None:
        return found
    last = PlanVersion.objects.filter(plan=plan).aggregate(n=Max("number"))["n"] or 0
    return PlanVersion.objects.create(
        plan=plan,
        number=last + 1,
        digest=digest,
        snapshot=invoice.pricing_snapshot,
        effective_from=invoice.period,
    )
