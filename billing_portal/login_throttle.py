"""Failed-login throttling (django-axes) as this portal uses it, on `/admin/login/` and
`/portal/login/` alike.

Rules:
- A cool-down, not a lock: LOGIN_FAILURE_LIMIT failures of one username from one client
  address lock that combination only, for LOGIN_COOLOFF_MINUTES (every try while locked
  starts the cool-off again). The same account from another address, and other accounts from
  the same address, still log in, so nobody can lock finance out by typing its username.
- The client address is the socket peer (REMOTE_ADDR). `X-Forwarded-For` is read only when
  that peer is one of DJANGO_TRUSTED_PROXIES: then the address is the right-most one in the
  header that is not a trusted proxy. Without trusted proxies the header is never read.
- A locked-out login answers 429 with a page of ours, the admin's or the portal's look.
- Staff unlock by deleting the attempt in the admin's "Access attempts" (superusers, or the
  `axes.delete_accessattempt` permission), or `manage.py axes_reset_ip_username IP USER`.
"""

import ipaddress

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib import admin
from django.shortcuts import render
from django.urls import reverse

__all__ = ["LoginThrottleBackend", "client_address", "lockout_response"]


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses a locked-out username and address before any password is checked.

    A call without a request (the test client's `login()`, a shell) comes from no client
    address and is not throttled: every login page passes its request, so none goes around."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address) -> bool:
    return address is not None and any(
        address in ipaddress.ip_network(proxy, strict=False) for proxy in settings.TRUSTED_PROXIES
    )


def client_address(request) -> str | None:
    """The client's address: the peer, or behind a trusted proxy the right-most address of
    `X-Forwarded-For` that is not a trusted proxy (the left-most, when all are)."""
    peer = request.META.get("REMOTE_ADDR")
    if not _trusted(_ip(peer or "")):
        return peer
    hops = [_ip(hop) for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop is not None]
    for hop in reversed(hops):
        if not _trusted(hop):
            return str(hop)
    return str(hops[0]) if hops else peer


def lockout_response(request, original_response=None, credentials=None):
    """The 429 page of a locked-out login, in the look of the site it was tried on."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    if request.path.startswith(reverse("admin:index")):
        context = {**admin.site.each_context(request), "title": "Too many failed logins"}
        return render(
            request, "axes/locked_out_admin.html", {**context, "minutes": minutes}, status=429
        )
    return render(request, "axes/locked_out_portal.html", {"minutes": minutes}, status=429)
