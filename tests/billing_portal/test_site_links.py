"""The admin's "View site" link and the site's root lead to the customers' portal."""

from django.urls import reverse


def test_view_site_goes_to_the_portal(finance):
    page = finance.get(reverse("admin:index")).content.decode()
    assert f'<a href="{reverse("portal:home")}">View site</a>' in page


def test_the_root_redirects_to_the_portal(client):
    response = client.get("/")
    assert (response.status_code, response.url) == (302, reverse("portal:home"))
