"""Failed logins are throttled per username and client address (django-axes), on the admin's
and the portal's login page, with a cool-off rather than a lock, and a page of ours."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import RequestFactory
from django.urls import reverse

from billing_portal.login_throttle import client_address
from tests.conftest import PASSWORD
from tests.subprocess_django import PRODUCTION, run_django

ADMIN_LOGIN, PORTAL_LOGIN = "admin:login", "portal:login"


def log_in(client, url_name, username, password, **extra):
    return client.post(reverse(url_name), {"username": username, "password": password}, **extra)


def fail(client, url_name, username, times, **extra):
    return [log_in(client, url_name, username, "wrong", **extra).status_code for _ in range(times)]


@pytest.fixture
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    return settings


def test_it_locks_at_the_fifth_failure_not_before(client, finance_user, limits):
    assert fail(client, ADMIN_LOGIN, "finance", 5) == [200, 200, 200, 200, 429]


def test_a_success_before_the_limit_starts_the_count_again(client, finance_user, limits):
    fail(client, ADMIN_LOGIN, "finance", 4)
    assert log_in(client, ADMIN_LOGIN, "finance", PASSWORD).status_code == 302
    client.logout()

    assert fail(client, ADMIN_LOGIN, "finance", 4) == [200] * 4


def test_the_lock_ends_after_the_cool_off(client, finance_user, limits):
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False) as clock:
        fail(client, ADMIN_LOGIN, "finance", 5)
        clock.shift(timedelta(minutes=14))
        assert log_in(client, ADMIN_LOGIN, "finance", PASSWORD).status_code == 429

        # That try started the cool-off again: 15 minutes from it, not from the first lock.
        clock.shift(timedelta(minutes=15, seconds=1))
        assert log_in(client, ADMIN_LOGIN, "finance", PASSWORD).status_code == 302


def test_the_admin_lockout_page_is_ours_in_the_admin_look(client, finance_user, limits):
    fail(client, ADMIN_LOGIN, "finance", 5)

    response = log_in(client, ADMIN_LOGIN, "finance", PASSWORD)

    assert response.status_code == 429
    assert "axes/locked_out_admin.html" in [t.name for t in response.templates]
    page = response.content.decode()
    assert 'name="password"' not in page
    assert "Too many failed logins" in page
    assert "paused for 15 minutes" in page
    assert "Deepgram billing portal" in page  # the admin's header


def test_the_portal_lockout_page_is_ours_in_the_portal_look(client, customer_a_user, limits):
    fail(client, PORTAL_LOGIN, customer_a_user.username, 5)

    response = log_in(client, PORTAL_LOGIN, customer_a_user.username, PASSWORD)

    assert response.status_code == 429
    assert "axes/locked_out_portal.html" in [t.name for t in response.templates]
    assert "paused for 15 minutes" in response.content.decode()
    assert reverse("portal:password_reset") in response.content.decode()


def test_the_limit_and_the_cool_off_come_from_the_environment():
    result = run_django(
        "from django.conf import settings as s\n"
        "print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(), "
        "s.AXES_LOCKOUT_PARAMETERS)",
        LOGIN_FAILURE_LIMIT="7",
        LOGIN_COOLOFF_MINUTES="30",
        **PRODUCTION,
    )

    assert result.stdout.strip() == "7 1800.0 [['username', 'ip_address']]", result.stderr


def test_it_stops_on_a_trusted_proxy_that_is_no_address():
    result = run_django("", DJANGO_TRUSTED_PROXIES="10.0.0.1,proxy.local", **PRODUCTION)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Configuration error: DJANGO_TRUSTED_PROXIES: 'proxy.local' is not an IP address or "
        "network."
    ]


def test_logging_in_without_a_request_still_works(client, finance_user, limits):
    # The test client's login() passes no request: no client address, nothing to throttle.
    assert client.login(username="finance", password=PASSWORD)


# --- The client address ----------------------------------------------------------------------


def request_from(peer: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().post("/admin/login/", **extra)


@pytest.mark.parametrize(
    ("proxies", "peer", "forwarded", "expected"),
    [
        ([], "203.0.113.7", "198.51.100.1", "203.0.113.7"),  # no trusted proxy: header ignored
        (["10.0.0.1"], "203.0.113.7", "198.51.100.1", "203.0.113.7"),  # peer is no proxy
        (["10.0.0.1"], "10.0.0.1", "198.51.100.1", "198.51.100.1"),
        # The proxy appends the address it saw; what the client wrote before it is not trusted.
        (["10.0.0.1"], "10.0.0.1", "192.0.2.66, 198.51.100.1", "198.51.100.1"),
        (["10.0.0.0/8"], "10.0.0.1", "198.51.100.1, 10.0.0.9", "198.51.100.1"),  # two proxies
        (["10.0.0.1"], "10.0.0.1", "not-an-address, 198.51.100.1", "198.51.100.1"),
        (["10.0.0.1"], "10.0.0.1", None, "10.0.0.1"),  # a proxy that forwards nothing
        (["::1"], "::1", "2001:db8::5", "2001:db8::5"),
    ],
)
def test_the_client_address(settings, proxies, peer, forwarded, expected):
    settings.TRUSTED_PROXIES = proxies

    assert client_address(request_from(peer, forwarded)) == expected
