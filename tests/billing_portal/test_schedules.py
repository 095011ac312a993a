import pytest
from django.apps import apps
from django_celery_beat.models import PeriodicTask

from billing_portal.celery import app
from billing_portal.schedules import SCHEDULES, ensure_schedules


@pytest.mark.django_db
def test_it_installs_every_schedule_once():
    assert set(PeriodicTask.objects.values_list("name", flat=True)) >= set(SCHEDULES)

    ensure_schedules(apps)

    assert PeriodicTask.objects.filter(name__in=SCHEDULES).count() == len(SCHEDULES)


@pytest.mark.django_db
def test_it_keeps_an_operators_change():
    name = next(iter(SCHEDULES))
    PeriodicTask.objects.filter(name=name).update(enabled=False)

    ensure_schedules(apps)

    assert PeriodicTask.objects.get(name=name).enabled is False


def test_it_schedules_only_registered_tasks():
    app.loader.import_default_modules()
    assert {spec["task"] for spec in SCHEDULES.values()} <= set(app.tasks)
