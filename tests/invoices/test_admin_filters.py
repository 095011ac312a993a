from django.urls import reverse

from customers.models import Customer
from invoices.admin import CustomerFilter


def test_it_lists_every_customer_while_there_are_few(client, finance_user, customer_a, customer_b):
    client.force_login(finance_user)

    response = client.get(reverse("admin:invoices_invoice_changelist"))

    assert f"?customer={customer_a.pk}" in response.text
    assert f"?customer={customer_b.pk}" in response.text


def test_it_lists_only_the_chosen_customer_when_there_are_many(client, finance_user):
    customers = Customer.objects.bulk_create(
        Customer(name=f"Customer {n:03d}", billing_email=f"c{n}@x.example")
        for n in range(CustomerFilter.MAX_LISTED + 5)
    )
    client.force_login(finance_user)
    url = reverse("admin:invoices_invoice_changelist")

    plain = client.get(url)
    chosen = client.get(url, {"customer": customers[7].pk})

    assert "Customer 001" not in plain.text
    assert "Customer 007" in chosen.text and "Customer 008" not in chosen.text
