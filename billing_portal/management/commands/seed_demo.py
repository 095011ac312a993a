"""Seed demo data for `make run`: staff users in their roles, the default project, customers
with a Deepgram key each, a portal user for the first customer, and one usage sync.

In sandbox mode each customer also gets an older key "made in the console" 90 days ago and
imported, so that the demo has usage history to show.

Idempotent: a second run creates nothing new and changes nothing that exists. Demo invoices
are issued on the first run only (a later run, even a month on, issues no document), and by
the system, never under a person's name. With DEBUG on the demo users get fixed, printed
passwords (set again only when they no longer match, so a re-run logs nobody out); with DEBUG
off they get random passwords that are never printed (use password reset). Key secrets are never
printed. In sandbox mode, when no sandbox answers yet (`make run` seeds before it starts
its processes), a temporary one is started on the configured port with the same state file.
"""

import contextlib
import secrets
import socket
import uuid
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from billing_portal.deepgram.sandbox import ControlClient, SandboxServer
from customers.exceptions import CustomersError
from customers.models import ApiKey, Customer, CustomerUser
from customers.services import (
    api_key_import,
    api_key_provision,
    customer_ensure,
    project_ensure_default,
)
from invoices.documents import invoice_store_pdf
from invoices.exceptions import InvoicesError
from invoices.models import BillingTerms, CustomerPlan, ExchangeRate, Invoice, PricePlan
from invoices.services import (
    invoice_approve,
    invoice_generate_drafts,
    invoice_mark_paid,
    previous_month,
)
from invoices.services.payments import payment_record
from usage.models import SyncRun
from usage.services import usage_sync_run, utc_today

HISTORY_DAYS = 90
# Units of each demo currency per USD: demo figures, not the ECB's.
DEMO_RATES = {"EUR": "0.92", "GBP": "0.79"}
DEMO_RATE_SOURCE = "seed_demo (a demo rate, not the ECB's)"

DEMO_STAFF = [
    # username, group (None: superuser), demo password
    ("support", "Support", "demo-support-pass"),
    ("finance", "Finance", "demo-finance-pass"),
    ("admin", None, "demo-admin-pass"),
]
DEMO_PORTAL_USER = ("portal@acme.example", "demo-portal-pass")

