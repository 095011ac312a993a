"""The sync asks Deepgram per project: four calls a range of days, every key's usage by line
item and its dollars, the accessors that are no customer's key, and a reconciliation against
the project's own totals; the per-key fallback where groupings do not combine."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing_portal.deepgram import client_from_settings
from customers.models import DeepgramProject
from usage.line_items import line_item_of, seed_line_items
from usage.models import (
    UNITS,
    DailyCost,
    DailyUsage,
    KeySyncState,
    SyncRun,
    UnassignedAccessor,
    UnassignedCost,
    UnassignedUsage,
    UsageCorrection,
)
from usage.services import accessor_assign, usage_sync_run

START, END = date(2026, 10, 1), date(2026, 10, 31)
CREATED = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture
def keys(make_key, customer_a, customer_b):
    return [make_key(c, created=CREATED) for c in (customer_a, customer_b, customer_a)]


def sync(keys, **options) -> SyncRun:
    run = usage_sync_run(
        trigger=SyncRun.Trigger.COMMAND,
        key_ids=[key.pk for key in keys],
        start=START,
        end=END,
        **options,
    )
    return SyncRun.objects.get(pk=run.pk)


def truth(key, spelling="models") -> tuple[dict, dict]:
    """What Deepgram says of one key, asked with the key as a filter: its usage by (day,
    endpoint, method, model) in every unit, and its dollars by (day, line item)."""
    client, project = client_from_settings(), key.project.project_id
    usage = client.usage_breakdown(
        project,
        start=START,
        end=END,
        accessor=key.key_id,
        grouping=["endpoint", "method", spelling],
    )
    cost = client.billing_breakdown(
        project, start=START, end=END, accessor=key.key_id, grouping=["line_item"]
    )
    return (
        {
            (r.grouping.start, r.grouping.endpoint, r.grouping.method, r.grouping.models[0]): (
                tuple(getattr(r, unit) for unit in UNITS)
            )
            for r in usage.results
        },
        {(r.grouping.start, r.grouping.line_item): r.dollars for r in cost.results},
    )


def stored(key) -> tuple[dict, dict]:
    usage = {
        (day, endpoint, method, model): tuple(values)
        for day, endpoint, method, model, *values in DailyUsage.objects.filter(
            api_key=key
        ).values_list("day", "endpoint", "method", "model", *UNITS)
    }
    cost = dict(
        ((day, line_item), dollars)
        for day, line_item, dollars in DailyCost.objects.filter(api_key=key).values_list(
            "day", "line_item", "dollars"
        )
    )
    return usage, cost


@pytest.mark.parametrize("combine", [True, False], ids=["groupings-combine", "per-key-fallback"])
@pytest.mark.parametrize("split", [False, True], ids=["unsplit", "split-by-method"])
def test_it_stores_exactly_what_deepgram_says_of_every_key(
    keys, sandbox, default_project, combine, split
):
    expected = [truth(key) for key in keys]
    sandbox.configure(combine_groupings=combine)
    default_project.split_usage_by_method = split
    default_project.save()

    run = sync(keys)

    assert (run.status, run.keys_ok, run.differences) == (SyncRun.Status.SUCCEEDED, 3, [])
    assert [stored(key) for key in keys] == expected
    endpoints = {row[1] for key in keys for row in stored(key)[0]}
    assert endpoints == {"listen", "speak", "agent", "read"}
    default_project.refresh_from_db()
    assert default_project.groupings_combine is combine
    if combine:
        # Four calls for the whole window (31 days x 4 keys fit one range), and its fields.
        assert run.calls_by_endpoint == {
            "usage/breakdown": 2,
            "billing/breakdown": 2,
            "billing/fields": 1,
        }
    else:
        # The accessors with usage, then each one's endpoints, methods and models.
        assert run.calls_by_endpoint["usage/breakdown"] > 4 * len(keys)
        assert run.calls_by_endpoint["billing/breakdown"] == 2


def test_a_day_at_a_time_where_answers_must_stay_small(keys, sandbox, settings):
    settings.USAGE_SYNC_KEY_DAYS_PER_CALL = 4  # four keys (and the console's): a day a call

    run = sync(keys)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.api_calls == 4 * 31 + 1  # four calls a day of the window, and its fields once
    for key in keys:
        assert stored(key) == truth(key)


def test_it_changes_nothing_the_second_time(keys):
    sync(keys)
    before = sorted(DailyUsage.objects.values_list()), sorted(DailyCost.objects.values_list())

    again = sync(keys)

    assert (again.rows_created, again.rows_changed) == (0, 0)
    assert (sorted(DailyUsage.objects.values_list()), sorted(DailyCost.objects.values_list())) == (
        before
    )
    assert not UsageCorrection.objects.exists()


def test_late_corrections_of_usage_and_dollars_are_applied(keys, sandbox):
    sync(keys)
    day = date(2026, 10, 30)
    line = DailyUsage.objects.filter(api_key=keys[1], day=day, endpoint="listen").first()
    sandbox.set_usage(
        keys[1].key_id, day, hours="2", requests=3, method=line.method, model=line.model
    )

    run = sync(keys)

    line.refresh_from_db()
    assert (line.hours, line.requests) == (Decimal("2.000000"), 3)
    assert UsageCorrection.objects.get(usage=line).run_id == run.pk
    assert stored(keys[1]) == truth(keys[1])
    assert run.rows_changed == 1


def test_accessors_that_are_no_customers_key_are_stored_unassigned(keys, sandbox):
    stranger = sandbox.add_key("Staff key", created=CREATED)["api_key_id"]

    sync(keys)

    accessors = set(UnassignedAccessor.objects.values_list("accessor", flat=True))
    assert stranger in accessors  # and the project's console key, which has usage too
    assert not accessors & {key.key_id for key in keys}
    record = UnassignedAccessor.objects.get(accessor=stranger)
    usage = UnassignedUsage.objects.filter(accessor=record)
    assert usage.exists() and UnassignedCost.objects.filter(accessor=record).exists()
    # Everything Deepgram reported is somewhere: the keys' rows and the unassigned add up.
    total = DailyUsage.objects.filter(day=START).values_list("requests", flat=True)
    loose = UnassignedUsage.objects.filter(day=START).values_list("requests", flat=True)
    whole = client_from_settings().usage_breakdown(
        keys[0].project.project_id, start=START, end=START
    )
    assert sum(total) + sum(loose) == whole.results[0].requests


def test_an_assigned_accessor_is_the_keys_from_its_day_on(
    keys, sandbox, make_customer, support_user, default_project
):
    from customers.services import api_key_import

    stranger = sandbox.add_key("Found later", created=CREATED, scopes=("usage:write",))
    sync(keys)
    record = UnassignedAccessor.objects.get(accessor=stranger["api_key_id"])
    customer = make_customer()
    key = api_key_import(
        project=default_project, key_id=record.accessor, customer=customer, actor=support_user
    )
    accessor_assign(accessor=record, api_key=key, from_day=date(2026, 10, 20), user=support_user)

    sync([*keys, key])

    days = set(DailyUsage.objects.filter(api_key=key).values_list("day", flat=True))
    assert min(days) == date(2026, 10, 20)
    loose = set(UnassignedUsage.objects.filter(accessor=record).values_list("day", flat=True))
    assert max(loose) < date(2026, 10, 20)
    assert stored(key)[0] == {k: v for k, v in truth(key)[0].items() if k[0] >= date(2026, 10, 20)}


def tables() -> list[list]:
    return [
        sorted(model.objects.values_list())
        for model in (DailyUsage, DailyCost, UsageCorrection, UnassignedUsage)
    ]


def test_a_grouping_applied_in_part_is_recorded_and_never_written(keys, sandbox, caplog):
    sync(keys)
    before = tables()
    sandbox.configure(drop_grouped_rows=7)

    run = sync(keys)

    assert run.differences, "the reconciliation must catch rows Deepgram left out"
    difference = run.differences[0]
    assert difference["project"] == keys[0].project.project_id
    assert Decimal(difference["grouped"]) < Decimal(difference["reported"])
    assert "Deepgram's project total is" in caplog.text
    # An incomplete answer cuts nothing: the keys fail, the operators are told.
    assert (run.status, run.errors_by_kind) == (SyncRun.Status.FAILED, {"UnreconciledError": 3})
    assert tables() == before


def test_models_named_by_display_name_map_to_their_line_items(keys, sandbox):
    sandbox.configure(model_names="display")
    client = client_from_settings()
    seed_line_items(client.billing_fields(keys[0].project.project_id).line_items)

    sync(keys)

    rows = DailyUsage.objects.filter(endpoint="listen")
    assert rows.filter(model="Nova-3").exists()
    mapped = {row.model: line_item_of(row.endpoint, row.method, row.model) for row in rows}
    assert all(item is not None for item in mapped.values())
    nova = next(r for r in rows if r.model == "Nova-3")
    assert line_item_of(nova.endpoint, nova.method, nova.model).code == f"{nova.method}::nova-3"


def test_dollars_with_float_noise_are_stored_exactly(keys, sandbox):
    exact = [truth(key)[1] for key in keys]
    sandbox.configure(float_noise=True)

    sync(keys)

    assert [stored(key)[1] for key in keys] == exact


def test_without_billing_read_usage_syncs_and_the_cost_is_said_missing_once(
    keys, sandbox, default_project
):
    expected = [truth(key)[0] for key in keys]
    sandbox.configure(billing_read=False)

    run = sync(keys)

    assert (run.status, run.keys_ok) == (SyncRun.Status.SUCCEEDED, 3)
    assert list(run.cost_unread) == [default_project.project_id]
    assert "billing:read" in run.cost_unread[default_project.project_id]
    assert DailyUsage.objects.exists() and not DailyCost.objects.exists()
    assert [stored(key)[0] for key in keys] == expected
    default_project.refresh_from_db()
    assert default_project.billing_readable is False


def test_it_learns_the_docs_spelling_of_the_model_grouping(keys, sandbox, default_project):
    sandbox.configure(model_grouping="model")

    run = sync(keys)

    assert run.status == SyncRun.Status.SUCCEEDED
    default_project.refresh_from_db()
    assert default_project.model_grouping == "model"
    assert all(stored(key) == truth(key, "model") for key in keys)


def test_a_run_that_fails_part_way_keeps_what_it_stored_and_resumes(keys, sandbox, settings):
    settings.USAGE_SYNC_KEY_DAYS_PER_CALL = 3 * 11  # three keys: eleven days a range
    settings.DEEPGRAM_MAX_RETRIES = 0
    expected = [truth(key) for key in keys]
    # The first range's four calls are answered; the second range's first one is not.
    sandbox.queue_fault("server_error", status=503, path="/usage", after=2)

    first = sync(keys, concurrency=1)

    assert (first.status, first.errors_by_kind) == (SyncRun.Status.FAILED, {"ServerError": 3})
    assert set(DailyUsage.objects.values_list("day", flat=True)) <= {
        date(2026, 10, day) for day in range(1, 12)
    }
    assert DailyUsage.objects.filter(day=date(2026, 10, 11)).exists()  # the first range stayed
    assert {state.synced_through for state in KeySyncState.objects.all()} == {date(2026, 10, 11)}

    second = usage_sync_run(
        trigger=SyncRun.Trigger.COMMAND, key_ids=[key.pk for key in keys], end=END
    )

    # From where each key got to, less the settlement window: 8 October on.
    assert (second.status, second.window_start) == (SyncRun.Status.SUCCEEDED, None)
    # 8..31 October: 24 days, three ranges (the line items are known since the first run).
    assert second.api_calls == 4 * 3
    assert [stored(key) for key in keys] == expected
    assert not UsageCorrection.objects.exists()
    assert DeepgramProject.objects.get().groupings_combine is True


def test_the_sync_seeds_the_line_items_from_the_billing_fields(keys):
    from usage.models import LineItem

    sync(keys)

    fields = client_from_settings().billing_fields(keys[0].project.project_id).line_items
    assert set(fields) <= set(LineItem.objects.values_list("code", flat=True))
    streaming = LineItem.objects.get(code="streaming::nova-3")
    assert streaming.label == fields["streaming::nova-3"] == "Nova - 3 (Stream)"
    # Every stored row maps to the line item Deepgram billed it as: nothing unmapped.
    for row in DailyUsage.objects.filter(requests__gt=0):
        item = line_item_of(row.endpoint, row.method, row.model)
        assert item is not None
        assert DailyCost.objects.filter(api_key=row.api_key, day=row.day, line_item=item.code)
