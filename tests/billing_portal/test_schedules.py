import importlib

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


@pytest.mark.django_db
def test_every_stored_schedule_names_a_registered_task():
    app.loader.import_default_modules()
    stored = set(PeriodicTask.objects.values_list("task", flat=True)) - {""}

    assert stored and stored <= set(app.tasks)


RENAMES = importlib.import_module("billing_portal.migrations.0005_task_names")


@pytest.mark.django_db
def test_the_migration_moves_stored_schedules_of_renamed_tasks_to_their_new_names():
    operators_own = PeriodicTask.objects.create(
        name="Nightly drafts, operator's own",
        task="invoices.tasks.generate_previous_month",
        interval=PeriodicTask.objects.get(name="Sync Deepgram usage").interval,
    )
    PeriodicTask.objects.filter(name="Sync Deepgram usage").update(
        task="usage.tasks.sync_all_usage"
    )

    RENAMES.rename(apps, None)

    operators_own.refresh_from_db()
    assert operators_own.task == "invoices.tasks.invoice_generate_drafts"
    assert PeriodicTask.objects.get(name="Sync Deepgram usage").task == (
        "usage.tasks.sync_run_start"
    )


def code_of(task):
    return getattr(task.run, "__func__", task.run).__code__


def test_a_renamed_task_still_runs_under_its_former_name():
    app.loader.import_default_modules()

    for old, new in RENAMES.RENAMED.items():
        assert code_of(app.tasks[old]) is code_of(app.tasks[new]), old
        assert app.tasks[old].name == old and app.tasks[new].name == new


@pytest.mark.django_db
def test_a_message_queued_under_a_former_name_runs_the_service():
    app.loader.import_default_modules()

    assert app.tasks["customers.tasks.mark_expired_keys"].apply().get() == {"expired": 0}
