"""Who may open which portal page: anonymous visitors log in first; a customer user sees its
own customer's pages; another customer's document and staff without a membership get 404."""

import pytest
from django.urls import reverse

PAGES = ["home", "invoices", "usage", "usage_csv", "invoice_pdf"]


def url_of(name: str, invoice) -> str:
    if name == "usage_csv":
        return reverse("portal:usage_csv", args=["2026-10"])
    if name == "invoice_pdf":
        return reverse("portal:invoice_pdf", args=[invoice.public_id])
    return reverse(f"portal:{name}")


@pytest.mark.parametrize("name", PAGES)
def test_it_sends_an_anonymous_visitor_to_the_login(client, acme_october, name):
    url = url_of(name, acme_october)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('portal:login')}?next={url}"


@pytest.mark.parametrize("name", PAGES)
def test_it_opens_every_page_to_the_customers_user(client, acme_october, customer_a_user, name):
    client.force_login(customer_a_user)

    response = client.get(url_of(name, acme_october))

    assert response.status_code == 200


@pytest.mark.parametrize("name", ["home", "invoices", "usage", "usage_csv"])
def test_it_opens_the_other_customer_its_own_pages(client, acme_october, customer_b_user, name):
    client.force_login(customer_b_user)

    response = client.get(url_of(name, acme_october))

    assert response.status_code == 200
    assert acme_october.number not in response.content.decode()
    assert "acme-key-1" not in response.content.decode()


def test_it_gives_the_other_customer_404_for_the_pdf(client, acme_october, customer_b_user):
    client.force_login(customer_b_user)

    response = client.get(url_of("invoice_pdf", acme_october))

    assert response.status_code == 404


@pytest.mark.parametrize("role", ["support_user", "finance_user"])
@pytest.mark.parametrize("name", PAGES)
def test_it_gives_staff_without_a_customer_404(client, request, acme_october, role, name):
    client.force_login(request.getfixturevalue(role))

    response = client.get(url_of(name, acme_october))

    assert response.status_code == 404


def test_it_gives_a_superuser_without_a_customer_404(client, acme_october, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@staff.example", "x")
    client.force_login(admin)

    response = client.get(url_of("invoice_pdf", acme_october))

    assert response.status_code == 404


@pytest.mark.parametrize("name", ["home", "invoices", "usage"])
def test_it_shows_the_nav_on_every_page(client, acme, customer_a_user, name):
    client.force_login(customer_a_user)

    page = client.get(reverse(f"portal:{name}")).content.decode()

    for href in ("/portal/", "/portal/invoices/", "/portal/usage/", "/portal/logout/"):
        assert f'href="{href}"' in page or f'action="{href}"' in page
    assert 'aria-current="page"' in page


@pytest.mark.parametrize("name", PAGES)
def test_it_refuses_a_post(client, acme_october, customer_a_user, name):
    client.force_login(customer_a_user)

    response = client.post(url_of(name, acme_october))

    assert response.status_code == 405
