"""Usage nobody is billed for: accessors Deepgram reports in a project that are no customer's
key (a console key, a staff key, a key deleted outside the portal), and their assignment.

Rules:
- Such an accessor is one `UnassignedAccessor` per project and key id
  (`unassigned_accessor_of`, for the sync); its usage and cost rows are written like a key's
  (`storing.UNASSIGNED_USAGE`, `storing.UNASSIGNED_COST`), in tables of their own, so that
  `DailyUsage` stays "a customer key's usage" and invoices never see them.
- `accessor_assign` moves the accessor's usage and cost rows from a day finance chooses onto
  the customer's key that is that accessor (same key id, same project): the rows before that
  day stay unassigned, visible and unbilled. The rows' corrections move with them. A row the
  key already holds for the same day and dimensions (the sync read it for the key) is kept
  and the accessor's copy dropped: it is the same usage, read later.
- Refused (`AssignmentRefused`, nothing changed): another accessor or project than the key's;
  an accessor already assigned; a day inside or before a month already issued for the key's
  customer. Which months are issued is asked through the `issued_months` signal, which the
  invoices app answers (usage imports no invoices code); when no app answers, refused.
- Atomic: the accessor row is locked first; the assignment is recorded as an
  `AccessorEvent` (who, when, from which day, how many rows moved).
"""

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.dispatch import Signal

from customers.models import ApiKey, DeepgramProject

from ..models import AccessorEvent, UnassignedAccessor
from ..month_costs import forget_key
from .storing import KEY_COST, KEY_USAGE, UNASSIGNED_COST, UNASSIGNED_USAGE, DayTable

# Sent with `customer` and `since` (a month's first day); a receiver returns the months (first
# days) from `since` on that are already issued for the customer.
issued_months = Signal()


class AssignmentRefused(Exception):
    """An accessor's usage cannot be moved onto that key from that day."""


@dataclass(frozen=True)
class Assignment:
    usage_rows: int  # moved onto the key
    cost_rows: int
    kept: int  # rows the key already held, whose unassigned copy was dropped


def unassigned_accessor_of(*, project: DeepgramProject, accessor: str) -> UnassignedAccessor:
    """The unassigned record of an accessor of a project, made when first seen."""
    record, _ = UnassignedAccessor.objects.get_or_create(project=project, accessor=accessor)
    return record


def accessor_assign(
    *, accessor: UnassignedAccessor, api_key: ApiKey, from_day: date, user
) -> Assignment:
    """Move the accessor's usage and cost rows of `from_day` and later onto `api_key` (the
    same key, imported for a customer), with their corrections; record who did it. Raises
    `AssignmentRefused` (see the module's rules)."""
    with transaction.atomic():
        accessor = UnassignedAccessor.objects.select_for_update().get(pk=accessor.pk)
        _refuse(accessor, api_key, from_day)
        usage, kept_usage = _move(UNASSIGNED_USAGE, KEY_USAGE, accessor, api_key, from_day)
        cost, kept_cost = _move(UNASSIGNED_COST, KEY_COST, accessor, api_key, from_day)
        if cost:
            forget_key(api_key.pk, from_day)  # moved rows keep their older `changed_at`
        accessor.assigned_key, accessor.assigned_from = api_key, from_day
        accessor.save(update_fields=["assigned_key", "assigned_from"])
        done = Assignment(usage_rows=usage, cost_rows=cost, kept=kept_usage + kept_cost)
        AccessorEvent.record(
            AccessorEvent.Action.ASSIGN,
            actor=user,
            accessor=accessor,
            api_key=api_key,
            detail=f"From {from_day:%Y-%m-%d} to {api_key.key_id} ({api_key.customer}): "
            f"{done.usage_rows} usage and {done.cost_rows} cost rows moved, {done.kept} "
            "already the key's.",
        )
    return done


def _refuse(accessor: UnassignedAccessor, api_key: ApiKey, from_day: date) -> None:
    if api_key.key_id != accessor.accessor or api_key.project_id != accessor.project_id:
        raise AssignmentRefused(
            f"Key {api_key.key_id} is not accessor {accessor.accessor} of this project: only "
            "the key itself, imported for a customer, takes its usage."
        )
    if accessor.assigned_key_id is not None:
        raise AssignmentRefused(
            f"Accessor {accessor.accessor} was assigned already, from {accessor.assigned_from}."
        )
    since = from_day.replace(day=1)
    answers = issued_months.send(sender=UnassignedAccessor, customer=api_key.customer, since=since)
    if not answers:
        raise AssignmentRefused("No app answered which months are issued: nothing was moved.")
    issued = sorted({month for _, months in answers for month in months if month >= since})
    if issued:
        raise AssignmentRefused(
            f"{issued[-1]:%B %Y} is already issued for {api_key.customer}: its usage cannot "
            f"move onto the key from {from_day}. Choose a day after {issued[-1]:%B %Y}."
        )


def _move(
    source: DayTable, target: DayTable, accessor: UnassignedAccessor, key: ApiKey, from_day: date
) -> tuple[int, int]:
    """Move the accessor's rows of `source` from `from_day` on into `target` as the key's,
    with their corrections. Returns (rows moved, rows the key held already)."""
    columns = ("day", *source.dimensions)
    rows = list(source.model.objects.filter(accessor=accessor, day__gte=from_day))
    held = set(
        target.model.objects.filter(**{target.owner: key.pk, "day__gte": from_day}).values_list(
            *columns
        )
    )
    moving = [row for row in rows if _natural(row, columns) not in held]
    target.model.objects.bulk_create(
        [
            target.model(
                **{target.owner: key.pk},
                **{name: getattr(row, name) for name in (*columns, *source.values)},
                first_seen_at=row.first_seen_at,
                changed_at=row.changed_at,
            )
            for row in moving
        ],
        batch_size=1000,
    )
    _move_corrections(source, target, moving, key, columns)
    source.model.objects.filter(pk__in=[row.pk for row in rows]).delete()
    return len(moving), len(rows) - len(moving)


def _move_corrections(source: DayTable, target: DayTable, moved: list, key, columns) -> None:
    """The corrections of the moved rows, re-made on the key's new rows (found by their
    natural key); the old ones go with their rows."""
    if not moved:
        return
    days = {row.day for row in moved}
    new_pk = {
        tuple(natural): pk
        for pk, *natural in target.model.objects.filter(
            **{target.owner: key.pk, "day__in": days}
        ).values_list("pk", *columns)
    }
    old_to_new = {row.pk: new_pk[_natural(row, columns)] for row in moved}
    names = ["run_id", "at", *(f"{age}_{v}" for v in source.values for age in ("old", "new"))]
    corrections = source.correction.objects.filter(**{f"{source.corrected}__in": old_to_new})
    target.correction.objects.bulk_create(
        [
            target.correction(
                **{target.corrected: old_to_new[getattr(c, source.corrected)]},
                **{name: getattr(c, name) for name in names},
            )
            for c in corrections
        ],
        batch_size=1000,
    )


def _natural(row, columns) -> tuple:
    return tuple(getattr(row, name) for name in columns)
