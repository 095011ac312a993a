"""The seller's logo URL for the portal's pages (`billing_portal.templatetags.branding`): a
static file that exists, else nothing."""

import pytest
from django.contrib.staticfiles import finders

from billing_portal.templatetags.branding import static_logo_url


def test_it_gives_the_static_url_of_a_static_logo():
    assert finders.find("billing/logo.svg")

    assert static_logo_url("billing/logo.svg") == "/static/billing/logo.svg"


@pytest.mark.parametrize(
    "path",
    ["", "billing/missing.svg", "/etc/hostname", "../manage.py", "https://cdn.example/logo.png"],
)
def test_it_gives_nothing_for_a_path_that_is_no_static_file(path):
    assert static_logo_url(path) == ""
