"""`text_cell`: text a spreadsheet could run as a formula gets a leading `'`; other text, and
numbers (which never go through it), stay as they are."""

from decimal import Decimal as D

import pytest

from billing_portal.csv_cells import text_cell

# Every way a cell may start that a spreadsheet reads as a formula or a command.
DANGEROUS = [
    '=HYPERLINK("http://x")',
    "+1+1",
    "-1+1",
    "@SUM(A1)",
    "|calc",
    "\t=1",
    "\r=1",
    "\n=1",
    "\x00=1",
    "\x1b=1",
    " =1",
    "   +1",
    "\u00a0=1",  # no-break space
    "\u3000=1",  # ideographic space
    "\u200b=1",  # zero-width space
    "\ufeff=1",  # byte order mark
    "\uff1d1+1",  # full-width =
    "\uff0b1",  # full-width +
    "\uff0d1",  # full-width -
    "\uff201",  # full-width @
    "\uff5ccalc",  # full-width |
    "\ufe661",  # small =
    "\u22121",  # minus sign
    "\t",
]
HARMLESS = ["Acme Voice Ltd", "", " Acme", "a=b", "O'Brien", "5.00", "acme-key-1", "'=1"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_it_neutralises_text_a_spreadsheet_would_run(text):
    assert text_cell(text) == f"'{text}"


@pytest.mark.parametrize("text", HARMLESS)
def test_it_leaves_other_text_as_it_is(text):
    assert text_cell(text) == text


@pytest.mark.parametrize("number", [D("-5.00"), -5, 1.5])
def test_it_refuses_a_number_so_that_numbers_stay_numbers(number):
    with pytest.raises(TypeError, match="write numbers as is"):
        text_cell(number)
