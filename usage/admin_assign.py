"""Assigning an unassigned accessor to a customer, from a day: the admin's form.

Rules:
- Whoever may import keys (`customers.reconcile_apikey`, Support) may assign: it imports the
  accessor as the customer's key (the import's scope rules apply: a key the portal may not hand
  to a customer stays unassigned, and the page says why), then moves the accessor's usage and
  cost from the day chosen onto it (`services.accessor_assign`). Both or neither: a refused
  assignment (a day inside a month already issued for the customer) undoes the import.
- Before that day the usage stays unassigned, visible and unbilled; the sync keeps it so.
"""

from django import forms
from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.cache import never_cache

from billing_portal.admin_mixins import admin_page, require
from customers.exceptions import ImportFailed
from customers.models import Customer
from customers.services import api_key_import

from . import services
from .models import UnassignedAccessor
from .services.unassigned import AssignmentRefused

PERMISSION = "customers.reconcile_apikey"


class AssignForm(forms.Form):
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.filter(status=Customer.Status.ACTIVE).order_by("name"),
        help_text="The customer whose key this accessor becomes.",
    )
    from_day = forms.DateField(
        label="From day (UTC)",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Usage from this day on is the customer's; earlier usage stays unassigned. "
        "Not inside a month already issued for the customer.",
    )


class _Undo(Exception):
    """Rolls the import back when the assignment is refused."""


@never_cache
def assign_view(request, model_admin, accessor_id: int):
    require(request, PERMISSION)
    accessor = get_object_or_404(
        UnassignedAccessor.objects.select_related("project"), pk=accessor_id
    )
    form = AssignForm(request.POST or None)
    if accessor.assigned_key_id:
        messages.warning(request, f"{accessor.accessor} is assigned already.")
        return redirect("admin:usage_unassignedaccessor_changelist")
    if request.method == "POST" and form.is_valid():
        error = _assign(request, accessor, form.cleaned_data)
        if error is None:
            return redirect("admin:usage_unassignedaccessor_changelist")
        form.add_error(None, error)
    return admin_page(
        request,
        model_admin,
        "usage/admin/assign_accessor.html",
        f"Assign {accessor.accessor} to a customer",
        form=form,
        accessor=accessor,
    )


def _assign(request, accessor: UnassignedAccessor, data: dict) -> str | None:
    """Import and assign, both or neither; the reason when refused."""
    try:
        with transaction.atomic():
            key = api_key_import(
                project=accessor.project,
                key_id=accessor.accessor,
                customer=data["customer"],
                actor=request.user,
            )
            try:
                moved = services.accessor_assign(
                    accessor=accessor, api_key=key, from_day=data["from_day"], user=request.user
                )
            except AssignmentRefused as exc:
                raise _Undo(str(exc)) from exc
    except (ImportFailed, _Undo) as exc:
        return str(exc)
    messages.success(
        request,
        f"{accessor.accessor} is now {data['customer']}'s key from {data['from_day']:%d %B %Y}: "
        f"{moved.usage_rows} usage and {moved.cost_rows} cost rows moved; earlier usage stays "
        "unassigned.",
    )
    return None
