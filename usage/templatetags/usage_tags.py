from datetime import timedelta

from django import template

from usage import selectors
from usage.charts import daily_bars
from usage.services import utc_today

register = template.Library()


@register.inclusion_tag("usage/customer_chart.html")
def customer_usage_chart(customer, days: int = 60):
    """Daily billed hours (total_hours) of a customer's keys over the last `days` UTC days."""
    end = utc_today()
    hours = selectors.daily_hours(customer=customer, start=end - timedelta(days=days - 1), end=end)
    return {"chart": daily_bars(hours, end=end, days=days), "customer": customer, "days": days}


@register.inclusion_tag("usage/stale_banner.html", takes_context=True)
def stale_keys_banner(context):
    """A warning on the admin index when keys have not synced for a day, for the staff who
    can act on it (start a sync, look into the keys)."""
    user = context["request"].user
    if not user.has_perm("usage.start_syncrun"):
        return {"count": 0}
    return {"count": selectors.stale_key_states().count()}
