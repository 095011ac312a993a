"""Custom admin pages: provision, rotate, revoke (confirmation), reconcile, invite.

Views wrapped in `admin_site.admin_view` only check `is_staff`, so each one checks its model
permission itself. A key's secret only ever lives in the response that shows it: that
response is rendered directly (no redirect), marked `no-store`, and the secret is kept out
of error reports.
"""

import uuid

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables

from billing_portal.admin_mixins import action_confirmed, admin_page, confirmation_page, require
from billing_portal.deepgram import DeepgramError

from . import services
from .exceptions import (
    CustomerNotActive,
    CustomersError,
    DuplicateSubmission,
    ImportFailed,
    ProvisionFailed,
    RevokeFailed,
)
from .forms import ImportKeyForm, InviteUserForm, ProvisionKeyForm, RotateKeyForm
from .models import ApiKey, Customer, DeepgramProject


def _page(request, model_admin, template: str, title: str, **context) -> TemplateResponse:
    return admin_page(request, model_admin, f"admin/customers/{template}", title, **context)


@sensitive_variables("provisioned")
def _secret_page(request, model_admin, provisioned, note: str = "") -> TemplateResponse:
    response = _page(
        request,
        model_admin,
        "apikey/secret.html",
        "Copy the new key now",
        api_key=provisioned.api_key,
        secret=provisioned.secret,
        note=note,
    )
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, max-age=0, private"
    response["Pragma"] = "no-cache"
    return response


def _already_submitted(request, model_admin, exc: DuplicateSubmission) -> TemplateResponse:
    return _page(
        request,
        model_admin,
        "apikey/already_submitted.html",
        "Already submitted",
        attempt=exc.attempt,
    )


