"""Who may open which customers page: the role matrix for Support, Finance, other staff,
portal users and anonymous visitors, plus Finance's billing-only edits and the portal's home.
"""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from customers.models import ApiKey, Customer

# Support does all key work; Finance reads customers, keys and the audit; other staff nothing.
PAGES = {
    "customer changelist": ("admin:customers_customer_changelist", None, 200, 200),
    "customer change": ("admin:customers_customer_change", "customer", 200, 200),
    "customer add": ("admin:customers_customer_add", None, 200, 403),
    "apikey changelist": ("admin:customers_apikey_changelist", None, 200, 200),
    "apikey change": ("admin:customers_apikey_change", "key", 200, 200),
    "provision key": ("admin:customers_customer_provision_key", "customer", 200, 403),
    "invite user": ("admin:customers_customer_invite_user", "customer", 200, 403),
    "rotate key": ("admin:customers_apikey_rotate", "key", 200, 403),
    "reconcile keys": ("admin:customers_apikey_reconcile", None, 200, 403),
    "keyevent changelist": ("admin:customers_keyevent_changelist", None, 200, 200),
    "customeruser changelist": ("admin:customers_customeruser_changelist", None, 200, 403),
    "project changelist": ("admin:customers_deepgramproject_changelist", None, 200, 200),
}


@pytest.fixture
def api_key(customer_a, default_project):
    return ApiKey.objects.create(
        customer=customer_a,
        project=default_project,
        key_id="5b0f9f0e-0000-4000-8000-00000000a001",
        comment="Acme prod",
        scopes=["usage:write"],
    )


def page_url(page: str, customer, api_key) -> str:
    name, arg, _, _ = PAGES[page]
    args = {"customer": [customer.pk], "key": [api_key.pk], None: []}[arg]
    return reverse(name, args=args)


def expected_status(page: str, role: str) -> int:
    _, _, support, finance = PAGES[page]
    return {"support_user": support, "finance_user": finance, "other_staff": 403}[role]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ["support_user", "finance_user", "other_staff"])
def test_it_gives_each_staff_role_its_pages(client, request, customer_a, api_key, role, page):
    client.force_login(request.getfixturevalue(role))

    response = client.get(page_url(page, customer_a, api_key))

    assert response.status_code == expected_status(page, role)


@pytest.mark.parametrize(
    ("role", "models"),
    [
        ("support_user", {"ApiKey", "Customer", "CustomerUser", "DeepgramProject", "KeyEvent"}),
        ("finance_user", {"ApiKey", "Customer", "DeepgramProject", "KeyEvent"}),
    ],
)
def test_it_lists_each_roles_models_on_the_admin_index(db, client, request, role, models):
    client.force_login(request.getfixturevalue(role))

    response = client.get(reverse("admin:index"))

    [app] = [app for app in response.context["app_list"] if app["app_label"] == "customers"]
    assert {model["object_name"] for model in app["models"]} == models


def test_it_hides_the_customers_app_from_other_staff(client, other_staff):
    client.force_login(other_staff)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert "customers" not in [app["app_label"] for app in response.context["app_list"]]
    assert client.get(reverse("admin:app_list", args=["customers"])).status_code == 404


@pytest.mark.parametrize("page", PAGES)
def test_it_sends_a_portal_user_to_the_admin_login(
    client, customer_a_user, customer_a, api_key, page
):
    client.force_login(customer_a_user)
    url = page_url(page, customer_a, api_key)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={url}"


@pytest.mark.parametrize("page", PAGES)
def test_it_sends_an_anonymous_visitor_to_the_admin_login(client, customer_a, api_key, page):
    url = page_url(page, customer_a, api_key)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={url}"


# --- The revoke action ----------------------------------------------------------------------


def revoke_action(client, api_key):
    return client.post(
        reverse("admin:customers_apikey_changelist"),
        {"action": "revoke_selected", "_selected_action": [api_key.pk]},
    )


def test_it_asks_support_to_confirm_the_revoke_action(client, sandbox, support_user, api_key):
    client.force_login(support_user)

    response = revoke_action(client, api_key)

    assert response.status_code == 200
    assert response.templates[0].name == "admin/customers/apikey/revoke_confirm.html"
    assert sandbox.calls == []


