"""Finance's pages for a price change scheduled ahead (`services.plan_changes`): schedule one
from a coming month (a copy of the plan to edit), or cancel it while its copy billed nothing.
Both are recorded in the plans' admin history."""

from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from billing_portal.admin_mixins import admin_page, require

from .exceptions import InvoicesError
from .models import PricePlan
from .services.plan_changes import cancel_price_change, schedule_price_change

SCHEDULE = "invoices.add_priceplan"
MONTHS_AHEAD = 24


def coming_months(today: date, count: int = MONTHS_AHEAD) -> list[date]:
    """The first days of the `count` months after `today`'s."""
    months, month = [], today.replace(day=1)
    for _ in range(count):
        month = (month + timedelta(days=32)).replace(day=1)
        months.append(month)
    return months


class ScheduleChangeForm(forms.Form):
    month = forms.TypedChoiceField(
        label="New prices from",
        coerce=date.fromisoformat,
        help_text="The first month the new prices bill. The months before keep this plan.",
    )

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["month"].choices = [
            (m.isoformat(), f"1 {m:%B %Y}") for m in coming_months(today)
        ]


def _plan_page(plan: PricePlan):
    return redirect(reverse("admin:invoices_priceplan_change", args=[plan.pk]))


@never_cache
def schedule_change(request, model_admin, plan_id: int):
    """Finance: new prices for every customer of the plan from a coming month: the plan is
    copied, and the copy's page opens to be edited."""
    require(request, SCHEDULE)
    require(request, "invoices.change_priceplan")
    plan = get_object_or_404(PricePlan, pk=plan_id)
    form = ScheduleChangeForm(request.POST or None, today=timezone.now().date())
    if request.method == "POST" and form.is_valid():
        month = form.cleaned_data["month"]
        try:
            copy = schedule_price_change(plan, month)
        except InvoicesError as error:
            form.add_error(None, str(error))
        else:
            model_admin.log_addition(request, copy, f"Copied from {plan.name} for {month:%B %Y}")
            model_admin.log_change(
                request, plan, f"Prices change on {month:%-d %B %Y}: {copy.name}"
            )
            messages.success(
                request,
                f"{plan.name}'s customers are priced by {copy.name} from {month:%-d %B %Y}. "
                "Set its new prices here; until then it prices nothing.",
            )
            return _plan_page(copy)
    return admin_page(
        request,
        model_admin,
        "admin/invoices/priceplan/schedule_change.html",
        f"Schedule new prices for {plan.name}",
        form=form,
        plan=plan,
    )


@never_cache
def cancel_change(request, model_admin, plan_id: int):
    """Finance: cancel the plan's scheduled change (its copy is deleted; who may schedule a
    change may cancel it while it billed nothing). POST only."""
    require(request, SCHEDULE)
    require(request, "invoices.change_priceplan")
    plan = get_object_or_404(PricePlan, pk=plan_id)
    if request.method != "POST":
        return _plan_page(plan)
    try:
        name = cancel_price_change(plan)
    except InvoicesError as error:
        messages.error(request, str(error))
    else:
        model_admin.log_change(request, plan, f"Cancelled the price change to {name}")
        messages.success(request, f"Cancelled: {plan.name} keeps its prices; {name} is deleted.")
    return _plan_page(plan)


__all__ = ["cancel_change", "coming_months", "schedule_change"]
