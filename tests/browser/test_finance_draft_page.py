"""Finance in a real browser: a draft's own page lists what refuses its approval, Refresh
brings a stale draft up to date, and the Approve button issues it."""

import os
from datetime import date

import time_machine

from invoices.models import Invoice
from invoices.services import invoice_generate_drafts
from tests.invoices.conftest import OCTOBER, acme, plan, put_usage  # noqa: F401 - fixtures


def test_finance_refreshes_then_approves_a_draft_from_its_page(
    request, log_in, page, key_of, finance_user
):
    customer, put = request.getfixturevalue("acme"), request.getfixturevalue("put_usage")
    key = key_of(customer)
    with time_machine.travel("2026-11-02 09:00Z", tick=False):
        put(key, date(2026, 10, 3), "10.000000")
        [draft] = invoice_generate_drafts(period=OCTOBER).created
        put(key, date(2026, 10, 20), "2.000000")  # a sync after the draft was made

    log_in(finance_user)
    page.goto(f"/admin/invoices/invoice/{draft.pk}/change/")
    assert page.get_by_text("It is stale").is_visible()
    assert page.get_by_role("button", name="Approve").count() == 0

    page.get_by_role("button", name="Refresh").click()
    page.get_by_text(f"Refreshed {draft}").wait_for()
    assert page.get_by_text("Nothing: it can be approved once reviewed.").is_visible()
    if os.environ.get("BROWSER_SCREENSHOTS"):  # to look at the page, not a check
        page.screenshot(path=os.environ["BROWSER_SCREENSHOTS"] + "/draft-page.png", full_page=True)

    page.get_by_role("button", name="Approve").click()
    page.get_by_text("Issued invoice").wait_for()

    draft.refresh_from_db()
    assert draft.status == Invoice.Status.ISSUED
    page.get_by_text(f"Issued invoice {draft.number}").wait_for()
    assert page.get_by_role("button", name="Refresh").count() == 0
