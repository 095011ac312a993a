"""Support opens a key's page and sees its last sync and this month's usage per line item;
the portal's login page carries the seller's name and a logo that loads."""

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from usage.line_items import seed_line_items
from usage.models import DailyCost, DailyUsage, KeySyncState


def shoot(page, name: str) -> None:
    if os.environ.get("BROWSER_SCREENSHOTS"):  # to look at the pages, not a check
        page.screenshot(path=f"{os.environ['BROWSER_SCREENSHOTS']}/{name}.png", full_page=True)


def test_support_sees_a_keys_last_sync_and_its_usage_this_month(
    log_in, page, support_user, customer_a, key_of
):
    seed_line_items({"streaming::nova-3": "Nova-3 streaming", "sync::aura-2": "Aura-2 speech"})
    key = key_of(customer_a, comment="Call centre")
    now = datetime.now(UTC)
    today = now.date()
    for endpoint, method, model, units in [
        ("listen", "streaming", "nova-3", {"hours": D("1.5"), "total_hours": D("3")}),
        ("speak", "sync", "aura-2", {"tts_characters": 123_456}),
    ]:
        DailyUsage.objects.create(
            api_key=key, day=today, endpoint=endpoint, method=method, model=model, requests=3,
            first_seen_at=now, changed_at=now, **units,
        )  # fmt: skip
    KeySyncState.objects.filter(api_key=key).update(
        last_success_at=now - timedelta(hours=1), synced_through=today
    )

    log_in(support_user)
    page.goto(f"/admin/customers/apikey/{key.pk}/change/")

    sync = page.locator("#key-sync")
    assert sync.get_by_text("Succeeded").is_visible()
    usage = page.locator("#key-usage")
    nova = usage.locator("tr", has_text="Nova-3 streaming")
    assert nova.locator("td.num").all_inner_texts()[:3] == ["3.00", "1.50", "3"]
    assert usage.locator("tr", has_text="Aura-2 speech").get_by_text("123,456").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    shoot(page, "key-page")

    sync.get_by_role("link", name=f"Key sync status of {key.key_id}").click()
    page.wait_for_url(f"**/admin/usage/keysyncstate/{key.sync_state.pk}/change/")


def test_a_new_key_shows_as_never_synced(log_in, page, support_user, customer_a, key_of):
    key = key_of(customer_a)

    log_in(support_user)
    page.goto(f"/admin/customers/apikey/{key.pk}/change/")

    assert page.locator("#key-sync").get_by_text("Never synced").is_visible()
    page.goto("/admin/usage/keysyncstate/")
    row = page.locator("#result_list tbody tr", has_text=key.key_id)
    assert row.locator("td.field-last_success_at").inner_text() == "never"
    shoot(page, "key-sync-status-list")


def test_the_login_page_shows_the_sellers_name_and_logo(page, settings):
    settings.BILLING_COMPANY_NAME = "Northwind Speech GmbH"
    settings.BILLING_LOGO_PATH = "billing/logo.svg"

    page.goto("/portal/login/")

    logo = page.locator("header img.brand-logo")
    logo.wait_for()
    page.wait_for_function("document.querySelector('header img.brand-logo').complete")
    assert logo.evaluate("img => img.naturalWidth") > 0
    assert page.get_by_text("Welcome to the Northwind Speech GmbH billing portal").is_visible()
    shoot(page, "login-page")


def test_the_login_page_without_a_logo_shows_the_name_only(page, settings):
    settings.BILLING_COMPANY_NAME = "Northwind Speech GmbH"
    settings.BILLING_LOGO_PATH = ""

    page.goto("/portal/login/")

    assert page.locator("img").count() == 0
    assert page.locator("header").get_by_text("Northwind Speech GmbH").is_visible()
    shoot(page, "login-page-no-logo")


def test_finance_sees_deepgrams_cost_of_the_key(log_in, page, finance_user, customer_a, key_of):
    seed_line_items({"streaming::nova-3": "Nova-3 streaming"})
    key = key_of(customer_a)
    now = datetime.now(UTC)
    DailyUsage.objects.create(
        api_key=key, day=now.date(), endpoint="listen", method="streaming", model="nova-3",
        hours=D("2"), total_hours=D("2"), requests=5, first_seen_at=now, changed_at=now,
    )  # fmt: skip
    DailyCost.objects.create(
        api_key=key, day=now.date(), line_item="streaming::nova-3", dollars=D("0.516000"),
        first_seen_at=now, changed_at=now,
    )  # fmt: skip

    log_in(finance_user)
    page.goto(f"/admin/customers/apikey/{key.pk}/change/")

    usage = page.locator("#key-usage")
    assert usage.get_by_role("columnheader", name="Deepgram cost (USD)").is_visible()
    assert usage.locator("tfoot td").last.inner_text() == "0.52"
    shoot(page, "key-page-finance")