def test_it_offers_finance_no_revoke_action(client, sandbox, finance_user, api_key):
    client.force_login(finance_user)

    listing = client.get(reverse("admin:customers_apikey_changelist"))
    response = revoke_action(client, api_key)

    assert b"revoke_selected" not in listing.content
    assert response.status_code == 200
    assert response.templates[0].name == "admin/customers/apikey/change_list.html"
    api_key.refresh_from_db()
    assert api_key.status == ApiKey.Status.ACTIVE
    assert sandbox.calls == []


def test_it_offers_support_the_revoke_action(client, support_user, api_key):
    client.force_login(support_user)

    listing = client.get(reverse("admin:customers_apikey_changelist"))

    assert b'value="revoke_selected"' in listing.content


def test_it_refuses_the_revoke_action_to_other_staff(client, sandbox, other_staff, api_key):
    client.force_login(other_staff)

    response = revoke_action(client, api_key)

    assert response.status_code == 403
    assert sandbox.calls == []


@pytest.mark.parametrize("who", ["customer_a_user", None])
def test_it_sends_a_non_staff_revoke_action_to_the_admin_login(
    client, request, sandbox, api_key, who
):
    if who:
        client.force_login(request.getfixturevalue(who))

    response = revoke_action(client, api_key)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert sandbox.calls == []


# --- Key-work links on the pages ------------------------------------------------------------


def test_it_shows_support_the_key_work_links(client, support_user, customer_a, api_key):
    client.force_login(support_user)

    customer_page = client.get(reverse("admin:customers_customer_change", args=[customer_a.pk]))
    key_page = client.get(reverse("admin:customers_apikey_change", args=[api_key.pk]))
    key_list = client.get(reverse("admin:customers_apikey_changelist"))

    assert reverse("admin:customers_customer_provision_key", args=[customer_a.pk]) in (
        customer_page.text
    )
    assert reverse("admin:customers_customer_invite_user", args=[customer_a.pk]) in (
        customer_page.text
    )
    assert reverse("admin:customers_apikey_rotate", args=[api_key.pk]) in key_page.text
    assert reverse("admin:customers_apikey_reconcile") in key_list.text


def test_it_hides_the_key_work_links_from_finance(client, finance_user, customer_a, api_key):
    client.force_login(finance_user)

    customer_page = client.get(reverse("admin:customers_customer_change", args=[customer_a.pk]))
    key_page = client.get(reverse("admin:customers_apikey_change", args=[api_key.pk]))
    key_list = client.get(reverse("admin:customers_apikey_changelist"))

    assert "provision-key" not in customer_page.text
    assert "invite-user" not in customer_page.text
    assert "/rotate/" not in key_page.text
    assert "/reconcile/" not in key_list.text


# --- Editing a customer ---------------------------------------------------------------------


class _FormFields(HTMLParser):
    """The fields a browser would submit from the form with the given id."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.data = form_id, False, []
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        elif not self.inside:
            return
        elif tag == "option":
            self._option(attrs)
        elif "name" not in attrs:
            return
        elif tag == "input":
            self._input(attrs)
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self.data.append([attrs["name"], ""])
        elif tag == "select":
            self._select = [attrs["name"], None]

    def _option(self, attrs):
        # The first option unless one is selected.
        if self._select is not None and (self._select[1] is None or "selected" in attrs):
            self._select[1] = attrs.get("value", "")

    def _input(self, attrs):
        kind = attrs.get("type", "text")
        if kind in {"submit", "button", "file"}:
            return
        if kind in {"checkbox", "radio"} and "checked" not in attrs:
            return
        # As a browser sends it: a box without a value sends "on", a text field "".
        default = "on" if kind in {"checkbox", "radio"} else ""
        self.data.append([attrs["name"], attrs.get("value", default)])

    def handle_data(self, data):
        if self._textarea:
            self.data[-1][1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select is not None:
            self.data.append([self._select[0], self._select[1] or ""])
            self._select = None


def submitted_form(client, url: str, form_id: str, **changes) -> dict:
    """GET the page, then the form's data as a browser would send it, with `changes`."""
    parser = _FormFields(form_id)
    parser.feed(client.get(url).text)
    data: dict[str, list[str]] = {}
    for name, value in parser.data:
        data.setdefault(name, []).append(value)
    data.update({name: [value] for name, value in changes.items()})
    return data


# The billing details, the only fields Finance may change, as Finance changes them here.
NEW_BILLING_DETAILS = {
    "legal_name": "Acme Voice Limited",
    "billing_email": "invoices@acme.example",
    "address": "1 Acme Road\nLeeds",
    "country": "GB",
    "tax_id": "GB123456789",
    "currency": "EUR",
}


