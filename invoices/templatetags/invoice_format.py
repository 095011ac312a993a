"""How invoices print numbers: amounts to the currency's minor unit with thousands separators,
hours with the 6 decimals they are billed at, unit prices as precise as they are stored."""

import functools
from decimal import ROUND_HALF_UP, Decimal

import pycountry
from django import template

from invoices.models import InvoiceLine
from invoices.money import CENT, at_least_cents, minor_unit, quantize_money
from invoices.rate_cards import UNITS as RATE_UNITS

register = template.Library()


def _blank_stays_blank(format_value):
    """A number filter that shows nothing for a missing value (None, or "" in a template)."""

    @functools.wraps(format_value)
    def formatted(value, *args) -> str:
        if value is None or value == "":
            return ""
        return format_value(value, *args)

    return formatted


@register.filter
@_blank_stays_blank
def money(value, currency: str) -> str:
    """1234.5 USD -> '1,234.50', 1235.00 JPY -> '1,235', 1.2 KWD -> '1.200'; negative amounts
    keep their sign.

    A stored amount is shown as it was stored, never rounded again: an amount with a fraction
    the currency's minor unit has no room for (an invoice issued before ISO 4217 gave its
    currency fewer decimals, say 1,234.56 BIF) keeps its cents. Only an amount more precise than
    the cent and the currency's minor unit is rounded (as amounts are): 2.345 USD -> '2.35'."""
    amount = Decimal(value)
    shown = quantize_money(amount, currency)
    if shown != amount:
        finest = min(CENT, minor_unit(currency))
        shown = at_least_cents(amount.quantize(finest, rounding=ROUND_HALF_UP))
    return f"{shown:,f}"


@register.filter
@_blank_stays_blank
def hours(value) -> str:
    """Hours as billed: 6 decimals."""
    return f"{Decimal(value):,.6f}"


@register.filter
@_blank_stays_blank
def hours_brief(value) -> str:
    """Hours for reading, not billing: to a hundredth, without trailing zeros, with the unit:
    1420.500000 -> '1,420.5 h', 60.750000 -> '60.75 h', 3 -> '3 h'."""
    brief = Decimal(value).quantize(Decimal("0.01"))
    text = f"{brief:,.2f}".rstrip("0").rstrip(".")
    return f"{text} h"


@register.filter
@_blank_stays_blank
def hours_shown(value) -> str:
    """Hours on a document's line, for reading: to a hundredth (the minutes column beside
    it, the stored line and the CSV keep the billed 6 decimals): 12.500000 -> '12.50'."""
    return f"{Decimal(value).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"


@register.filter
def country_line(buyer: dict) -> str:
    """The buyer's country to print under the address, by name (GB -> 'United Kingdom'),
    or "" when the address already ends with it (by name or code): it prints once."""
    code = (buyer.get("country") or "").strip()
    if not code:
        return ""
    found = pycountry.countries.get(alpha_2=code.upper())
    name = getattr(found, "common_name", None) or getattr(found, "name", code) if found else code
    last = ((buyer.get("address") or "").strip().splitlines() or [""])[-1].strip().casefold()
    if last in {code.casefold(), name.casefold()} or last.endswith(name.casefold()):
        return ""
    return name


@register.filter
@_blank_stays_blank
def minutes(value) -> str:
    """Hours as minutes, to a tenth: 1.5 -> '90.0'."""
    return f"{(Decimal(value) * 60).quantize(Decimal('0.1')):,}"


@register.filter
@_blank_stays_blank
def unit_price(value) -> str:
    """A unit price without noise but without losing a digit: 0.258000 -> '0.258',
    10 -> '10.00', 0.004300 -> '0.0043'."""
    price = Decimal(value).normalize()
    places = max(2, -price.as_tuple().exponent)
    return f"{price:,.{places}f}"


@register.filter
@_blank_stays_blank
def normalize_quantity(value) -> str:
    """A count without trailing zeros: 1.000000 -> '1', 2.5 -> '2.5'."""
    quantity = Decimal(value).normalize()
    return f"{quantity:,f}"


HOURLY_KINDS = {
    InvoiceLine.Kind.USAGE,
    InvoiceLine.Kind.TIER,
    InvoiceLine.Kind.FREE_HOURS,
    InvoiceLine.Kind.ADJUSTMENT,
}


@register.filter
def is_hourly(kind: str) -> bool:
    """Whether a line of this kind counts hours (and prices them per hour)."""
    return kind in HOURLY_KINDS


@register.filter
def counts_hours(line) -> bool:
    """Whether a line counts hours (and is priced per hour): an hourly plan's lines; a line
    with a unit of its own (rate cards, cost plus) counts that unit."""
    return not line.unit and line.kind in HOURLY_KINDS


# Rate-card units priced per thousand or million ("k characters", "M tokens in"): read as the
# count they price and the price per block ("2,345,678 characters at 0.03 per 1,000"), as
# Deepgram's price list reads. By label: the count's name and the block's size.
PER_BLOCK = {
    unit.label: (unit.label.split(" ", 1)[1], int(1 / unit.per_allowance_unit))
    for unit in RATE_UNITS.values()
    if unit.per_allowance_unit < 1
}


@register.filter
def unit_quantity(line) -> str:
    """A line-item line's quantity with its unit: '290,500.6 min', '1.5 agent h', '1',
    '2,345,678 characters' (a quantity in thousands shown as the count)."""
    if line.unit in PER_BLOCK:
        name, size = PER_BLOCK[line.unit]
        return f"{normalize_quantity(line.quantity * size)} {name}"
    text = normalize_quantity(line.quantity)
    return text if line.unit in ("", "each") or line.unit.isupper() else f"{text} {line.unit}"


@register.filter
def unit_price_text(line, currency: str) -> str:
    """A line-item line's price: per its unit ('0.006/min', '0.03 per 1,000'), a factor on
    a cost in the invoice's currency ('x 1.2'), or the price of one ('25.00')."""
    price = unit_price(line.unit_price)
    if line.unit and line.unit == currency:
        return f"\N{MULTIPLICATION SIGN} {price}"
    if line.unit in ("", "each", "packages"):
        return price
    if line.unit in PER_BLOCK:
        return f"{price} per {PER_BLOCK[line.unit][1]:,}"
    return f"{price}/{line.unit}"
