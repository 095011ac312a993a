"""Helpers of the line-item billing tests: a month of two customers synced from the sandbox
(the `line_item_month` fixture, in conftest), plans in each mode, the sandbox's own truth."""

import io
from datetime import UTC, date, datetime
from decimal import Decimal as D

import time_machine
from pypdf import PdfReader

from billing_portal.deepgram import client_from_settings
from customers.services import api_key_import
from invoices.cost_plus import CostUsage
from invoices.models import BillingTerms, CustomerPlan, Invoice, PricePlan, RateCardEntry
from invoices.pdf import render_invoice_pdf
from invoices.rate_cards import LineUsage
from usage.services import usage_sync_key

OCTOBER = date(2026, 10, 1)
NOVEMBER = date(2026, 11, 1)
CARD = [
    ("Nova-3, streaming", "listen", "streaming", "nova-3*", "audio_minutes", "0.006"),
    ("Speech to text", "listen", "*", "*", "audio_minutes", "0.010"),
    ("Aura text to speech", "speak", "*", "aura*", "characters_1k", "0.030"),
    ("Voice agent", "agent", "*", "*", "agent_hours", "4.50"),
    ("Audio intelligence", "read", "*", "*", "tokens_1m", "2.00"),
]


def at(moment: str):
    return time_machine.travel(moment, tick=False)


def sync_month(sandbox, default_project, make_customer, support_user):
    """Two customers with a key each, October synced from the sandbox; each key also used
    text to speech and the voice agent on 5 October."""
    keys = {}
    for n, name in enumerate(("Cardco", "Costco")):
        key_id = f"ca{n}0ca00-0000-4000-8000-0000000000{n}a"
        created = datetime(2026, 10, 1, tzinfo=UTC)
        sandbox.add_key(name, api_key_id=key_id, created=created, scopes=("usage:write",))
        sandbox.set_usage(
            key_id,
            "2026-10-05",
            endpoint="speak",
            method="sync",
            model="aura-2",
            requests=4,
            hours=0,
            tts_characters=123_456,
        )
        sandbox.set_usage(
            key_id,
            "2026-10-05",
            endpoint="agent",
            model="voice-agent",
            requests=2,
            hours=0,
            agent_hours="1.5",
        )
        customer = make_customer(name)
        BillingTerms.objects.create(customer=customer, tax_rate=D(0), payment_terms_days=30)
        keys[name] = api_key_import(
            project=default_project, key_id=key_id, customer=customer, actor=support_user
        )
    with at("2026-11-01 03:00Z"):
        for key in keys.values():
            assert usage_sync_key(api_key=key, client=client_from_settings(), today=NOVEMBER).ok
    return keys


def rate_card_plan(name="Card", skip=()) -> PricePlan:
    plan = PricePlan.objects.create(name=name, currency="USD", mode=PricePlan.Mode.RATE_CARD)
    for position, (entry, endpoint, method, model, unit, price) in enumerate(CARD):
        if entry not in skip:
            RateCardEntry.objects.create(
                plan=plan, position=position, name=entry, endpoint=endpoint, method=method,
                model=model, unit=unit, unit_price=D(price),
            )  # fmt: skip
    return plan


def assign(key, plan):
    CustomerPlan.objects.create(customer=key.customer, plan=plan, effective_from=OCTOBER)


def truth_usage(key) -> list[LineUsage]:
    """The month as the sandbox answers it (not as stored), per (endpoint, method, model)."""
    answer = client_from_settings().usage_breakdown(
        key.project.project_id,
        start=OCTOBER,
        end=date(2026, 10, 31),
        grouping=("endpoint", "method", "models"),
        accessor=key.key_id,
    )
    sums: dict[tuple, list] = {}
    for row in answer.results:
        g = row.grouping
        dims = (g.endpoint, g.method, "+".join(g.models or ()))
        units = sums.setdefault(dims, [D(0), D(0), D(0), 0, 0, 0])
        for n, value in enumerate(
            (
                row.hours,
                row.total_hours,
                row.agent_hours,
                row.tts_characters,
                row.tokens_in,
                row.tokens_out,
            )
        ):
            units[n] += value
    return [LineUsage(key.pk, key.key_id, *dims, *units) for dims, units in sorted(sums.items())]


def truth_costs(key) -> list[CostUsage]:
    answer = client_from_settings().billing_breakdown(
        key.project.project_id,
        start=OCTOBER,
        end=date(2026, 10, 31),
        grouping=("line_item",),
        accessor=key.key_id,
    )
    dollars: dict[str, D] = {}
    for row in answer.results:
        dollars[row.grouping.line_item] = dollars.get(row.grouping.line_item, D(0)) + row.dollars
    return [CostUsage(key.pk, key.key_id, item, item, d) for item, d in sorted(dollars.items())]


def pdf_text(invoice) -> str:
    pages = PdfReader(io.BytesIO(render_invoice_pdf(invoice))).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def draft_of(key) -> Invoice:
    return Invoice.objects.get(customer=key.customer, period=OCTOBER)


def cost_plus_plan(currency="EUR", markup="20") -> PricePlan:
    return PricePlan.objects.create(
        name=f"Cost plus {currency}",
        currency=currency,
        mode=PricePlan.Mode.COST_PLUS,
        markup_percent=D(markup),
    )


def late_agent_hours(sandbox, key) -> None:
    """Deepgram corrects the agent hours of 30 October (11.5 h) after October was billed, and
    the sync of 2 November reads it (inside the settlement window)."""
    sandbox.set_usage(
        key.key_id, "2026-10-30", endpoint="agent", model="voice-agent", requests=5, hours=0,
        agent_hours="11.5",
    )  # fmt: skip
    with at("2026-11-02 03:00Z"):
        assert usage_sync_key(
            api_key=key, client=client_from_settings(), today=date(2026, 11, 2)
        ).ok
