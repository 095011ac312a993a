"""A key's secret lives only in the one response that shows it, and the portal's management
key in none: after provisioning and rotating through the admin, neither is anywhere else.
"""

import logging

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.urls import reverse

from customers.models import ApiKey


class Browser:
    """The test client, remembering every response it got."""

    def __init__(self, client):
        self.client, self.responses = client, []

    def get(self, url, data=None):
        return self._keep(self.client.get(url, data))

    def post(self, url, data):
        return self._keep(self.client.post(url, data))

    def _keep(self, response):
        self.responses.append(response)
        return response

    def provision(self, customer, *, twice=False) -> str:
        url = reverse("admin:customers_customer_provision_key", args=[customer.pk])
        form = self.get(url).context["form"]
        data = {
            "token": str(form["token"].value()),
            "project": form["project"].value(),
            "comment": "Acme production",
            "scopes": ["usage:write"],
            "tags": "env:prod",
        }
        secret = self.post(url, data).context["secret"]
        if twice:  # the back button, or a double click
            assert "already submitted" in self.post(url, data).text
        return secret

    def rotate(self, api_key, **changes) -> str:
        url = reverse("admin:customers_apikey_rotate", args=[api_key.pk])
        form = self.get(url).context["form"]
        data = {"token": str(form["token"].value()), "when": "now", **changes}
        return self.post(url, data).context["secret"]


@pytest.fixture
def browser(client, support_user, sandbox, default_project, caplog):
    caplog.set_level(logging.DEBUG)
    client.force_login(support_user)
    return Browser(client)


@pytest.fixture
def secrets(browser, customer_a):
    """Provision a key (twice), look at it, rotate it, look around, revoke the new key (whose
    message waits in the messages storage): the two secrets that were shown."""
    first = browser.provision(customer_a, twice=True)
    key = ApiKey.objects.get()
    browser.get(reverse("admin:customers_apikey_change", args=[key.pk]))
    second = browser.rotate(key)
    browser.get(reverse("admin:customers_apikey_changelist"))
    browser.get(reverse("admin:customers_customer_change", args=[customer_a.pk]))
    browser.get(reverse("admin:customers_keyevent_changelist"))
    browser.post(
        reverse("admin:customers_apikey_changelist"),
        {"action": "revoke_selected", "_selected_action": [key.replaced_by.pk], "confirmed": "yes"},
    )
    assert first and second and first != second
    return [first, second]


def text_of(value) -> str:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def every_stored_value():
    """Every value in every column of every table, as text."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            # Table names come from the database itself, not from input.
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    yield table, text_of(value)


def test_it_shows_each_secret_on_its_own_page_only(browser, secrets):
    pages = [response.content.decode() for response in browser.responses]

    assert [sum(secret in page for page in pages) for secret in secrets] == [1, 1]
    assert [sum(page.count(secret) for page in pages) for secret in secrets] == [1, 1]


def test_it_keeps_the_secrets_out_of_the_database(secrets):
    found = [table for table, value in every_stored_value() if any(s in value for s in secrets)]

    assert found == []


def test_it_keeps_the_secrets_out_of_the_sessions(client, secrets):
    stored = [str(session.get_decoded()) for session in Session.objects.all()]

    assert stored
    assert not any(secret in str(dict(client.session.items())) for secret in secrets)
    assert not any(secret in text for secret in secrets for text in stored)


def test_it_keeps_the_secrets_out_of_the_messages(browser, client, secrets):
    shown = browser.get(reverse("admin:index"))

    messages = [str(message) for message in shown.context["messages"]]
    cookies = [morsel.value for morsel in client.cookies.values()]
    assert messages == ["Revoked 1 key."]
    assert not any(secret in text for secret in secrets for text in messages + cookies)


def test_it_keeps_the_secrets_out_of_the_logs(caplog, secrets):
    records = caplog.get_records("setup")  # the flows ran while the test was set up
    logged = [logging.Formatter().format(record) for record in records]

    assert records
    assert not any(secret in text for secret in secrets for text in logged)


def test_it_keeps_the_secrets_out_of_emails(mailoutbox, secrets):
    sent = [f"{m.subject}\n{m.body}\n{m.alternatives}" for m in mailoutbox]

    assert not any(secret in text for secret in secrets for text in sent)


def test_it_keeps_the_secrets_out_of_redirects(browser, secrets):
    locations = [r["Location"] for r in browser.responses if r.has_header("Location")]

    assert not any(secret in location for secret in secrets for location in locations)


def test_it_keeps_the_secrets_out_of_headers(browser, secrets):
    headers = [str(dict(r.headers)) for r in browser.responses]

    assert not any(secret in text for secret in secrets for text in headers)


def test_it_keeps_a_rotation_later_secret_out_of_the_database(browser, customer_a):
    browser.provision(customer_a)
    secret = browser.rotate(ApiKey.objects.get(), when="later", revoke_at="2099-01-01T00:00")

    assert not [table for table, value in every_stored_value() if secret in value]


# --- The management key ---------------------------------------------------------------------


def test_it_never_shows_the_management_key(browser, sandbox, customer_a, default_project):
    browser.provision(customer_a)
    key = ApiKey.objects.get()
    browser.rotate(key)
    browser.get(reverse("admin:customers_apikey_change", args=[key.pk]))
    browser.post(
        reverse("admin:customers_apikey_reconcile"),
        {"project": default_project.pk, "action": "reconcile"},
    )
    browser.post(
        reverse("admin:customers_apikey_changelist"),
        {"action": "revoke_selected", "_selected_action": [key.replaced_by.pk]},
    )

    pages = [response.content.decode() for response in browser.responses]
    assert len(pages) == 7
    assert not any(settings.SANDBOX_API_KEY in page for page in pages)


def test_it_never_shows_the_management_key_in_deepgrams_errors(
    browser, sandbox, customer_a, caplog
):
    sandbox.queue_fault(
        "error",
        status=401,
        method="POST",
        message=f"Invalid credentials: Token {settings.SANDBOX_API_KEY}",
    )
    url = reverse("admin:customers_customer_provision_key", args=[customer_a.pk])
    form = browser.get(url).context["form"]

    response = browser.post(
        url,
        {
            "token": str(form["token"].value()),
            "project": form["project"].value(),
            "comment": "Acme production",
            "scopes": ["usage:write"],
        },
    )

    assert "Invalid credentials" in response.text
    assert settings.SANDBOX_API_KEY not in response.text
    assert not [table for table, value in every_stored_value() if settings.SANDBOX_API_KEY in value]
    assert settings.SANDBOX_API_KEY not in caplog.text
