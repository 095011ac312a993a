"""Finance can open a customer to work on its billing details, but cannot make keys."""

PROVISION_URL = "/admin/customers/customer/{}/provision-key/"


def test_it_shows_finance_the_customer_without_the_key_tools(
    log_in, page, finance_user, customer_a
):
    log_in(finance_user)

    page.goto("/admin/customers/customer/")
    page.locator("#result_list").get_by_role("link", name=customer_a.name).click()

    page.get_by_role("heading", name=customer_a.name).wait_for()
    assert page.get_by_label("Billing email:").input_value() == customer_a.billing_email
    assert page.get_by_role("link", name="Provision Deepgram key").count() == 0
    assert page.get_by_role("link", name="Invite portal user").count() == 0


def test_it_refuses_finance_the_provision_page(log_in, page, sandbox, finance_user, customer_a):
    log_in(finance_user)
    keys_before = sandbox.key_ids()

    response = page.goto(PROVISION_URL.format(customer_a.pk))

    assert response.status == 403
    assert sandbox.key_ids() == keys_before
