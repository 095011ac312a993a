"""The stored usage as invoices read it: summed per key, day and billed method.

Rules:
- Deepgram reports usage finer than today's prices read it: a key's day may have a row per
  endpoint, method and model. Invoices sum those rows per key, day and method, so the lines,
  the billed-usage record and the adjustments see one quantity per key, day and method
  however finely Deepgram reported it.
- The billed method is the row's own where the key's project splits its usage by method, else
  "not split" (`Method.ALL`): a project billed at one hourly rate stays so when Deepgram's rows
  name their method, and usage re-read by line item prices to the same cent as before.
"""

from django.db.models import Case, CharField, F, QuerySet, Sum, Value, When

from usage.models import Method

__all__ = ["BILLED_METHOD", "billed_method", "summed_per_method"]

BILLED_METHOD = "billed_method"


def billed_method() -> Case:
    """The method a row of DailyUsage is billed under (see the module's rules)."""
    return Case(
        When(api_key__project__split_usage_by_method=True, then=F("method")),
        default=Value(Method.ALL),
        output_field=CharField(),
    )


def summed_per_method(rows: QuerySet, *group: str) -> QuerySet:
    """`rows` of DailyUsage (annotated with the billed method or not) summed per `group`
    (field names) and billed method, with
    `sum_hours` and `sum_total_hours`; without any ordering (a GROUP BY of exactly those)."""
    if BILLED_METHOD not in rows.query.annotations:
        rows = rows.annotate(**{BILLED_METHOD: billed_method()})
    return (
        rows.values(*group, BILLED_METHOD)
        .annotate(sum_hours=Sum("hours"), sum_total_hours=Sum("total_hours"))
        .order_by()
    )
