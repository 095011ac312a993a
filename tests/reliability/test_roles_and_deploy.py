"""Reliability matrix, roles and deployment: `check --deploy` with the production settings the
README documents prints no warning (and names what is missing when one is left out), and
Support, whose work is customers, keys and portal users, reaches no invoices page, PDF or
export, while Finance reaches them all."""

import os
import secrets
import subprocess
import sys
from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from invoices.models import Invoice, PricePlan
from invoices.services import invoice_approve, invoice_generate_drafts
from tests.subprocess_django import ROOT, run_django

# README, "Configuration" and "Running on PostgreSQL and Redis": what production sets.
DOCUMENTED_PRODUCTION = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "billing.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://billing.example.com",
    "DJANGO_SECURE_HSTS_PRELOAD": "on",
    "DEEPGRAM_API_KEY": "a-management-key",
    "DEEPGRAM_PROJECT_ID": "a-project",
}


def check_deploy(**env: str) -> subprocess.CompletedProcess:
    code = (
        "import sys\nfrom django.core.management import call_command\n"
        "call_command('check', deploy=True, fail_level='WARNING', stdout=sys.stdout)"
    )
    return run_django(code, **env)


def test_check_deploy_prints_no_warning_with_the_documented_production_settings():
    result = check_deploy(**DOCUMENTED_PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("env", "warning"),
    [
        ({"DJANGO_SECURE_HSTS_PRELOAD": "off"}, "security.W021"),
        ({"DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "off"}, "security.W005"),
        ({"DJANGO_SECURE_HSTS_SECONDS": "0"}, "security.W004"),
    ],
)
def test_check_deploy_names_the_hsts_setting_left_out(env, warning):
    result = check_deploy(**{**DOCUMENTED_PRODUCTION, **env})

    assert result.returncode != 0
    assert warning in result.stderr


def test_the_real_command_line_agrees():
    prefixes = ("DJANGO_", "DEEPGRAM_", "DATABASE_URL", "REDIS_URL", "CELERY_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(DOCUMENTED_PRODUCTION)

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stdout + result.stderr


# --- Support and the invoices app -----------------------------------------------------------


@pytest.fixture
def documents(customer_a, with_october_usage, finance_user):
    """Acme's October: an issued invoice (with its PDF reachable), and a draft for November."""
    plan = PricePlan.objects.create(
        name="Standard", currency="USD", rate_per_hour=D("0.258000"), platform_fee=D("10")
    )
    with_october_usage(customer_a, plan)
    with time_machine.travel("2026-11-05 09:00Z", tick=False):
        invoice_generate_drafts(period=date(2026, 10, 1))
        issued = invoice_approve(invoice=Invoice.objects.get(), actor=finance_user)
        invoice_generate_drafts(period=date(2026, 11, 1))
    draft = Invoice.objects.get(status=Invoice.Status.DRAFT)
    return {"issued": issued, "draft": draft, "plan": plan}


READS = {
    "invoice list": ("admin:invoices_invoice_changelist", None, {}),
    "invoice page": ("admin:invoices_invoice_change", "issued", {}),
    "stored PDF": ("admin:invoices_invoice_pdf", "issued", {}),
    "draft preview": ("admin:invoices_invoice_preview", "draft", {}),
    "export": ("admin:invoices_invoice_export", None, {"period": "2026-10"}),
    "audit": ("admin:invoices_invoiceevent_changelist", None, {}),
    "price plans": ("admin:invoices_priceplan_changelist", None, {}),
    "price plan": ("admin:invoices_priceplan_change", "plan", {}),
    "customer plans": ("admin:invoices_customerplan_changelist", None, {}),
}


@pytest.mark.parametrize("page", READS)
@pytest.mark.parametrize(("role", "status"), [("support_user", 403), ("finance_user", 200)])
def test_only_finance_reads_invoices(client, request, documents, stored_state, page, role, status):
    name, what, query = READS[page]
    client.force_login(request.getfixturevalue(role))
    before = stored_state()

    response = client.get(reverse(name, args=[documents[what].pk] if what else []), query)

    assert response.status_code == status
    if role == "support_user":
        assert b"Acme" not in response.content
        assert stored_state() == before  # nor rendered and stored a PDF on the way
