"""The sync's side of the admin: the runs list, the "Sync usage now" button, the key sync
status list and its freshness filter, and the stale-keys banner on the admin index.
"""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import ApiKey
from usage.models import KeySyncState, SyncRun

RUNS = reverse("admin:usage_syncrun_changelist")
START = reverse("admin:usage_syncrun_start")
STATES = reverse("admin:usage_keysyncstate_changelist")
INDEX = reverse("admin:index")
QUEUED = "A usage sync was queued; it appears here when a worker starts it."

_serial = itertools.count(1)


@pytest.fixture
def client(db):
    """The web client (the usage conftest's `client` is the Deepgram one)."""
    return Client()


def listed(response) -> list:
    return list(response.context["cl"].result_list)


def run(**fields) -> SyncRun:
    fields.setdefault("trigger", SyncRun.Trigger.BEAT)
    fields.setdefault("status", SyncRun.Status.SUCCEEDED)
    fields.setdefault("started_at", timezone.now() - timedelta(minutes=next(_serial)))
    return SyncRun.objects.create(**fields)


def state(customer, project, *, success_hours_ago=None, **fields) -> KeySyncState:
    """A key and its sync state, its last success `success_hours_ago` hours back."""
    n = next(_serial)
    key = ApiKey.objects.create(
        customer=customer,
        project=project,
        key_id=f"0b0b0b0b-0000-4000-8000-{n:012}",
        comment=f"{customer.name} key {n}",
        scopes=["usage:write"],
        status=fields.pop("key_status", ApiKey.Status.ACTIVE),
    )
    # The key's row exists from its creation (never synced): these are its sync's results.
    sync_state, _ = KeySyncState.objects.update_or_create(api_key=key, defaults=fields)
    if success_hours_ago is not None:
        KeySyncState.objects.filter(pk=sync_state.pk).update(
            last_success_at=timezone.now() - timedelta(hours=success_hours_ago)
        )
    return sync_state


# --- The runs list --------------------------------------------------------------------------


def test_it_lists_a_runs_status_counts_and_errors(client, support_user):
    run(
        status=SyncRun.Status.PARTIAL,
        keys_total=120,
        keys_ok=117,
        keys_failed=3,
        api_calls=131,
        retries=11,
        rows_created=2048,
        rows_changed=9,
        errors_by_kind={"ServerError": 1, "RateLimitedError": 2},
    )
    client.force_login(support_user)

    response = client.get(RUNS)

    assert response.status_code == 200
    row = response.text.split("<tbody>")[1].split("</tbody>")[0]
    assert 'class="field-status">Partial (some keys failed)<' in row
    assert 'class="field-keys_total">120<' in row
    assert 'class="field-keys_ok">117<' in row
    assert 'class="field-keys_failed">3<' in row
    assert 'class="field-api_calls">131<' in row
    assert 'class="field-retries">11<' in row
    assert 'class="field-rows_created">2048<' in row
    assert 'class="field-rows_changed">9<' in row
    assert "Errors by kind" in response.text
    assert 'class="field-errors">RateLimitedError: 2, ServerError: 1<' in row


def test_it_shows_a_dash_for_a_run_without_errors(client, finance_user):
    run(keys_total=4, keys_ok=4)
    client.force_login(finance_user)

    response = client.get(RUNS)

    assert 'class="field-status">Succeeded<' in response.text
    assert 'class="field-errors">-<' in response.text


def test_it_forbids_the_runs_to_other_staff(client, other_staff):
    client.force_login(other_staff)

    assert client.get(RUNS).status_code == 403


# Session, user, the user's and the groups' permissions; the count, the full count, the page.
SYNC_RUN_LIST_QUERIES = 7


@pytest.mark.parametrize("rows", [3, 30])
def test_it_lists_runs_in_a_fixed_number_of_queries(support_user, list_in_queries, rows):
    for n in range(rows):
        run(errors_by_kind={"ServerError": n} if n else {})

    shown = list_in_queries(RUNS, user=support_user, queries=SYNC_RUN_LIST_QUERIES)

    assert len(shown) == rows


# --- "Sync usage now" -----------------------------------------------------------------------


def test_it_shows_support_the_sync_button(client, support_user):
    client.force_login(support_user)

    response = client.get(RUNS)

    assert "Sync usage now" in response.text
    assert f'action="{START}"' in response.text


def test_it_queues_a_sync_on_commit_when_support_asks(
    client, support_user, django_capture_on_commit_callbacks
):
    client.force_login(support_user)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(START)

    assert response.status_code == 302
    assert response["Location"] == RUNS
    assert len(callbacks) == 1
    assert [str(m) for m in get_messages(response.wsgi_request)] == [QUEUED]
    assert QUEUED in client.get(RUNS).text
    assert not SyncRun.objects.exists()  # the worker opens the run, not the button


def test_it_queues_nothing_on_a_get(client, support_user, django_capture_on_commit_callbacks):
    client.force_login(support_user)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.get(START)

    assert response.status_code == 302
    assert response["Location"] == RUNS
    assert callbacks == []


def test_it_hides_the_sync_button_from_finance(client, finance_user):
    client.force_login(finance_user)

    response = client.get(RUNS)

    assert response.status_code == 200
    assert "Sync usage now" not in response.text
    assert START not in response.text


