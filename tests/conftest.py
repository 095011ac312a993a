"""Shared fixtures: the Deepgram sandbox over real HTTP, service guards for CI, the cast of
users, the one customer factory and one key factory every test uses, and admin lists opened in
a counted number of queries.

Under CI=true a test that needs PostgreSQL or Redis fails when the service is not reachable;
elsewhere it is skipped with the reason.
"""

import collections
import itertools
import os
from datetime import UTC, datetime

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
def support(client, support_user):
    """The test client, logged in as Support."""
    client.force_login(support_user)
    return client


@pytest.fixture
def finance(client, finance_user):
    """The test client, logged in as Finance."""
    client.force_login(finance_user)
    return client


@pytest.fixture
def default_project(db, settings):
    from customers.services import project_ensure_default

    return project_ensure_default(project_id=settings.SANDBOX_PROJECT_ID, name="Sandbox project")


# --- Factories: the one way tests make customers and keys ----------------------------------


@pytest.fixture
def make_customer(db):
    """A customer; any field is passed as is. Without a name it is "Customer NNN", numbered in
    the order made (so their names sort as they were made), with a billing e-mail of its own."""
    from customers.models import Customer

    serial = itertools.count(1)

    def make(name: str | None = None, **fields):
        n = next(serial)
        fields.setdefault("billing_email", f"billing{n}@customer.example")
        return Customer.objects.create(name=name or f"Customer {n:03}", **fields)

    return make


@pytest.fixture
def key_of(default_project):
    """A customer's key, stored as if provisioned on 1 January 2026 (no Deepgram involved: the
    usage conftest's `make_key` is the one that goes through the sandbox). In the default
    project unless `project` is given; the comment is the customer's name unless given. A key
    without an id is named after the first word of its customer's name and numbered: Acme's
    first is "acme-key-1", its second "acme-key-2"."""
    from customers.models import ApiKey

    made = collections.Counter()

    def make(customer, key_id: str | None = None, *, project=None, comment=None, **fields):
        stem = customer.name.split()[0].lower()
        made[stem] += 1
        fields.setdefault("created_at", datetime(2026, 1, 1, tzinfo=UTC))
        return ApiKey.objects.create(
            customer=customer,
            project=project or default_project,
            key_id=key_id or f"{stem}-key-{made[stem]}",
            comment=customer.name if comment is None else comment,
            scopes=["usage:write"],
            **fields,
        )

    return make


@pytest.fixture
def customer_a(make_customer):
    return make_customer("Acme Voice Ltd", billing_email="billing@acme.example")


@pytest.fixture
def customer_b(make_customer):
    return make_customer("Globex Transcripts", billing_email="ap@globex.example")


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


# --- Admin lists ----------------------------------------------------------------------------


@pytest.fixture
def list_in_queries(client, django_assert_num_queries):
    """The rows of an admin list opened as `user`, in exactly `queries` queries (logging in is
    not counted); other keywords are the list's query string. A list's query count must not
    grow with its rows, so each list is measured with few rows and with many."""

    def get(url: str, *, user, queries: int, **query) -> list:
        client.force_login(user)
        with django_assert_num_queries(queries):
            response = client.get(url, query)
        return list(response.context["cl"].result_list)

    return get


@pytest.fixture
def line_item_month(sandbox, default_project, make_customer, support_user):
    """Two customers (Cardco, Costco) with a key each, October 2026 synced from the sandbox,
    with text to speech and the voice agent (see `tests.invoices.line_items`): keys by name."""
    from tests.invoices.line_items import sync_month

    return sync_month(sandbox, default_project, make_customer, support_user)
