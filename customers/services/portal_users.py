"""Inviting a customer's people to the portal.

Rules: a portal user is a Django user with the e-mail (lower-cased) as username, tied to one
customer. An e-mail already in use raises CustomersError. The user has no usable password
until they follow the e-mailed link (Django's reset flow, valid as long as its reset tokens
are). An e-mail failure leaves the user in place, to resend the invitation from the admin.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from ..exceptions import CustomersError
from ..models import Customer, CustomerUser


def customer_user_invite(
    *,
    customer: Customer,
    email: str,
    first_name: str = "",
    last_name: str = "",
    actor,
    portal_url: str,
) -> CustomerUser:
    """Create a portal user for `customer` and e-mail a link to set a password.

    The user has no usable password until they follow the link (Django's reset flow).
    Raises CustomersError for a duplicate e-mail; an e-mail failure leaves the user in place
    (resend from the admin).
    """
    User = get_user_model()
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise CustomersError(f"A user with the e-mail {email} exists already.")
    with transaction.atomic():
        user = User(username=email, email=email, first_name=first_name, last_name=last_name)
        user.set_unusable_password()
        user.save()
        membership = CustomerUser.objects.create(user=user, customer=customer, invited_by=actor)
    customer_user_send_invitation(membership=membership, portal_url=portal_url)
    return membership


def customer_user_send_invitation(*, membership: CustomerUser, portal_url: str) -> None:
    """E-mail the password-set link (valid as long as Django's reset tokens are). The e-mail
    names the seller's portal (`BILLING_COMPANY_NAME`), whose it is, and the customer whose
    usage and invoices the person will see there."""
    user = membership.user
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    portal = f"{settings.BILLING_COMPANY_NAME} billing portal"
    context = {
        "user": user,
        "customer": membership.customer,
        "portal": portal,
        "link": f"{portal_url.rstrip('/')}/portal/reset/{uid}/{token}/",
    }
    send_mail(
        subject=f"Your {portal} account for {membership.customer}",
        message=render_to_string("customers/email/invitation.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )
