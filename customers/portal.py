"""The customer portal's gate: who the logged-in customer is.

Every portal view is wrapped in `customer_required`, which sets `request.customer`; all
portal queries are scoped to it. Staff without a membership are refused too. The pages
themselves live in the apps whose data they show (`invoices.portal`, `usage.portal`).
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404

from .models import CustomerUser


def customer_required(view):
    """Log in first; then the user must belong to a customer (404 otherwise)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        membership = (
            CustomerUser.objects.select_related("customer").filter(user=request.user).first()
        )
        if membership is None:
            raise Http404("No customer account")
        request.customer = membership.customer
        return view(request, *args, **kwargs)

    return wrapped
