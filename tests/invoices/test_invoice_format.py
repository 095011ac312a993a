"""How amounts print: to the currency's minor unit, but never rounding a stored amount again."""

from decimal import Decimal as D

import pytest

from invoices.templatetags.invoice_format import money


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        (D("1234.5"), "USD", "1,234.50"),
        (D("1235.00"), "JPY", "1,235"),
        (D("-53.90"), "EUR", "-53.90"),
        (D("0"), "BIF", "0"),
        # Issued when the old table gave BIF cents; ISO 4217 gives it none: shown as stored.
        (D("1234.56"), "BIF", "1,234.56"),
        (D("1234.50"), "XPF", "1,234.50"),
        # Three-decimal currencies print their thousandths, stored or not.
        (D("1.2"), "KWD", "1.200"),
        (D("-1234.235"), "BHD", "-1,234.235"),
        # More precise than the currency and the cent (a computed amount): rounded as amounts
        # are.
        (D("2.345"), "USD", "2.35"),
        (D("1.2345"), "KWD", "1.235"),
        (D("1234.567"), "BIF", "1,234.57"),
        (None, "USD", ""),
    ],
)
def test_it_shows_amounts_as_stored(value, currency, shown):
    assert money(value, currency) == shown


@pytest.mark.parametrize(
    ("unit", "quantity", "price", "shown_quantity", "shown_price"),
    [
        ("k characters", "2345.678", "0.030000", "2,345,678 characters", "0.03 per 1,000"),
        ("M tokens", "1.5", "2.000000", "1,500,000 tokens", "2.00 per 1,000,000"),
        ("M tokens in", "0.25", "1.000000", "250,000 tokens in", "1.00 per 1,000,000"),
        ("min", "1234.5", "0.006000", "1,234.5 min", "0.006/min"),
        ("agent h", "12.4", "4.500000", "12.4 agent h", "4.50/agent h"),
    ],
)
def test_a_line_item_line_reads_in_the_count_it_prices(
    unit, quantity, price, shown_quantity, shown_price
):
    from invoices.models import InvoiceLine
    from invoices.templatetags.invoice_format import unit_price_text, unit_quantity

    line = InvoiceLine(unit=unit, quantity=D(quantity), unit_price=D(price))

    assert (unit_quantity(line), unit_price_text(line, "USD")) == (shown_quantity, shown_price)
