"""Credit notes (invoices.services.credit_notes): in full or in parts, to the cent."""

from decimal import Decimal as D

import pytest

from invoices.exceptions import (
    InvoicesError,
)
from invoices.services import (
    credit_note_create,
    invoice_approve,
)


def test_it_credits_in_full_or_in_part_in_its_own_series(october_draft, finance_user):
    issued = invoice_approve(invoice=october_draft, actor=finance_user)

    part = credit_note_create(
        invoice=issued, actor=finance_user, reason="Goodwill", amount=D("5.00")
    )
    rest = credit_note_create(invoice=issued, actor=finance_user, reason="Closed")

    assert part.number.startswith("CN-") and part.number.endswith("000001")
    assert rest.number.endswith("000002")
    assert (part.subtotal, part.tax, part.total) == (D("-5.00"), D("-1.00"), D("-6.00"))
    assert rest.subtotal == D("-8.23")
    assert part.credits == issued and part.lines.get().amount == D("-5.00")
    assert (part.issued_on, part.due_on) == (issued.issued_on, None)  # nothing to pay on it
    with pytest.raises(InvoicesError, match=r"at most 0\.00"):
        credit_note_create(invoice=issued, actor=finance_user, reason="Again")


@pytest.mark.parametrize("parts", [["4.41", "4.41", "4.41"], ["6.61", "6.61", "0.01"]])
def test_credit_notes_in_parts_add_up_to_the_invoice_to_the_cent(
    october_draft, finance_user, parts
):
    issued = invoice_approve(invoice=october_draft, actor=finance_user)  # 13.23 + 2.65 tax
    notes = [
        credit_note_create(invoice=issued, actor=finance_user, reason="Part", amount=D(part))
        for part in parts
    ]

    # Rounded on its own, each part's tax would add up to 2.64 or 2.66: the last part takes
    # what is left.
    assert sum(note.subtotal for note in notes) == -issued.subtotal
    assert sum(note.tax for note in notes) == -issued.tax
    assert sum(note.total for note in notes) == -issued.total
    assert all(note.total == note.subtotal + note.tax for note in notes)
