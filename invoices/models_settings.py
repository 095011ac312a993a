"""Settings finance edits in the admin, one row (re-exported by `models`): the overdue
reminders' schedule and the codes the accounting exports write (Xero's account and tax
types, QuickBooks' product and tax codes). A singleton (django-solo): `FinanceSettings.get_solo()`.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from solo.models import SingletonModel

DATE_FORMATS = [
    ("%d/%m/%Y", "DD/MM/YYYY (31/12/2026)"),
    ("%m/%d/%Y", "MM/DD/YYYY (12/31/2026)"),
    ("%Y-%m-%d", "YYYY-MM-DD (2026-12-31)"),
]


def _code(default: str, help_text: str, max_length: int = 100) -> models.CharField:
    return models.CharField(max_length=max_length, default=default, blank=True, help_text=help_text)


class FinanceSettings(SingletonModel):
    # Overdue reminders (the daily task reads them; off until finance turns them on).
    reminders_enabled = models.BooleanField(
        "send overdue reminders",
        default=False,
        help_text="E-mail customers about invoices left unpaid after their due date.",
    )
    reminder_after_days = models.PositiveSmallIntegerField(
        "first reminder, days after the due date",
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    reminder_every_days = models.PositiveSmallIntegerField(
        "then every (days)",
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    reminder_limit = models.PositiveSmallIntegerField(
        "reminders per invoice at most",
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
    )
    # Xero (Business > Invoices > Import): the account, item and tax types of its CSV.
    xero_account_code = _code("200", "Xero's sales account code (200 is 'Sales' in a new org).")
    xero_item_code = _code("", "Xero's inventory item code for usage lines (optional).", 30)
    xero_tax_type = _code(
        "Tax on Sales", "Xero's tax rate name for taxed lines, exactly as in Xero."
    )
    xero_tax_type_zero = _code("Tax Exempt", "Xero's tax rate name for untaxed lines (0 %).")
    xero_tax_type_reverse_charge = _code(
        "Zero Rated EC Services", "Xero's tax rate name for reverse-charge lines."
    )
    xero_date_format = models.CharField(max_length=8, choices=DATE_FORMATS, default="%d/%m/%Y")
    # QuickBooks Online (Import invoices, Import credit notes).
    quickbooks_item = _code("Deepgram usage", "QuickBooks product/service name for the lines.")
    quickbooks_tax_code = _code("", "QuickBooks tax code of taxed lines (blank: none).")
    quickbooks_tax_code_zero = _code("", "QuickBooks tax code of untaxed lines (blank: none).")
    quickbooks_tax_code_reverse_charge = _code(
        "", "QuickBooks tax code of reverse-charge lines (blank: none)."
    )
    quickbooks_date_format = models.CharField(
        max_length=8, choices=DATE_FORMATS, default="%Y-%m-%d"
    )

    class Meta:
        verbose_name = "finance settings"
        verbose_name_plural = "finance settings"

    def __str__(self) -> str:
        return "Finance settings"