@never_cache
@sensitive_variables("provisioned")
def provision_key(request, model_admin, customer_id: int):
    """Support: create a Deepgram key for a customer and show its secret once."""
    require(request, "customers.provision_apikey")
    customer = get_object_or_404(Customer, pk=customer_id)
    form = ProvisionKeyForm(request.POST or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            provisioned = services.api_key_provision(
                customer=customer,
                project=form.cleaned_data["project"],
                comment=form.cleaned_data["comment"],
                scopes=form.cleaned_data["scopes"],
                tags=form.cleaned_data["tags"],
                actor=request.user,
                token=form.cleaned_data["token"],
                **form.expiry(),
            )
        except DuplicateSubmission as exc:
            return _already_submitted(request, model_admin, exc)
        except (ProvisionFailed, CustomerNotActive) as exc:
            form = _with_error(ProvisionKeyForm, request, exc, customer=customer)
        else:
            return _secret_page(request, model_admin, provisioned)
    return _page(
        request,
        model_admin,
        "customer/provision_key.html",
        f"Provision a Deepgram key for {customer}",
        form=form,
        customer=customer,
    )


def _with_error(form_class, request, exc, **kwargs):
    """The submitted input again, with the error attached and a fresh one-time token."""
    data = request.POST.copy()
    data["token"] = str(uuid.uuid4())
    form = form_class(data, **kwargs)
    form.is_valid()
    form.add_error(getattr(exc, "field", None), str(exc))
    return form


@never_cache
@sensitive_variables("provisioned")
def rotate_key(request, model_admin, key_pk: int):
    """Support: replace a key with a new one, then revoke the old one now or later."""
    require(request, "customers.rotate_apikey")
    api_key = get_object_or_404(ApiKey.objects.select_related("customer", "project"), pk=key_pk)
    form = RotateKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            provisioned, note = services.api_key_rotate(
                api_key=api_key,
                actor=request.user,
                token=form.cleaned_data["token"],
                revoke_at=form.cleaned_data["revoke_at"],
            )
        except DuplicateSubmission as exc:
            return _already_submitted(request, model_admin, exc)
        except (ProvisionFailed, CustomerNotActive, RevokeFailed) as exc:
            form = _with_error(RotateKeyForm, request, exc)
        else:
            return _secret_page(request, model_admin, provisioned, note)
    return _page(
        request,
        model_admin,
        "apikey/rotate.html",
        f"Rotate key {api_key.key_id}",
        form=form,
        api_key=api_key,
    )


def revoke_keys(model_admin, request, queryset):
    """Admin action: confirm, then revoke each selected key; report counts."""
    keys = list(
        queryset.select_related("customer", "project").exclude(status=ApiKey.Status.REVOKED)
    )
    if not action_confirmed(request):
        return confirmation_page(
            request,
            model_admin,
            "admin/customers/apikey/revoke_confirm.html",
            "Revoke keys?",
            keys=keys,
        )
    failures = []
    for key in keys:
        try:
            services.api_key_revoke(api_key=key, actor=request.user)
        except RevokeFailed as exc:
            failures.append(str(exc))
    revoked = len(keys) - len(failures)
    if revoked:
        model_admin.message_user(
            request, f"Revoked {revoked} key{'s' if revoked != 1 else ''}.", messages.SUCCESS
        )
    for failure in failures:
        model_admin.message_user(request, failure, messages.ERROR)
    return None


@never_cache
def reconcile_keys(request, model_admin):
    """Support: compare a project's keys on Deepgram with the portal's; import unknown ones."""
    require(request, "customers.reconcile_apikey")
    projects = DeepgramProject.objects.all()
    project = _chosen_project(request)
    report, error = None, None
    if request.method == "POST" and project is not None:
        if request.POST.get("action") == "import":
            _import(request, model_admin, project)
        try:
            report = services.api_keys_reconcile(project=project, actor=request.user)
        except DeepgramError as exc:
            error = f"Deepgram could not list the keys: {exc.message}"
    unknown = []
    if report is not None:
        unknown = [(key, services.importable(key.api_key.scopes)) for key in report.unknown]
    return _page(
        request,
        model_admin,
        "apikey/reconcile.html",
        "Reconcile keys with Deepgram",
        projects=projects,
        project=project,
        report=report,
        unknown=unknown,
        error=error,
        customers=list(Customer.objects.filter(status=Customer.Status.ACTIVE).only("pk", "name")),
    )


def _chosen_project(request) -> DeepgramProject | None:
    chosen = request.POST.get("project") or request.GET.get("project") or ""
    if chosen.isdigit():
        return get_object_or_404(DeepgramProject, pk=chosen)
    return DeepgramProject.objects.order_by("-is_default", "name").first()


def _import(request, model_admin, project) -> None:
    form = ImportKeyForm(request.POST)
    if not form.is_valid():
        model_admin.message_user(
            request, "Choose an active customer to import the key for.", messages.ERROR
        )
        return
    try:
        key = services.api_key_import(
            project=project,
            key_id=form.cleaned_data["key_id"],
            customer=form.cleaned_data["customer"],
            actor=request.user,
        )
    except ImportFailed as exc:
        model_admin.message_user(request, str(exc), messages.ERROR)
    else:
        model_admin.message_user(
            request, f"Imported {key.key_id} for {key.customer}.", messages.SUCCESS
        )


@never_cache
def invite_user(request, model_admin, customer_id: int):
    """Support: create a portal user for the customer and e-mail a password-set link."""
    require(request, "customers.add_customeruser")
    customer = get_object_or_404(Customer, pk=customer_id)
    form = InviteUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_user_invite(
                customer=customer,
                actor=request.user,
                portal_url=request.build_absolute_uri("/"),
                **form.cleaned_data,
            )
        except CustomersError as exc:
            form.add_error("email", str(exc))
        except OSError as exc:
            model_admin.message_user(
                request,
                f"The user was created, but the e-mail failed ({exc}); resend it from "
                "Customer users.",
                messages.WARNING,
            )
            return redirect(reverse("admin:customers_customer_change", args=[customer.pk]))
        else:
            model_admin.message_user(
                request,
                f"Invited {form.cleaned_data['email']}; they will get an e-mail to "
                "set their password.",
                messages.SUCCESS,
            )
            return redirect(reverse("admin:customers_customer_change", args=[customer.pk]))
    return _page(
        request,
        model_admin,
        "customer/invite_user.html",
        f"Invite a portal user for {customer}",
        form=form,
        customer=customer,
    )
