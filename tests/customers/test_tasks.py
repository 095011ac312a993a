from datetime import timedelta

from django.utils import timezone

from customers.models import ApiKey
from customers.services import api_key_schedule_revoke
from customers.tasks import api_keys_mark_expired, api_keys_revoke_due


def test_it_revokes_due_keys_through_the_task(provision, sandbox, customer_a, support_user):
    key = provision(customer_a).api_key
    api_key_schedule_revoke(
        api_key=key, when=timezone.now() - timedelta(minutes=1), actor=support_user
    )

    assert api_keys_revoke_due.apply().get() == {"revoked": 1, "failed": 0}
    assert api_keys_revoke_due.apply().get() == {"revoked": 0, "failed": 0}
    assert key.key_id not in sandbox.key_ids()


def test_it_marks_expired_keys_through_the_task(provision, customer_a):
    key = provision(customer_a).api_key
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(days=1))

    assert api_keys_mark_expired.apply().get() == {"expired": 1}