def test_it_lets_finance_change_the_billing_details(client, finance_user, customer_a):
    client.force_login(finance_user)
    url = reverse("admin:customers_customer_change", args=[customer_a.pk])
    data = submitted_form(client, url, "customer_form", **NEW_BILLING_DETAILS)

    response = client.post(url, data)

    assert response.status_code == 302
    customer_a.refresh_from_db()
    saved = {field: getattr(customer_a, field) for field in NEW_BILLING_DETAILS}
    assert saved == NEW_BILLING_DETAILS


def test_it_ignores_finances_changes_to_other_fields(client, finance_user, customer_a):
    client.force_login(finance_user)
    url = reverse("admin:customers_customer_change", args=[customer_a.pk])
    data = submitted_form(client, url, "customer_form", billing_email="invoices@acme.example")
    data.update(name=["Renamed by finance"], status=["closed"], notes=["Finance was here"])

    response = client.post(url, data)

    assert response.status_code == 302
    customer_a.refresh_from_db()
    assert customer_a.billing_email == "invoices@acme.example"
    assert (customer_a.name, customer_a.status, customer_a.notes) == (
        "Acme Voice Ltd",
        Customer.Status.ACTIVE,
        "",
    )


def test_it_shows_finance_the_other_fields_read_only(client, finance_user, customer_a):
    client.force_login(finance_user)

    response = client.get(reverse("admin:customers_customer_change", args=[customer_a.pk]))

    form = response.context["adminform"].form
    assert set(form.fields) == set(NEW_BILLING_DETAILS)


def test_it_lets_support_change_a_customer(client, support_user, customer_a):
    client.force_login(support_user)
    url = reverse("admin:customers_customer_change", args=[customer_a.pk])
    data = submitted_form(client, url, "customer_form", name="Acme Voice Group", status="suspended")

    response = client.post(url, data)

    assert response.status_code == 302
    customer_a.refresh_from_db()
    assert (customer_a.name, customer_a.status) == ("Acme Voice Group", Customer.Status.SUSPENDED)


def test_it_lets_support_add_a_customer(client, support_user, db):
    client.force_login(support_user)
    url = reverse("admin:customers_customer_add")
    data = submitted_form(
        client, url, "customer_form", name="Initech", billing_email="ap@initech.example"
    )

    response = client.post(url, data)

    assert response.status_code == 302
    customer = Customer.objects.get()
    assert (customer.name, customer.billing_email, customer.currency) == (
        "Initech",
        "ap@initech.example",
        "USD",
    )


def test_it_refuses_finance_a_new_customer(client, finance_user, db):
    client.force_login(finance_user)

    response = client.post(
        reverse("admin:customers_customer_add"),
        {"name": "Initech", "billing_email": "ap@initech.example", "currency": "USD"},
    )

    assert response.status_code == 403
    assert not Customer.objects.exists()


def test_it_refuses_other_staff_a_customer_change(client, other_staff, customer_a):
    client.force_login(other_staff)

    response = client.post(
        reverse("admin:customers_customer_change", args=[customer_a.pk]),
        {"name": "Renamed", "billing_email": "x@example.com", "currency": "USD"},
    )

    assert response.status_code == 403
    customer_a.refresh_from_db()
    assert customer_a.name == "Acme Voice Ltd"


# --- The portal -----------------------------------------------------------------------------


def test_it_sends_an_anonymous_visitor_to_the_portal_login(client):
    response = client.get("/portal/")

    assert response.status_code == 302
    assert response["Location"] == "/portal/login/?next=/portal/"


@pytest.mark.parametrize(
    ("user", "own", "other"),
    [
        ("customer_a_user", "Acme Voice Ltd", "Globex Transcripts"),
        ("customer_b_user", "Globex Transcripts", "Acme Voice Ltd"),
    ],
)
def test_it_shows_each_customer_user_their_own_customer_only(
    client, request, customer_a, customer_b, user, own, other
):
    client.force_login(request.getfixturevalue(user))

    response = client.get("/portal/")

    assert response.status_code == 200
    assert own in response.text
    assert other not in response.text


@pytest.mark.parametrize("role", ["support_user", "finance_user", "other_staff"])
def test_it_gives_staff_without_a_customer_404_in_the_portal(client, request, customer_a, role):
    client.force_login(request.getfixturevalue(role))

    response = client.get("/portal/")

    assert response.status_code == 404
