"""Shared fixtures: the Deepgram sandbox over real HTTP, and service guards for CI.

Under CI=true a test that needs PostgreSQL or Redis fails when the service is not reachable;
elsewhere it is skipped with the reason.
"""

import os

import pytest
from django.conf import settings

from billing_portal.deepgram.sandbox import SandboxServer

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _need(what: str, ok: bool) -> None:
    if ok:
        return
    message = f"{what} is not configured or not reachable"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a test that needs it must not skip)")
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Production's PBKDF2 costs ~0.3 s a password; tests make many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    # Stored PDFs go to a directory of the test's own, never to var/media.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }


@pytest.fixture
def celery_eager():
    """Tasks run in the calling thread when queued (Celery's own eager mode), so a test sees
    what the worker would do."""
    from billing_portal.celery import app

    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _service_guards(request):
    if request.node.get_closest_marker("postgres"):
        _need("PostgreSQL", settings.DATABASES["default"]["ENGINE"].endswith("postgresql"))
    if request.node.get_closest_marker("redis"):
        _need("Redis", bool(settings.REDIS_URL))


@pytest.fixture(scope="session")
def sandbox_server():
    """One sandbox for the whole run, on a free port, speaking real HTTP."""
    server = SandboxServer(
        port=0, token=settings.SANDBOX_API_KEY, project_id=settings.SANDBOX_PROJECT_ID
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server, settings):
    """The sandbox, reset to its initial state, with the portal's settings pointing at it."""
    sandbox_server.reset()
    settings.DEEPGRAM_API_URL = sandbox_server.url
    settings.DEEPGRAM_API_KEY = settings.SANDBOX_API_KEY
    settings.DEEPGRAM_PROJECT_ID = settings.SANDBOX_PROJECT_ID
    yield sandbox_server
    sandbox_server.reset()


# --- The cast: who uses the portal ----------------------------------------------------------

PASSWORD = "a-Long-test-passw0rd"


def _staff(username: str, group: str | None):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@staff.example", password=PASSWORD, is_staff=True
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def support_user(db):
    return _staff("support", "Support")


@pytest.fixture
def finance_user(db):
    return _staff("finance", "Finance")


@pytest.fixture
def other_staff(db):
    """Staff in neither role: sees neither customers nor keys."""
    return _staff("other", None)


@pytest.fixture
def default_project(db, settings):
    from customers.services import project_ensure_default

    return project_ensure_default(project_id=settings.SANDBOX_PROJECT_ID, name="Sandbox project")


def _customer(name: str, email: str):
    from customers.models import Customer

    return Customer.objects.create(name=name, billing_email=email, currency="USD")


@pytest.fixture
def customer_a(db):
    return _customer("Acme Voice Ltd", "billing@acme.example")


@pytest.fixture
def customer_b(db):
    return _customer("Globex Transcripts", "ap@globex.example")


def _portal_user(customer, email: str):
    from django.contrib.auth import get_user_model

    from customers.models import CustomerUser

    user = get_user_model().objects.create_user(username=email, email=email, password=PASSWORD)
    CustomerUser.objects.create(user=user, customer=customer)
    return user


@pytest.fixture
def customer_a_user(customer_a):
    return _portal_user(customer_a, "ann@acme.example")


@pytest.fixture
def customer_b_user(customer_b):
    return _portal_user(customer_b, "bob@globex.example")
