"""The invoice list says which drafts are stale: their month's usage changed, or their plan
was edited, since they were computed (two EXISTS in the list's one query)."""

from datetime import date

from django.urls import reverse

from invoices.services import invoice_refresh_draft

LIST = reverse("admin:invoices_invoice_changelist")


def status_cell(client) -> str:
    page = client.get(LIST, {"status": "draft"}).text
    return page.split('class="field-status_label"', 1)[1].split("</td>", 1)[0]


def test_a_draft_whose_usage_changed_reads_stale_until_refreshed(
    finance, october_draft, key_of, put_usage
):
    assert "stale" not in status_cell(finance)

    put_usage(key_of(october_draft.customer), date(2026, 10, 20), "1.000000")
    assert "stale: usage changed" in status_cell(finance)

    invoice_refresh_draft(customer=october_draft.customer, period=october_draft.period)
    assert "stale" not in status_cell(finance)


def test_a_draft_whose_plan_was_edited_reads_stale(finance, october_draft, plan):
    plan.platform_fee = 12
    plan.save()
    assert "stale: plan changed" in status_cell(finance)


def test_issued_invoices_never_read_stale(finance, issued, key_of, put_usage):
    put_usage(key_of(issued.customer), date(2026, 10, 20), "1.000000")
    page = finance.get(LIST).text
    assert "stale" not in page.split('id="result_list"', 1)[1]


def test_a_draft_priced_by_a_scheduled_change_reads_stale_when_the_change_is_edited(
    finance, acme, plan, key_of, put_usage
):
    from invoices.services import invoice_generate_drafts
    from invoices.services.plan_changes import schedule_price_change

    copy = schedule_price_change(plan, date(2026, 10, 1), today=date(2026, 9, 10))
    put_usage(key_of(acme), date(2026, 10, 3), "1.000000")
    [draft] = invoice_generate_drafts(period=date(2026, 10, 1)).created
    assert "stale" not in status_cell(finance)

    plan.platform_fee = 11  # the plan prices September, no more: October's draft is current
    plan.save()
    assert "stale" not in status_cell(finance)
    copy.platform_fee = 12  # the change it is priced by
    copy.save()
    assert "stale: plan changed" in status_cell(finance)
    assert draft.lines.exists()
