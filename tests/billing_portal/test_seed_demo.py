import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from customers.models import Customer, DeepgramProject


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_is_idempotent(settings):
    seed()
    counts = (
        get_user_model().objects.count(),
        Customer.objects.count(),
        DeepgramProject.objects.count(),
    )

    seed()

    assert counts == (3, 3, 1)
    assert (
        get_user_model().objects.count(),
        Customer.objects.count(),
        DeepgramProject.objects.count(),
    ) == counts


@pytest.mark.django_db
def test_it_puts_demo_staff_in_their_roles():
    seed()
    User = get_user_model()

    assert list(User.objects.get(username="support").groups.values_list("name", flat=True)) == [
        "Support"
    ]
    assert list(User.objects.get(username="finance").groups.values_list("name", flat=True)) == [
        "Finance"
    ]
    assert User.objects.get(username="admin").is_superuser


@pytest.mark.django_db
def test_it_makes_the_configured_project_the_default(settings):
    seed()

    assert DeepgramProject.objects.get(is_default=True).project_id == settings.DEEPGRAM_PROJECT_ID


@pytest.mark.django_db
def test_it_prints_passwords_only_in_debug(settings):
    settings.DEBUG = False
    quiet = seed()
    settings.DEBUG = True
    loud = seed()

    assert "password:" not in quiet
    assert "support  password: demo-support-pass" in loud
    assert get_user_model().objects.get(username="support").check_password("demo-support-pass")
