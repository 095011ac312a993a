"""A new key appears in key sync status at once, never synced (`usage.receivers`), however it
was made; the sync then uses that row and makes no second one."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from customers.models import ApiKey
from customers.services import api_key_provision, api_key_rotate
from usage.models import KeySyncState
from usage.selectors import stale_key_states
from usage.services import usage_sync_key

STATES = reverse("admin:usage_keysyncstate_changelist")


@pytest.fixture
def web(db):
    """The web client (the usage conftest's `client` is the Deepgram one)."""
    return Client()


def provisioned(customer, project, actor) -> ApiKey:
    return api_key_provision(
        customer=customer,
        project=project,
        comment=customer.name,
        scopes=["usage:write"],
        tags=[],
        actor=actor,
        token=uuid.uuid4(),
    ).api_key


def assert_never_synced(key: ApiKey) -> KeySyncState:
    [state] = KeySyncState.objects.filter(api_key=key)
    assert (state.synced_through, state.last_success_at, state.last_error_at) == (None,) * 3
    assert (state.consecutive_failures, state.settled) == (0, False)
    return state


def test_a_provisioned_key_has_a_never_synced_row(
    sandbox, customer_a, default_project, support_user
):
    assert_never_synced(provisioned(customer_a, default_project, support_user))


def test_an_imported_key_has_a_never_synced_row(make_key, customer_a):
    assert_never_synced(make_key(customer_a))


def test_a_rotated_keys_replacement_has_a_never_synced_row(
    sandbox, customer_a, default_project, support_user
):
    old = provisioned(customer_a, default_project, support_user)

    new, _ = api_key_rotate(api_key=old, actor=support_user, token=uuid.uuid4())

    assert_never_synced(new.api_key)
    assert KeySyncState.objects.count() == 2


def test_saving_a_key_again_makes_no_second_row(customer_a, key_of):
    key = key_of(customer_a)
    key.comment = "Renamed"
    key.save()

    assert KeySyncState.objects.filter(api_key=key).count() == 1


def test_the_key_sync_status_list_shows_a_new_key(web, support_user, customer_a, key_of):
    key = key_of(customer_a, "acme-brand-new")
    web.force_login(support_user)

    response = web.get(STATES)

    assert [state.api_key for state in response.context["cl"].result_list] == [key]
    assert "acme-brand-new" in response.text
    for column in ("synced_through", "last_success_at", "last_error_at"):
        assert f'<td class="field-{column} nowrap">never</td>' in response.text


def test_a_never_synced_key_is_not_stale(customer_a, key_of):
    key_of(customer_a)

    assert not stale_key_states().exists()


def test_the_first_sync_fills_the_keys_row_and_makes_no_other(client, make_key, customer_a):
    key = make_key(customer_a, created=datetime(2026, 10, 1, tzinfo=UTC))
    row = assert_never_synced(key)

    with time_machine.travel("2026-10-10 03:00Z", tick=False):
        result = usage_sync_key(
            api_key=ApiKey.objects.select_related("project").get(pk=key.pk),
            client=client,
            today=date(2026, 10, 10),
        )

    assert result.ok
    [state] = KeySyncState.objects.filter(api_key=key)
    assert state.pk == row.pk
    assert state.synced_through == date(2026, 10, 10)
    assert state.last_success_at == datetime(2026, 10, 10, 3, tzinfo=UTC)


def test_a_sync_that_finds_no_row_still_makes_one(client, make_key, customer_a):
    """Keys made before this receiver (or in bulk) have no row: the sync makes it, as ever."""
    key = make_key(customer_a, created=datetime(2026, 10, 1, tzinfo=UTC))
    KeySyncState.objects.filter(api_key=key).delete()

    with time_machine.travel("2026-10-03 03:00Z", tick=False):
        fresh = ApiKey.objects.select_related("project").get(pk=key.pk)
        assert usage_sync_key(api_key=fresh, client=client, today=date(2026, 10, 3)).ok

    assert KeySyncState.objects.get(api_key=key).synced_through == date(2026, 10, 3)


def test_a_key_made_long_ago_still_reads_from_its_creation_day(client, make_key, customer_a):
    created = datetime(2026, 9, 1, tzinfo=UTC)
    key = make_key(customer_a, created=created)

    with time_machine.travel("2026-09-04 03:00Z", tick=False):
        fresh = ApiKey.objects.select_related("project", "sync_state").get(pk=key.pk)
        result = usage_sync_key(api_key=fresh, client=client, today=date(2026, 9, 4))

    assert result.window == (created.date(), created.date() + timedelta(days=3))
