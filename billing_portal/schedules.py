"""Every periodic task, defined once. A migration writes them into django-celery-beat's tables
when missing, so operators can change them in the admin and keep their changes."""

SCHEDULES = {
    "Sync Deepgram usage": {
        "task": "usage.tasks.sync_run_start",
        "every_minutes": 60,
    },
    "Revoke keys whose scheduled revocation is due": {
        "task": "customers.tasks.api_keys_revoke_due",
        "every_minutes": 5,
    },
    "Generate last month's invoice drafts": {
        "task": "invoices.tasks.invoice_generate_drafts",
        "crontab": {"minute": "30", "hour": "2", "day_of_month": "1"},
    },
    "Deliver issued invoices whose PDF or e-mail is pending": {
        "task": "invoices.tasks.deliver_pending_documents",
        "every_minutes": 15,
    },
    "Mark expired keys": {
        "task": "customers.tasks.api_keys_mark_expired",
        "crontab": {"minute": "15", "hour": "0"},
    },
    # Daily, not hourly: a stale key stays stale for hours, one mail a day is enough.
    "Report keys whose usage sync is stale": {
        "task": "usage.tasks.sync_report_stale_keys",
        "crontab": {"minute": "0", "hour": "7"},
    },
    # Daily; whether and how often each invoice is reminded is finance's (Finance settings).
    "E-mail overdue reminders": {
        "task": "invoices.tasks.invoice_send_overdue_reminders",
        "crontab": {"minute": "0", "hour": "8"},
    },
}


def ensure_schedules(apps) -> None:
    """Create the periodic tasks that do not exist yet (by name); never change existing ones."""
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    for name, spec in SCHEDULES.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        if "every_minutes" in spec:
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=spec["every_minutes"], period="minutes"
            )
            PeriodicTask.objects.create(name=name, task=spec["task"], interval=interval)
        else:
            crontab, _ = CrontabSchedule.objects.get_or_create(timezone="UTC", **spec["crontab"])
            PeriodicTask.objects.create(name=name, task=spec["task"], crontab=crontab)
