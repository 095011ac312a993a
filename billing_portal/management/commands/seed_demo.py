"""Seed demo data for `make run`: staff users in their roles, the default project, customers.

Idempotent: a second run creates nothing new. With DEBUG on the demo users get fixed,
printed passwords (reset on every run so the printed ones always work); with DEBUG off they
get random passwords that are never printed (use password reset).
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from customers.services import customer_ensure, project_ensure_default

DEMO_STAFF = [
    # username, group (None: superuser), demo password
    ("support", "Support", "demo-support-pass"),
    ("finance", "Finance", "demo-finance-pass"),
    ("admin", None, "demo-admin-pass"),
]

DEMO_CUSTOMERS = [
    {
        "name": "Acme Voice Ltd",
        "billing_email": "billing@acme.example",
        "currency": "GBP",
        "country": "GB",
        "legal_name": "Acme Voice Limited",
        "address": "12 Harbour Road\nBristol BS1 4AA\nUnited Kingdom",
        "tax_id": "GB123456789",
    },
    {
        "name": "Globex Transcripts",
        "billing_email": "ap@globex.example",
        "currency": "USD",
        "country": "US",
        "legal_name": "Globex Transcripts Inc.",
        "address": "500 Market Street\nSan Francisco, CA 94105\nUnited States",
    },
    {
        "name": "Initech Calls",
        "billing_email": "finance@initech.example",
        "currency": "EUR",
        "country": "DE",
        "legal_name": "Initech Calls GmbH",
        "address": "Friedrichstrasse 10\n10117 Berlin\nGermany",
        "tax_id": "DE987654321",
    },
]


class Command(BaseCommand):
    help = "Create demo users, the default Deepgram project and demo customers (idempotent)."

    def handle(self, *args, **options):
        with transaction.atomic():
            users = [self._staff_user(*spec) for spec in DEMO_STAFF]
            project = project_ensure_default(project_id=settings.DEEPGRAM_PROJECT_ID)
            created = sum(customer_ensure(**spec)[1] for spec in DEMO_CUSTOMERS)
        self.stdout.write(f"Default Deepgram project: {project.project_id}")
        self.stdout.write(f"Demo customers: {len(DEMO_CUSTOMERS)} ({created} new)")
        for username, password in users:
            if password:
                self.stdout.write(f"  {username:<8} password: {password}")
        if not settings.DEBUG:
            self.stdout.write("DEBUG is off: demo passwords are not printed; use password reset.")

    def _staff_user(self, username: str, group: str | None, demo_password: str):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@demo.example", "is_staff": True}
        )
        password = None
        if settings.DEBUG:
            password = demo_password
        elif created:
            password = secrets.token_urlsafe(18)
        if password:
            user.set_password(password)
        user.is_staff = True
        user.is_superuser = group is None
        user.save()
        if group:
            user.groups.add(Group.objects.get(name=group))
        return username, password if settings.DEBUG else None
