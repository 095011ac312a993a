"""Admin building blocks shared by the apps."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse


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
