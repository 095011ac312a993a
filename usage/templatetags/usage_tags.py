from datetime import timedelta

from django import template

from usage import selectors
from usage.charts import daily_bars
from usage.services import utc_today

register = template.Library()


# What the chart can show, one unit at a time (`?chart_unit=`), and how a value is written.
CHART_UNITS = {
    "total_hours": ("Billed hours (every channel)", "h"),
    "hours": ("Audio hours", "h"),
    "agent_hours": ("Voice agent hours", "h"),
    "tts_characters": ("Text-to-speech characters", "characters"),
    "tokens_in": ("Tokens in", "tokens"),
    "tokens_out": ("Tokens out", "tokens"),
    "requests": ("Requests", "requests"),
}


@register.inclusion_tag("usage/customer_chart.html", takes_context=True)
def customer_usage_chart(context, customer, days: int = 60):
    """A unit of a customer's keys' usage per UTC day over the last `days` days: billed hours
    (total_hours) unless the page asks for another (`?chart_unit=tts_characters`)."""
    asked = context["request"].GET.get("chart_unit", "")
    unit = asked if asked in CHART_UNITS else "total_hours"
    end = utc_today()
    values = selectors.daily_hours(
        customer=customer, start=end - timedelta(days=days - 1), end=end, quantity=unit
    )
    label, suffix = CHART_UNITS[unit]
    return {
        "chart": daily_bars(values, end=end, days=days),
        "customer": customer,
        "days": days,
        "unit": unit,
        "label": label,
        "suffix": suffix,
        "units": [(name, names[0]) for name, names in CHART_UNITS.items()],
    }


@register.inclusion_tag("usage/stale_banner.html", takes_context=True)
def stale_keys_banner(context):
    """A warning on the admin index when keys have not synced for a day, for the staff who
    can act on it (start a sync, look into the keys)."""
    user = context["request"].user
    if not user.has_perm("usage.start_syncrun"):
        return {"count": 0}
    return {"count": selectors.stale_key_states().count()}
