"""Inviting a portal user from the customer's admin page, and the invitee's first login."""

import re
import socket

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from customers.models import CustomerUser

NEW_PASSWORD = "Sturdy-new-passw0rd-42"
LINK = re.compile(r"http://testserver(/portal/reset/(?P<uid>[\w-]+)/(?P<token>[\w-]+)/)")


def invite_url(customer) -> str:
    return reverse("admin:customers_customer_invite_user", args=[customer.pk])


def invite(client, customer, email="carol@acme.example", **names):
    return client.post(invite_url(customer), {"email": email, **names})


def invitation_link(mailoutbox) -> str:
    [message] = mailoutbox
    return LINK.search(message.body).group(1)


def test_it_creates_a_user_without_a_password(support, customer_a, support_user):
    response = invite(support, customer_a, first_name="Carol", last_name="Jones")

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:customers_customer_change", args=[customer_a.pk])
    membership = CustomerUser.objects.get(user__email="carol@acme.example")
    user = membership.user
    assert (membership.customer, membership.invited_by) == (customer_a, support_user)
    assert (user.username, user.first_name, user.last_name) == (
        "carol@acme.example",
        "Carol",
        "Jones",
    )
    assert not user.has_usable_password()
    assert not user.is_staff


def test_it_sends_one_email_with_a_password_link(support, customer_a, mailoutbox):
    invite(support, customer_a, first_name="Carol")

    [message] = mailoutbox
    assert message.to == ["carol@acme.example"]
    assert (
        message.subject == "Your Example Voice Apps Ltd billing portal account for Acme Voice Ltd"
    )
    assert "Hello Carol," in message.body
    assert LINK.search(message.body)


def test_it_says_whom_it_invited(support, customer_a):
    response = invite(support, customer_a)

    response = support.get(response["Location"])

    assert [str(m) for m in response.context["messages"]] == [
        "Invited carol@acme.example; they will get an e-mail to set their password."
    ]


def test_it_stores_the_address_in_lower_case(support, customer_a):
    invite(support, customer_a, email="Carol.Jones@ACME.example")

    assert get_user_model().objects.get(username="carol.jones@acme.example")


def test_it_lets_the_invitee_set_a_password_and_be_logged_in(
    client, support, customer_a, customer_b, mailoutbox
):
    invite(support, customer_a)
    link = invitation_link(mailoutbox)
    client.logout()

    opened = client.get(link)
    assert opened.status_code == 302
    set_password = opened["Location"]
    assert set_password.endswith("/set-password/")
    assert client.get(set_password).context["validlink"]
    done = client.post(set_password, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == reverse("portal:home")  # logged in at once
    home = client.get("/portal/")
    assert home.status_code == 200 and "Acme Voice Ltd" in home.text

    client.logout()  # and the new password logs in
    login = client.post(
        "/portal/login/", {"username": "carol@acme.example", "password": NEW_PASSWORD}
    )
    assert login["Location"] == "/portal/"
    home = client.get("/portal/")
    assert home.status_code == 200
    assert "Acme Voice Ltd" in home.text
    assert "Globex Transcripts" not in home.text


def test_it_makes_the_link_work_once(client, support, customer_a, mailoutbox):
    invite(support, customer_a)
    link = invitation_link(mailoutbox)
    client.logout()
    set_password = client.get(link)["Location"]
    client.post(set_password, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    again = client.get(link, follow=True)

    assert not again.context["validlink"]


def test_it_refuses_an_address_that_has_a_user(support, customer_a, customer_b, mailoutbox):
    invite(support, customer_a)
    mailoutbox.clear()

    response = invite(support, customer_b, email="CAROL@acme.example")

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "email": ["A user with the e-mail carol@acme.example exists already."]
    }
    assert CustomerUser.objects.get(user__email="carol@acme.example").customer == customer_a
    assert mailoutbox == []


def test_it_refuses_the_address_of_a_staff_user(support, customer_a, finance_user, mailoutbox):
    response = invite(support, customer_a, email=finance_user.email)

    assert "exists already" in response.context["form"].errors["email"][0]
    assert not CustomerUser.objects.exists()
    assert mailoutbox == []


def test_it_wants_a_valid_address(support, customer_a, mailoutbox):
    response = invite(support, customer_a, email="not-an-address")

    assert list(response.context["form"].errors) == ["email"]
    assert not CustomerUser.objects.exists()


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


def test_it_keeps_the_user_when_the_email_fails(support, customer_a, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False

    response = invite(support, customer_a)

    assert response.status_code == 302
    assert CustomerUser.objects.filter(user__email="carol@acme.example").exists()
    messages = [str(m) for m in support.get(response["Location"]).context["messages"]]
    assert len(messages) == 1
    assert messages[0].startswith("The user was created, but the e-mail failed")


def test_it_resends_an_invitation_that_still_works(client, support, customer_a, mailoutbox):
    invite(support, customer_a)
    membership = CustomerUser.objects.get()
    mailoutbox.clear()

    response = support.post(
        reverse("admin:customers_customeruser_changelist"),
        {"action": "resend_invitation", "_selected_action": [membership.pk]},
        follow=True,
    )

    assert "Sent 1 invitation(s)." in [str(m) for m in response.context["messages"]]
    link = invitation_link(mailoutbox)
    client.logout()
    assert client.get(link)["Location"].endswith("/set-password/")


@pytest.mark.parametrize("role", ["finance_user", "other_staff"])
def test_it_lets_only_support_invite(client, request, customer_a, mailoutbox, role):
    client.force_login(request.getfixturevalue(role))

    response = invite(client, customer_a)

    assert response.status_code == 403
    assert not CustomerUser.objects.exists()
    assert mailoutbox == []


def test_it_lets_no_portal_user_invite(client, customer_a, customer_a_user, mailoutbox):
    client.force_login(customer_a_user)

    response = invite(client, customer_a)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert CustomerUser.objects.count() == 1
    assert mailoutbox == []
