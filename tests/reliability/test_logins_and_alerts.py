"""Reliability matrix, logins and alerts: thirty wrong passwords and then the right one are
refused on both login pages, for that account and address only; a forwarded address is
believed only from a trusted proxy; staff may unlock."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.conftest import PASSWORD

LOGINS = ["admin:login", "portal:login"]


@pytest.fixture
def people(finance_user, customer_a_user, support_user):
    """Who logs in where: on the admin Finance (locked) and Support (another account), on the
    portal the customer user and Support (staff may open the portal login too)."""
    return {
        "admin:login": (finance_user.username, support_user.username),
        "portal:login": (customer_a_user.username, support_user.username),
    }


def log_in(client, url_name, username, password=PASSWORD, **extra):
    client.logout()
    return client.post(reverse(url_name), {"username": username, "password": password}, **extra)


def hammer(client, url_name, username, **extra):
    return {log_in(client, url_name, username, "wrong", **extra).status_code for _ in range(30)}


@pytest.mark.parametrize("url_name", LOGINS)
def test_thirty_wrong_passwords_then_the_right_one_is_refused_with_the_message(
    client, people, url_name
):
    locked, _ = people[url_name]

    assert hammer(client, url_name, locked) == {200, 429}
    response = log_in(client, url_name, locked)

    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("url_name", LOGINS)
def test_the_lock_holds_that_account_from_that_address_only(client, people, url_name):
    locked, other = people[url_name]
    hammer(client, url_name, locked, REMOTE_ADDR="198.51.100.7")

    assert log_in(client, url_name, locked, REMOTE_ADDR="198.51.100.7").status_code == 429
    assert log_in(client, url_name, locked, REMOTE_ADDR="198.51.100.8").status_code == 302
    assert log_in(client, url_name, other, REMOTE_ADDR="198.51.100.7").status_code == 302


@pytest.mark.parametrize("url_name", LOGINS)
def test_a_forwarded_address_from_an_untrusted_client_is_ignored(client, people, url_name):
    locked, _ = people[url_name]
    for n in range(30):  # a new forwarded address each try: all are the one peer's
        log_in(client, url_name, locked, "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    response = log_in(client, url_name, locked, HTTP_X_FORWARDED_FOR="192.0.2.200")

    assert response.status_code == 429


def test_behind_a_trusted_proxy_each_client_is_its_forwarded_address(client, people, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    locked, _ = people["admin:login"]
    via_proxy = {"REMOTE_ADDR": "10.0.0.1"}
    hammer(client, "admin:login", locked, HTTP_X_FORWARDED_FOR="203.0.113.9", **via_proxy)

    def status(forwarded: str) -> int:
        return log_in(
            client, "admin:login", locked, HTTP_X_FORWARDED_FOR=forwarded, **via_proxy
        ).status_code

    # The attacker cannot step out of its lock by writing another address before its own.
    assert status("192.0.2.1, 203.0.113.9") == 429
    # The real user, behind the same proxy at another address, logs in.
    assert status("198.51.100.4") == 302


def test_a_superuser_unlocks_in_the_admin_and_support_may_not(client, people):
    locked, _ = people["admin:login"]
    hammer(client, "admin:login", locked)
    changelist = reverse("admin:axes_accessattempt_changelist")
    attempts = list(AccessAttempt.objects.values_list("pk", flat=True))

    client.force_login(get_user_model().objects.get(username="support"))
    assert client.get(changelist).status_code == 403

    admin = get_user_model().objects.create_superuser("root", "root@staff.example", PASSWORD)
    client.force_login(admin)
    response = client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": attempts, "post": "yes"},
    )

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert log_in(client, "admin:login", locked).status_code == 302
