"""The usage app's part of a key's admin page (`customers.ApiKey`): its last sync and its
usage this month, composed into the page by its template so that customers imports nothing
from usage."""

from django import template
from django.urls import reverse
from django.utils.http import urlencode

from usage.key_summary import key_usage_by_line_item, last_sync_of, totals_of
from usage.selectors import month_bounds
from usage.services import utc_today

register = template.Library()

# The units of a row of usage, as the key page heads them; the first three always show, the
# others when the month has some.
UNIT_COLUMNS = {
    "total_hours": "Billed hours (every channel)",
    "hours": "Audio hours",
    "requests": "Requests",
    "agent_hours": "Agent hours",
    "tts_characters": "TTS characters",
    "tokens_in": "Tokens in",
    "tokens_out": "Tokens out",
}
ALWAYS_SHOWN = ("total_hours", "hours", "requests")


@register.inclusion_tag("admin/usage/key_sync_and_usage.html", takes_context=True)
def key_sync_and_usage(context, api_key):
    """The key's last sync (when, how it went, linked to its key sync status row) and its
    usage this month (UTC) per line item and unit, with Deepgram's dollars for who may read
    them (finance). Three queries, four with the dollars (`usage.key_summary`)."""
    user = context["request"].user
    with_cost = user.has_perm("usage.view_dailycost")
    today = utc_today()
    start, _ = month_bounds(today)
    last = last_sync_of(api_key)
    items = key_usage_by_line_item(api_key=api_key, start=start, end=today, with_cost=with_cost)
    total = totals_of(items)
    columns = [u for u in UNIT_COLUMNS if u in ALWAYS_SHOWN or total.units[u]]
    return {
        "api_key": api_key,
        "last": last,
        "state_url": _state_url(user, last),
        "usage_url": _usage_url(user, api_key),
        "start": start,
        "end": today,
        "columns": [(UNIT_COLUMNS[u], u.endswith("hours")) for u in columns],
        "rows": [_row(item, columns) for item in items],
        "total": _row(total, columns),
        "with_cost": with_cost,
    }


def _row(item, columns) -> dict:
    cells = [(item.units[u], u.endswith("hours")) for u in columns]
    return {"label": item.label, "code": item.code, "cells": cells, "dollars": item.dollars}


def _state_url(user, last) -> str:
    if last.state is None or not user.has_perm("usage.view_keysyncstate"):
        return ""
    return reverse("admin:usage_keysyncstate_change", args=[last.state.pk])


def _usage_url(user, api_key) -> str:
    """The daily usage list of this key's rows this month."""
    if not user.has_perm("usage.view_dailyusage"):
        return ""
    query = urlencode({"period": "month", "q": api_key.key_id})
    return f"{reverse('admin:usage_dailyusage_changelist')}?{query}"