@pytest.mark.parametrize("user", ["finance_user", "other_staff"])
def test_it_refuses_a_sync_to_staff_without_the_permission(
    client, request, user, django_capture_on_commit_callbacks
):
    client.force_login(request.getfixturevalue(user))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(START)

    assert response.status_code == 403
    assert callbacks == []


def test_it_sends_an_anonymous_sync_request_to_the_login_page(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(START)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert callbacks == []


# --- Key sync status ------------------------------------------------------------------------


@pytest.fixture
def states(customer_a, customer_b, default_project):
    now = timezone.now()
    return {
        "fresh": state(customer_a, default_project, success_hours_ago=1),
        "a day and an hour": state(customer_a, default_project, success_hours_ago=25),
        "a week": state(customer_b, default_project, success_hours_ago=24 * 7),
        "never, failing": state(
            customer_b,
            default_project,
            last_error_at=now,
            last_error="Deepgram answered 503",
            last_error_kind="ServerError",
            consecutive_failures=2,
        ),
        "fresh, then failing": state(
            customer_a,
            default_project,
            success_hours_ago=2,
            last_error_at=now,
            last_error_kind="RateLimitedError",
            consecutive_failures=1,
        ),
        "never tried": state(customer_a, default_project),
        "revoked, a week": state(
            customer_b,
            default_project,
            success_hours_ago=24 * 7,
            key_status=ApiKey.Status.REVOKED,
        ),
    }


def keys_listed(client, **query) -> set[str]:
    response = client.get(STATES, query)
    assert response.status_code == 200
    return {state.api_key.key_id for state in listed(response)}


def key_ids(states, *names) -> set[str]:
    return {states[name].api_key.key_id for name in names}


@pytest.mark.parametrize("user", ["support_user", "finance_user"])
def test_it_lists_only_keys_without_a_success_for_a_day_as_stale(client, request, user, states):
    client.force_login(request.getfixturevalue(user))

    assert keys_listed(client, freshness="stale") == key_ids(
        states, "a day and an hour", "a week", "never, failing"
    )


def test_it_lists_keys_whose_last_attempt_failed_as_failing(client, support_user, states):
    client.force_login(support_user)

    assert keys_listed(client, freshness="failing") == key_ids(
        states, "never, failing", "fresh, then failing"
    )


def test_it_lists_every_key_without_the_filter(client, support_user, states):
    client.force_login(support_user)

    assert keys_listed(client) == key_ids(states, *states)


def test_it_counts_a_day_old_success_as_stale_only_after_24_hours(
    client, support_user, customer_a, default_project
):
    with time_machine.travel(datetime(2026, 11, 2, 12, tzinfo=UTC), tick=False):
        exactly = state(customer_a, default_project, success_hours_ago=24)
        just_over = state(customer_a, default_project)
        KeySyncState.objects.filter(pk=just_over.pk).update(
            last_success_at=timezone.now() - timedelta(hours=24, seconds=1)
        )
        client.force_login(support_user)

        assert keys_listed(client, freshness="stale") == {just_over.api_key.key_id}
        assert exactly.api_key.key_id in keys_listed(client)


def test_it_forbids_the_key_sync_status_to_other_staff(client, other_staff):
    client.force_login(other_staff)

    assert client.get(STATES).status_code == 403


# Session, user, permissions (2); the error kinds to filter by, the count, the full count and
# the page (with key and customer).
KEY_SYNC_STATUS_LIST_QUERIES = 8


@pytest.mark.parametrize("rows", [3, 30])
def test_it_lists_key_sync_status_in_a_fixed_number_of_queries(
    support_user, customer_a, default_project, list_in_queries, rows
):
    for n in range(rows):
        state(customer_a, default_project, success_hours_ago=n, last_error_kind=f"Kind{n % 4}")

    shown = list_in_queries(STATES, user=support_user, queries=KEY_SYNC_STATUS_LIST_QUERIES)

    assert len(shown) == rows


# --- The stale-keys banner ------------------------------------------------------------------


def test_it_warns_support_about_stale_keys(client, support_user, states):
    client.force_login(support_user)

    response = client.get(INDEX)

    assert response.status_code == 200
    assert "3 keys have not synced usage for over 24 hours." in response.text
    assert f'href="{STATES}?freshness=stale"' in response.text


def test_it_warns_about_one_stale_key_in_the_singular(
    client, support_user, customer_a, default_project
):
    state(customer_a, default_project, success_hours_ago=30)
    client.force_login(support_user)

    response = client.get(INDEX)

    assert "1 key has not synced usage for over 24 hours." in response.text


def test_it_shows_no_banner_when_every_key_is_fresh(
    client, support_user, customer_a, default_project
):
    state(customer_a, default_project, success_hours_ago=1)
    state(customer_a, default_project)
    client.force_login(support_user)

    response = client.get(INDEX)

    assert response.status_code == 200
    assert "have not synced usage" not in response.text
    assert "has not synced usage" not in response.text


@pytest.mark.parametrize("user", ["finance_user", "other_staff"])
def test_it_shows_the_banner_only_to_staff_who_can_act(client, request, user, states):
    # Finance can look at sync status but cannot start a sync or fix a key.
    client.force_login(request.getfixturevalue(user))

    response = client.get(INDEX)

    assert response.status_code == 200
    assert "not synced usage" not in response.text
    assert "freshness=stale" not in response.text