# The rate card of the demo's voice agent customer: (entry, endpoint, method, model, unit, price).
DEMO_CARD = [
    ("Nova-3, streaming", "listen", "streaming", "nova-3*", "audio_minutes", "0.0077"),
    ("Speech to text", "listen", "*", "*", "audio_minutes", "0.0050"),
    ("Aura text to speech", "speak", "*", "aura*", "characters_1k", "0.030"),
    ("Voice agent", "agent", "*", "*", "agent_hours", "4.50"),
    ("Audio intelligence", "read", "*", "*", "tokens_1m", "1.50"),
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
            customers = [customer_ensure(**spec) for spec in DEMO_CUSTOMERS]
            users.append(self._portal_user(customers[0][0]))
        created = sum(new for _, new in customers)
        self.stdout.write(f"Default Deepgram project: {project.project_id}")
        self.stdout.write(f"Demo customers: {len(DEMO_CUSTOMERS)} ({created} new)")
        with self._deepgram():
            demo_customers = [customer for customer, _ in customers]
            keys = 0
            # Against the real Deepgram, demo customers get no keys: they would be live keys
            # whose secrets nobody holds.
            if settings.DEEPGRAM_SANDBOX:
                keys = self._demo_keys(demo_customers, project)
                self._history_keys(demo_customers, project)
            run = usage_sync_run(
                trigger=SyncRun.Trigger.COMMAND,
                key_ids=list(ApiKey.objects.values_list("pk", flat=True)),
                concurrency=4,
            )
        self.stdout.write(f"Demo keys provisioned: {keys}")
        plans = self._plans([customer for customer, _ in customers])
        drafts = invoice_generate_drafts(period=previous_month())
        self.stdout.write(
            f"Price plans: {plans}; drafts for {drafts.period:%B %Y}: "
            f"{len(drafts.created)} new, {len(drafts.refreshed)} refreshed, "
            f"{len(drafts.unchanged)} unchanged, {drafts.skipped_issued} already issued"
        )
        if Invoice.objects.filter(customer__in=demo_customers).exclude(number=None).exists():
            self.stdout.write("Invoices issued for the portal demo: 0 (issued on the first run)")
        else:
            issued = self._issue_some(demo_customers)
            self.stdout.write(
                f"Invoices issued for the portal demo: {issued} (PDFs stored; "
                f"{demo_customers[-1]}'s draft is left for finance to approve)"
            )
        if run is not None:
            self.stdout.write(
                f"Usage synced: {run.keys_ok} keys, {run.rows_created} new daily rows"
                + (f", {run.keys_failed} keys failed" if run.keys_failed else "")
            )
        for username, password in users:
            if password:
                self.stdout.write(f"  {username:<19} password: {password}")
        if not settings.DEBUG:
            self.stdout.write("DEBUG is off: demo passwords are not printed; use password reset.")

    def _issue_some(self, customers: list[Customer]) -> int:
        """Issue last month's drafts of all but the last demo customer, and the month before
        for the first one (then marked paid; the second's last month half paid), so the portal
        has PDFs to download and the admin still has a draft to approve. By the system (no
        actor): nobody approved demo data."""
        last_month = previous_month()
        month_before = previous_month(last_month)
        invoice_generate_drafts(period=month_before, customers=customers[:1])
        wanted = [(customers[0], month_before), *((c, last_month) for c in customers[:-1])]
        issued = 0
        for customer, period in wanted:
            draft = Invoice.objects.filter(
                customer=customer, period=period, status=Invoice.Status.DRAFT
            ).first()
            if draft is None:
                continue
            try:
                invoice = invoice_approve(invoice=draft, actor=None)
            except InvoicesError as exc:
                self.stderr.write(f"Could not issue the demo draft of {customer}: {exc}")
                continue
            invoice_store_pdf(invoice=invoice)
            if period == month_before:
                invoice_mark_paid(
                    invoice=invoice, actor=None, paid_on=utc_today(), reference="DEMO-PAID"
                )
            elif customer == customers[1] and invoice.total > 1:  # a partly paid invoice
                payment_record(
                    invoice=invoice,
                    actor=None,
                    amount=(invoice.total / 2).quantize(Decimal("0.01")),
                    received_on=utc_today(),
                    reference="DEMO-PART",
                )
            issued += 1
        return issued

    def _staff_user(self, username: str, group: str | None, demo_password: str):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "email": f"{username}@demo.example",
                "is_staff": True,
                "is_superuser": group is None,
            },
        )
        password = None
        if settings.DEBUG:
            password = demo_password
        elif created:
            password = secrets.token_urlsafe(18)
        # A new hash would end the user's sessions: set it only when it no longer matches.
        if password and not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        if group:
            user.groups.add(Group.objects.get(name=group))
        return username, password if settings.DEBUG else None

    def _portal_user(self, customer: Customer):
        email, demo_password = DEMO_PORTAL_USER
        User = get_user_model()
        user, created = User.objects.get_or_create(username=email, defaults={"email": email})
        CustomerUser.objects.get_or_create(user=user, defaults={"customer": customer})
        if settings.DEBUG:
            if not user.check_password(demo_password):
                user.set_password(demo_password)
                user.save(update_fields=["password"])
            return email, demo_password
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        return email, None

    def _demo_keys(self, customers: list[Customer], project) -> int:
        support = get_user_model().objects.get(username="support")
        made = 0
        for customer in customers:
            if customer.api_keys.filter(status=ApiKey.Status.ACTIVE).exists():
                continue
            try:
                api_key_provision(
                    customer=customer,
                    project=project,
                    comment=customer.name,
                    scopes=["usage:write"],
                    tags=[f"customer:{customer.public_id.hex[:8]}"],
                    actor=support,
                    token=uuid.uuid4(),
                )
            except CustomersError as exc:
                self.stderr.write(f"No demo key for {customer}: {exc}")
            else:
                made += 1
        return made

    def _plans(self, customers: list[Customer]) -> int:
        """A plan and billing terms per demo customer, one in each pricing mode (idempotent):
        Acme hourly (GBP), Globex by a rate card with text to speech and a voice agent (USD),
        Initech at Deepgram's cost plus 25 % (EUR, at demo exchange rates)."""
        specs = {  # currency: plan name, fields, tax rate, reverse charge
            "GBP": (
                "Standard GBP",
                {
                    "rate_per_hour": "0.258",
                    "rate_streaming": "0.462",
                    "included_hours": "10",
                    "platform_fee": "49.00",
                    "monthly_minimum": "25.00",
                },
                "20.00",
                False,
            ),
            "USD": (
                "Voice agent card USD",
                {"mode": PricePlan.Mode.RATE_CARD, "included_hours": "5", "platform_fee": "49.00"},
                "0.00",
                False,
            ),
            "EUR": (
                "Cost plus EUR",
                {"mode": PricePlan.Mode.COST_PLUS, "markup_percent": "25", "platform_fee": "99.00",
                 "minimum_per_minute": "0.004"},
                "19.00",
                True,
            ),
        }  # fmt: skip
        for customer in customers:
            name, details, tax, reverse = specs[customer.currency]
            plan, created = PricePlan.objects.get_or_create(
                name=name, defaults={"currency": customer.currency, **details}
            )
            if created and plan.mode == PricePlan.Mode.RATE_CARD:
                for position, (entry, endpoint, method, model, unit, price) in enumerate(DEMO_CARD):
                    plan.card_entries.create(
                        position=position, name=entry, endpoint=endpoint, method=method,
                        model=model, unit=unit, unit_price=price,
                    )  # fmt: skip
            # From the start of the year of the oldest month the demo bills; once only, so a
            # re-run in a new year assigns nothing new.
            if not CustomerPlan.objects.filter(customer=customer).exists():
                since = previous_month(previous_month()).replace(month=1)
                CustomerPlan.objects.create(customer=customer, effective_from=since, plan=plan)
            BillingTerms.objects.get_or_create(
                customer=customer, defaults={"tax_rate": tax, "reverse_charge": reverse}
            )
        self._demo_rates()
        return PricePlan.objects.count()

    def _demo_rates(self) -> None:
        """Demo rates of the demo plans' currencies (euros for Initech's invoice, pounds for
        Acme's margin) for the demo's months (the ECB's file is for real ones: import_fx_rates),
        on each month's last day and today; once a currency (a later month uses the last)."""
        today = utc_today()
        day, days = today, {today}
        for _ in range(4):
            day = day.replace(day=1) - timedelta(days=1)
            days.add(day)
        for currency, per_usd in DEMO_RATES.items():
            if ExchangeRate.objects.filter(currency=currency).exists():
                continue
            for day in days:
                ExchangeRate.objects.get_or_create(
                    currency=currency,
                    day=day,
                    defaults={"per_usd": per_usd, "source": DEMO_RATE_SOURCE},
                )

    def _history_keys(self, customers: list[Customer], project) -> None:
        """Sandbox only: an older console-made key per customer, imported without a secret."""
        support = get_user_model().objects.get(username="support")
        created = utc_today() - timedelta(days=HISTORY_DAYS)
        for customer in customers:
            key_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo-history/{customer.name}"))
            if ApiKey.objects.filter(key_id=key_id).exists():
                continue
            ControlClient(settings.DEEPGRAM_API_URL).add_key(
                f"{customer.name} (console)",
                api_key_id=key_id,
                project_id=project.project_id,
                created=datetime.combine(created, time(), tzinfo=UTC),
                scopes=["usage:write"],
            )
            api_key_import(project=project, key_id=key_id, customer=customer, actor=support)
            if customer.currency == "USD":  # the rate card's customer: a voice agent app
                self._voice_agent_usage(key_id, created)

    def _voice_agent_usage(self, key_id: str, since) -> None:
        """Text to speech and voice agent sessions every third day (the sandbox's own mix
        may give a key neither)."""
        control = ControlClient(settings.DEEPGRAM_API_URL)
        for offset in range(0, HISTORY_DAYS, 3):
            day = (since + timedelta(days=offset)).isoformat()
            control.set_usage(
                key_id, day, endpoint="speak", method="sync", model="aura-2", requests=40,
                hours=0, tts_characters=180_000 + offset * 1_000,
            )  # fmt: skip
            control.set_usage(
                key_id, day, endpoint="agent", model="voice-agent", requests=12, hours=0,
                agent_hours=str(2 + offset % 5),
            )  # fmt: skip

    @contextlib.contextmanager
    def _deepgram(self):
        """Make sure something answers at DEEPGRAM_API_URL in sandbox mode."""
        url = urlsplit(settings.DEEPGRAM_API_URL)
        if not settings.DEEPGRAM_SANDBOX or _answers(url.hostname, url.port or 80):
            yield
            return
        server = SandboxServer(
            host=url.hostname,
            port=url.port or 80,
            token=settings.SANDBOX_API_KEY,
            project_id=settings.SANDBOX_PROJECT_ID,
            state_file=settings.DEEPGRAM_SANDBOX_STATE,
        ).start()
        try:
            yield
        finally:
            server.stop()


def _answers(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False
