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
