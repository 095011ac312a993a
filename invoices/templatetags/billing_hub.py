"""The customer page's billing panel (`invoices.customer_hub`), for the customers app's
change form: `{% load billing_hub %}{% customer_billing_hub original %}`."""

from django import template

from invoices.customer_hub import customer_hub, margin_total

register = template.Library()


@register.inclusion_tag("admin/invoices/customer_hub.html", takes_context=True)
def customer_billing_hub(context, customer):
    hub = customer_hub(customer, context["request"].user)
    return {"hub": hub, "customer": customer, "margin_usd": margin_total(hub.margin)}
