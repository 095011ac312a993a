import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from usage.models import SyncRun
from usage.services import sync_run_accept_cut

REASON = "Deepgram's answers would zero ... the usage of 4 of the 5 keys of project p"


@pytest.fixture
def client(db):
    """Django's test client (the usage conftest's `client` is the Deepgram one)."""
    return Client()


def held_run(**fields):
    return SyncRun.objects.create(
        trigger=SyncRun.Trigger.BEAT,
        status=SyncRun.Status.FAILED,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        held_reason=REASON,
        **fields,
    )


def test_the_index_warns_support_of_a_held_run(support):
    run = held_run()

    page = support.get(reverse("admin:index")).content.decode()

    assert "was stopped before it wrote" in page
    assert reverse("admin:usage_syncrun_change", args=[run.pk]) in page


def test_the_warning_goes_once_a_later_run_closed(support):
    held_run()
    SyncRun.objects.create(
        trigger=SyncRun.Trigger.BEAT,
        status=SyncRun.Status.SUCCEEDED,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )

    assert "was stopped before it wrote" not in support.get(reverse("admin:index")).content.decode()


def test_finance_neither_sees_the_warning_nor_may_accept(finance):
    run = held_run()

    assert "was stopped before it wrote" not in finance.get(reverse("admin:index")).content.decode()
    response = finance.post(
        reverse("admin:usage_syncrun_changelist"),
        {"action": "accept_cut", "_selected_action": [run.pk]},
    )

    assert response.status_code == 403
    run.refresh_from_db()
    assert run.accepted_at is None


def test_a_run_is_accepted_once_and_only_when_held(support_user):
    run = held_run()
    ordinary = SyncRun.objects.create(
        trigger=SyncRun.Trigger.BEAT, status=SyncRun.Status.FAILED, started_at=timezone.now()
    )

    assert sync_run_accept_cut(run_id=run.pk, user=support_user)
    assert not sync_run_accept_cut(run_id=run.pk, user=support_user)
    assert not sync_run_accept_cut(run_id=ordinary.pk, user=support_user)
