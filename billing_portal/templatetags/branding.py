"""The seller's name and logo (`BILLING_COMPANY_NAME`, `BILLING_LOGO_PATH`) for the portal's
pages: the login and password pages and the header of every page."""

import functools

from django import template
from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import SuspiciousFileOperation

register = template.Library()


@register.simple_tag
def seller_name() -> str:
    return settings.BILLING_COMPANY_NAME


@register.simple_tag
def seller_logo_url() -> str:
    """The logo's static URL when `BILLING_LOGO_PATH` names a static file that exists, else
    "" (the pages then show the name only): a page never links a logo that is not there."""
    return static_logo_url(settings.BILLING_LOGO_PATH)


@functools.lru_cache(maxsize=8)
def static_logo_url(path: str) -> str:
    """The static URL of `path` when it is a static file, found as the invoice PDF finds the
    logo (`finders.find`), else "". Cached per path: every portal page asks."""
    if not path:
        return ""
    try:
        return staticfiles_storage.url(path) if finders.find(path) else ""
    except (SuspiciousFileOperation, ValueError):  # outside the static roots; not in a manifest
        return ""
