"""The portal's login and password pages carry the seller's name and logo
(`BILLING_COMPANY_NAME`, `BILLING_LOGO_PATH`); without a logo, or with one that is no static
file, they show the name only: never a broken image."""

import pytest
from django.urls import reverse

PAGES = ["portal:login", "portal:password_reset", "portal:password_reset_done"]


@pytest.fixture(autouse=True)
def seller(settings):
    settings.BILLING_COMPANY_NAME = "Northwind Speech GmbH"
    settings.BILLING_LOGO_PATH = "billing/logo.svg"


def header_of(page: str) -> str:
    return page[page.index("<header>") : page.index("</header>")]


@pytest.mark.parametrize("name", PAGES)
def test_it_shows_the_sellers_logo_on_the_login_and_password_pages(client, db, name):
    page = client.get(reverse(name)).text

    assert '<img class="brand-logo" src="/static/billing/logo.svg" alt="Northwind Speech GmbH"' in (
        header_of(page)
    )
    assert "<title>" in page and "· Northwind Speech GmbH</title>" in page


def test_it_names_the_sellers_portal_on_the_login_page(client, db):
    page = client.get(reverse("portal:login")).text

    assert "Welcome to the Northwind Speech GmbH billing portal" in page


def test_it_shows_the_password_set_page_branded(client, db):
    page = client.get(reverse("portal:password_reset_confirm", args=["MQ", "bad-token"])).text

    assert "This link no longer works" in page
    assert 'src="/static/billing/logo.svg"' in header_of(page)


@pytest.mark.parametrize("path", ["", "billing/no-such-logo.png", "../billing_portal/settings.py"])
def test_it_shows_the_name_only_without_a_logo_it_can_serve(client, db, settings, path):
    settings.BILLING_LOGO_PATH = path

    header = header_of(client.get(reverse("portal:login")).text)

    assert "<img" not in header
    assert '<span class="brand-name">Northwind Speech GmbH</span>' in header


def test_it_shows_the_logged_in_customers_pages_branded_too(client, customer_a_user):
    client.force_login(customer_a_user)

    header = header_of(client.get(reverse("portal:home")).text)

    assert 'src="/static/billing/logo.svg"' in header
    assert "Billing portal · Acme Voice Ltd" in header
