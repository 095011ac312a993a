"""The invitation names the seller's portal (`BILLING_COMPANY_NAME`), not the customer's, and
says whose usage and invoices the person will see there."""

import pytest

from customers.services import customer_user_invite


@pytest.fixture(autouse=True)
def seller(settings):
    settings.BILLING_COMPANY_NAME = "Northwind Speech GmbH"


def invite(customer, actor, mailoutbox):
    customer_user_invite(
        customer=customer,
        email="carol@acme.example",
        first_name="Carol",
        actor=actor,
        portal_url="https://billing.northwind.example/",
    )
    [message] = mailoutbox
    return message


def test_it_names_the_sellers_portal_in_the_subject(customer_a, support_user, mailoutbox):
    message = invite(customer_a, support_user, mailoutbox)

    assert message.subject == "Your Northwind Speech GmbH billing portal account for Acme Voice Ltd"


def test_it_names_the_sellers_portal_and_the_customer_in_the_body(
    customer_a, support_user, mailoutbox
):
    body = " ".join(invite(customer_a, support_user, mailoutbox).body.split())

    assert "You have been invited to the Northwind Speech GmbH billing portal" in body
    assert "the speech usage of Acme Voice Ltd and download its invoices" in body
    assert "billing portal of Acme Voice Ltd" not in body
    assert "https://billing.northwind.example/portal/reset/" in body
