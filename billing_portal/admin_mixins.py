"""Admin building blocks shared by the apps."""

from collections.abc import Callable

from django.contrib import admin
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import URLPattern, path


def require(request, permission: str) -> None:
    """Custom admin views are wrapped in `admin_view`, which only checks `is_staff`."""
    if not request.user.has_perm(permission):
        raise PermissionDenied


def admin_page(request, model_admin, template: str, title: str, **context) -> TemplateResponse:
    """A custom admin page with the admin's own context (sidebar, breadcrumbs, title)."""
    context.update(
        model_admin.admin_site.each_context(request), title=title, opts=model_admin.model._meta
    )
    return TemplateResponse(request, template, context)


def action_confirmed(request) -> bool:
    """Whether an admin action comes back from its confirmation page (`confirmation_page`),
    which posts the selection and the action again with `confirmed=yes`."""
    return request.POST.get("confirmed") == "yes"


def confirmation_page(request, model_admin, template: str, title: str, **context):
    """The page an admin action shows before it acts; the template posts the selection back
    in hidden `action_checkbox_name` fields, with the action and `confirmed=yes`."""
    return admin_page(
        request,
        model_admin,
        template,
        title,
        action_checkbox_name=helpers.ACTION_CHECKBOX_NAME,
        **context,
    )


class PagesAdminMixin:
    """A model admin with pages of its own, before its standard ones: each `route: view` of
    `pages` calls `view(request, model_admin, **url_kwargs)` behind `admin_view`, and is named
    `<app>_<model>_<the route's last part>`, with "-" as "_" (`<int:invoice_id>/mark-paid/`:
    `invoices_invoice_mark_paid`)."""

    pages: dict[str, Callable] = {}

    def get_urls(self) -> list[URLPattern]:
        opts = self.model._meta
        own = [
            path(
                route,
                self.admin_site.admin_view(_with_model_admin(view, self)),
                name=f"{opts.app_label}_{opts.model_name}_{_last_part(route)}",
            )
            for route, view in self.pages.items()
        ]
        return [*own, *super().get_urls()]


def _with_model_admin(view: Callable, model_admin) -> Callable:
    def page(request, **url_kwargs):
        return view(request, model_admin, **url_kwargs)

    return page


def _last_part(route: str) -> str:
    return route.rstrip("/").rsplit("/", 1)[-1].replace("-", "_")


def person(user) -> str:
    """A user as a plain name, "-" for none: a link to the user admin would lead Support and
    Finance to a 403."""
    return user.get_username() if user else "-"


def person_column(field: str, description: str, *, nobody: str = "-", **display):
    """An admin column (or read-only field) of the user in `field`, as `person` shows it, or
    `nobody` when there is none; `display` goes to `admin.display` (an `ordering`, say)."""

    @admin.display(description=description, **display)
    def column(model_admin, obj) -> str:
        user = getattr(obj, field)
        return person(user) if user else nobody

    return column


class ReadOnlyAdminMixin:
    """For rows that only services write: viewable, never added, edited or deleted in the
    admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
