"""The line-item mapping: seeding from Deepgram's billing fields, the known patterns, model
names spelled as ids or display names, first match wins, finance's edits kept, the rows whose
model was not reported, and unmapped rows (None, never a guess); the admin where finance edits
it, and the daily usage list by endpoint, model and line item, with totals per unit."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from usage.line_items import (
    NOT_REPORTED,
    LineItemMapping,
    line_item_of,
    normalize_model,
    rule_of_code,
    seed_line_items,
)
from usage.models import DailyUsage, LineItem, LineItemRule

pytestmark = pytest.mark.django_db

# Deepgram's billing fields of the sandbox's pretend account (tests/issue13 contract).
FIELDS = {
    "streaming::nova-3": "Nova - 3 (Stream)",
    "sync::nova-3": "Nova - 3 (Pre-recorded)",
    "async::nova-3": "Nova - 3 (Pre-recorded)",
    "streaming::nova-3-multilingual": "Nova - 3 Multilingual (Stream)",
    "sync::nova-2": "Nova - 2 (Pre-recorded)",
    "async::whisper-large": "Whisper Large (Pre-recorded)",
    "sync::aura-2": "Aura - 2 (Text to speech)",
    "streaming::aura-1": "Aura - 1 (Text to speech)",
    "agent::voice-agent": "Voice Agent",
    "read::text-intelligence": "Text intelligence (tokens)",
}


@pytest.fixture
def client(db):
    """The web client (the usage conftest's `client` is the Deepgram one)."""
    return Client()


def code_of(endpoint, method, model, mapping=None):
    item = line_item_of(endpoint, method, model, mapping=mapping)
    return item.code if item else None


# --- Known patterns -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("streaming::nova-3", ("listen", "streaming", "nova-3")),
        ("async::whisper-large", ("listen", "async", "whisper-large")),
        ("sync::aura-2", ("speak", "sync", "aura-2")),
        ("streaming::Aura-1", ("speak", "streaming", "Aura-1")),
        ("agent::voice-agent", ("agent", "", "voice-agent")),
        ("read::text-intelligence", ("read", "", "text-intelligence")),
        ("nova-3", None),
        ("::nova-3", None),
        ("streaming::", None),
    ],
)
def test_it_reads_the_known_pattern_of_a_code(code, rule):
    assert rule_of_code(code) == rule


@pytest.mark.parametrize(
    ("name", "normal"),
    [
        ("nova-3", "nova-3"),
        ("Nova-3", "nova-3"),
        ("Nova - 3", "nova-3"),
        ("NOVA_3", "nova-3"),
        ("Nova-3 Multilingual", "nova-3-multilingual"),
        ("  Whisper   Large ", "whisper-large"),
    ],
)
def test_it_compares_model_names_with_separators_alike(name, normal):
    assert normalize_model(name) == normal


# --- Seeding --------------------------------------------------------------------------------


def test_it_seeds_a_line_item_and_one_rule_per_code():
    outcome = seed_line_items(FIELDS)

    assert (outcome.created, outcome.rules) == (len(FIELDS), len(FIELDS))
    item = LineItem.objects.get(code="streaming::nova-3")
    assert (item.label, item.source) == ("Nova - 3 (Stream)", LineItem.Source.BILLING_FIELDS)
    rule = item.rules.get()
    assert (rule.endpoint, rule.method, rule.model_pattern) == ("listen", "streaming", "nova-3")
    assert rule.source == LineItemRule.Source.PATTERN


def test_it_seeds_nothing_new_the_second_time():
    seed_line_items(FIELDS)
    rules = list(LineItemRule.objects.values())

    again = seed_line_items(FIELDS)

    assert (again.created, again.relabelled, again.rules) == (0, 0, 0)
    assert list(LineItemRule.objects.values()) == rules


def test_it_follows_deepgrams_new_label():
    seed_line_items({"sync::nova-3": "Nova 3 batch"})

    outcome = seed_line_items({"sync::nova-3": "Nova - 3 (Pre-recorded)"})

    assert outcome.relabelled == 1
    assert LineItem.objects.get(code="sync::nova-3").label == "Nova - 3 (Pre-recorded)"


def test_it_makes_a_code_without_a_label_from_the_pattern_and_names_it_later():
    seed_line_items({"streaming::nova-2": ""})
    item = LineItem.objects.get(code="streaming::nova-2")
    assert (item.label, item.source) == ("streaming::nova-2", LineItem.Source.PATTERN)

    seed_line_items({"streaming::nova-2": "Nova - 2 (Stream)"})

    item.refresh_from_db()
    assert (item.label, item.source) == ("Nova - 2 (Stream)", LineItem.Source.BILLING_FIELDS)
    assert item.rules.count() == 1


def test_it_keeps_a_label_finance_edited():
    seed_line_items({"sync::nova-3": "Nova - 3 (Pre-recorded)"})
    LineItem.objects.filter(code="sync::nova-3").update(
        label="Batch transcription", source=LineItem.Source.FINANCE
    )

    seed_line_items({"sync::nova-3": "Nova - 3 (Pre-recorded, new label)"})

    assert LineItem.objects.get(code="sync::nova-3").label == "Batch transcription"


def test_it_keeps_a_rule_finance_edited():
    seed_line_items(FIELDS)
    rule = LineItemRule.objects.get(line_item__code="sync::aura-2")
    rule.model_pattern, rule.source = "aura-2*", LineItemRule.Source.FINANCE
    rule.save()

    seed_line_items(FIELDS)

    assert list(
        LineItemRule.objects.filter(line_item__code="sync::aura-2").values_list(
            "model_pattern", "source"
        )
    ) == [("aura-2*", "finance")]


def test_it_does_not_bring_back_a_rule_finance_deleted():
    seed_line_items(FIELDS)
    LineItemRule.objects.filter(line_item__code="async::whisper-large").delete()

    seed_line_items(FIELDS)

    assert not LineItemRule.objects.filter(line_item__code="async::whisper-large").exists()
    assert code_of("listen", "async", "whisper-large") is None


def test_it_adds_no_rule_to_a_line_item_finance_made():
    LineItem.objects.create(code="sync::nova-3", label="Ours", source=LineItem.Source.FINANCE)

    seed_line_items({"sync::nova-3": "Nova - 3 (Pre-recorded)"})

    item = LineItem.objects.get(code="sync::nova-3")
    assert (item.label, item.rules.count()) == ("Ours", 0)


def test_it_seeds_rules_after_finances_rules():
    mine = LineItem.objects.create(code="custom::nova", label="Nova, any", source="finance")
    LineItemRule.objects.create(line_item=mine, position=500, model_pattern="nova*")

    seed_line_items({"streaming::nova-3": "Nova - 3 (Stream)"})

    seeded = LineItemRule.objects.get(line_item__code="streaming::nova-3")
    assert seeded.position > 500
    assert code_of("listen", "streaming", "nova-3") == "custom::nova"  # finance's comes first


def test_it_never_seeds_over_the_fixed_line_item():
    seed_line_items({NOT_REPORTED: "Something else"})

    item = LineItem.objects.get(code=NOT_REPORTED)
    assert (item.label, item.source) == ("Model not reported", LineItem.Source.FIXED)
    assert not item.rules.exists()


# --- Mapping --------------------------------------------------------------------------------


@pytest.fixture
def seeded():
    seed_line_items(FIELDS)
    return LineItemMapping.load()


@pytest.mark.parametrize(
    ("row", "code"),
    [
        (("listen", "streaming", "nova-3"), "streaming::nova-3"),
        (("listen", "streaming", "Nova-3"), "streaming::nova-3"),
        (("listen", "streaming", "Nova - 3"), "streaming::nova-3"),
        (("listen", "sync", "NOVA-3"), "sync::nova-3"),
        (("listen", "streaming", "Nova-3 Multilingual"), "streaming::nova-3-multilingual"),
        (("listen", "async", "Whisper Large"), "async::whisper-large"),
        (("speak", "sync", "Aura-2"), "sync::aura-2"),
        (("speak", "streaming", "aura-1"), "streaming::aura-1"),
        (("agent", "streaming", "Voice Agent"), "agent::voice-agent"),
        (("read", "sync", "Text Intelligence"), "read::text-intelligence"),
        (("", "streaming", "nova-3"), "streaming::nova-3"),  # endpoint not reported
    ],
)
def test_it_maps_ids_and_display_names_to_the_line_item(seeded, row, code):
    assert code_of(*row, mapping=seeded) == code


@pytest.mark.parametrize(
    "row",
    [
        ("listen", "streaming", "nova-4"),  # a model nobody mapped yet
        ("listen", "async", "nova-3-medical"),  # a prefix is not the model
        ("speak", "streaming", "nova-3"),  # the wrong endpoint for that rule
        ("listen", "all", "nova-3"),  # not split by method: no method's line item
        ("listen", "streaming", "whisper-large"),  # only async was listed
    ],
)
def test_it_leaves_what_no_rule_maps_unmapped(seeded, row):
    assert line_item_of(*row, mapping=seeded) is None
    assert seeded.label_of(*row) == "Unmapped"


@pytest.mark.parametrize(
    "row", [("", "all", ""), ("", "streaming", ""), ("listen", "sync", ""), ("speak", "sync", "")]
)
def test_it_maps_a_row_without_a_model_to_the_fixed_line_item(seeded, row):
    item = line_item_of(*row, mapping=seeded)

    assert item.code == NOT_REPORTED and item.pk is not None
    assert seeded.label_of(*row) == "Model not reported"


def test_it_maps_a_row_without_a_model_so_whatever_the_rules_say(seeded):
    anything = LineItem.objects.create(code="all::anything", label="Anything")
    LineItemRule.objects.create(line_item=anything, position=0, model_pattern="*")

    assert code_of("", "all", "", mapping=LineItemMapping.load()) == NOT_REPORTED


def test_it_takes_the_first_rule_that_matches():
    first = LineItem.objects.create(code="x::first", label="First")
    second = LineItem.objects.create(code="x::second", label="Second")
    LineItemRule.objects.create(line_item=second, position=20, model_pattern="nova-*")
    LineItemRule.objects.create(line_item=first, position=10, model_pattern="nova-3")
    LineItemRule.objects.create(line_item=first, position=30, model_pattern="*")

    mapping = LineItemMapping.load()

    assert code_of("listen", "sync", "Nova-3", mapping) == "x::first"
    assert code_of("listen", "sync", "Nova-2", mapping) == "x::second"
    assert code_of("speak", "sync", "aura-2", mapping) == "x::first"


def test_it_matches_globs_case_insensitively():
    item = LineItem.objects.create(code="sync::aura-2", label="Aura - 2")
    LineItemRule.objects.create(
        line_item=item, endpoint="speak", method="sync", model_pattern="Aura-2*"
    )
    mapping = LineItemMapping.load()

    assert code_of("speak", "sync", "aura-2-thalia-en", mapping) == "sync::aura-2"
    assert code_of("speak", "sync", "AURA 2 Thalia", mapping) == "sync::aura-2"
    assert code_of("speak", "async", "aura-2", mapping) is None


def test_it_reads_the_rules_once_for_many_rows(seeded, django_assert_num_queries):
    rows = [("listen", m, f"nova-{n}") for m in ("sync", "streaming") for n in range(2, 5)] * 500
    with django_assert_num_queries(1):
        mapping = LineItemMapping.load()
        codes = {code_of(*row, mapping) for row in rows}

    assert codes == {"sync::nova-3", "sync::nova-2", "streaming::nova-3", None}


def test_it_sees_a_finance_edit_on_the_next_load(seeded):
    rule = LineItemRule.objects.get(line_item__code="streaming::nova-3")
    rule.model_pattern = "nova-3*"
    rule.save()

    assert code_of("listen", "streaming", "nova-3-medical", seeded) is None
    assert code_of("listen", "streaming", "nova-3-medical") == "streaming::nova-3"


def test_it_lists_the_fixed_line_item_even_after_a_flush():
    LineItem.objects.filter(code=NOT_REPORTED).delete()

    mapping = LineItemMapping.load()

    assert mapping.not_reported.code == NOT_REPORTED
    assert LineItem.objects.filter(code=NOT_REPORTED, source="fixed").exists()


# --- Admin: finance edits the mapping, support reads it ---------------------------------------

LINE_ITEMS = reverse("admin:usage_lineitem_changelist")


def change_form(item, *, label=None, rules=()):
    """The line item's change form as posted: its label and its rules (existing ones by id)."""
    data = {
        "label": label or item.label,
        "rules-TOTAL_FORMS": str(len(rules)),
        "rules-INITIAL_FORMS": str(sum(1 for r in rules if r.get("id"))),
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "1000",
    }
    for n, rule in enumerate(rules):
        for name, value in {"line_item": item.pk, **rule}.items():
            data[f"rules-{n}-{name}"] = value
    return data


def rule_data(rule, **changes):
    fields = {"id": rule.pk, "position": rule.position, "endpoint": rule.endpoint}
    fields |= {"method": rule.method, "model_pattern": rule.model_pattern}
    return fields | changes


def test_finance_edits_a_rule_and_seeding_keeps_it(finance, finance_user):
    seed_line_items(FIELDS)
    item = LineItem.objects.get(code="sync::aura-2")
    url = reverse("admin:usage_lineitem_change", args=[item.pk])

    response = finance.post(
        url, change_form(item, rules=[rule_data(item.rules.get(), model_pattern="aura-2*")])
    )

    assert response.status_code == 302
    rule = item.rules.get()
    assert (rule.model_pattern, rule.source, rule.changed_by) == (
        "aura-2*",
        LineItemRule.Source.FINANCE,
        finance_user,
    )
    seed_line_items(FIELDS)
    assert list(item.rules.values_list("model_pattern", flat=True)) == ["aura-2*"]
    assert code_of("speak", "sync", "aura-2-thalia-en") == "sync::aura-2"


def test_finance_adds_a_rule_and_relabels_a_line_item(finance):
    seed_line_items(FIELDS)
    item = LineItem.objects.get(code="streaming::nova-3")
    new = {
        "position": "5",
        "endpoint": "listen",
        "method": "streaming",
        "model_pattern": "nova-3-*",
    }

    finance.post(
        reverse("admin:usage_lineitem_change", args=[item.pk]),
        change_form(item, label="Streaming, Nova 3", rules=[rule_data(item.rules.get()), new]),
    )

    item.refresh_from_db()
    assert (item.label, item.source) == ("Streaming, Nova 3", LineItem.Source.FINANCE)
    assert code_of("listen", "streaming", "nova-3-medical") == "streaming::nova-3"
    seed_line_items(FIELDS)
    item.refresh_from_db()
    assert item.label == "Streaming, Nova 3"


def test_support_reads_the_mapping_but_changes_nothing(support):
    seed_line_items(FIELDS)
    item = LineItem.objects.get(code="sync::nova-3")
    url = reverse("admin:usage_lineitem_change", args=[item.pk])

    assert support.get(LINE_ITEMS).status_code == 200
    page = support.get(url)
    assert page.status_code == 200 and 'name="_save"' not in page.text
    assert support.post(url, change_form(item, label="Mine")).status_code == 403
    item.refresh_from_db()
    assert item.label == "Nova - 3 (Pre-recorded)"


def test_nobody_edits_or_deletes_the_fixed_line_item(finance):
    item = LineItem.objects.get(code=NOT_REPORTED)

    assert (
        finance.post(
            reverse("admin:usage_lineitem_change", args=[item.pk]), change_form(item, label="X")
        ).status_code
        == 403
    )
    assert (
        finance.post(
            reverse("admin:usage_lineitem_delete", args=[item.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert LineItem.objects.get(code=NOT_REPORTED).label == "Model not reported"


def test_other_staff_do_not_see_the_line_items(client, other_staff):
    client.force_login(other_staff)

    assert client.get(LINE_ITEMS).status_code == 403


# Session, user, permissions (2); the count, the full count, the page (with its rule counts).
LINE_ITEM_LIST_QUERIES = 7


@pytest.mark.parametrize("items", [3, 30])
def test_it_lists_line_items_in_a_fixed_number_of_queries(finance_user, list_in_queries, items):
    seed_line_items({f"sync::model-{n}": f"Model {n}" for n in range(items)})

    shown = list_in_queries(LINE_ITEMS, user=finance_user, queries=LINE_ITEM_LIST_QUERIES)

    assert len(shown) == items + 1  # and the fixed one


# --- Admin: the daily usage list by endpoint, model and line item -----------------------------

USAGE = reverse("admin:usage_dailyusage_changelist")
DAY = date(2026, 10, 3)


@pytest.fixture
def by_model(customer_a, key_of):
    """A key's day of every kind of usage, and a row synced before models were."""
    seed_line_items(FIELDS)
    key = key_of(customer_a)
    now = timezone.now()
    made = {}
    for endpoint, method, model, units in [
        ("listen", "streaming", "Nova-3", {"hours": D("1.5"), "total_hours": D("3")}),
        ("listen", "streaming", "nova-4", {"hours": D("0.25"), "total_hours": D("0.25")}),
        ("speak", "sync", "aura-2", {"tts_characters": 91588}),
        ("agent", "streaming", "voice-agent", {"agent_hours": D("0.4134")}),
        ("", "all", "", {"hours": D("2"), "total_hours": D("2")}),
    ]:
        made[model or "-"] = DailyUsage.objects.create(
            api_key=key,
            day=DAY,
            endpoint=endpoint,
            method=method,
            model=model,
            requests=1,
            first_seen_at=now,
            changed_at=now,
            **units,
        )
    return made


def models_listed(client, **query) -> set[str]:
    response = client.get(USAGE, query)
    assert response.status_code == 200
    return {row.model for row in response.context["cl"].result_list}


def test_it_filters_usage_by_endpoint(support, by_model):
    assert models_listed(support, endpoint__exact="speak") == {"aura-2"}


def test_it_filters_usage_by_model(support, by_model):
    assert models_listed(support, model="nova-4") == {"nova-4"}
    assert models_listed(support, model="-") == {""}


@pytest.mark.parametrize(
    ("code", "models"),
    [
        ("streaming::nova-3", {"Nova-3"}),
        ("sync::aura-2", {"aura-2"}),
        ("agent::voice-agent", {"voice-agent"}),
        (NOT_REPORTED, {""}),
        ("unmapped", {"nova-4"}),
        ("sync::nova-2", set()),
    ],
)
def test_it_filters_usage_by_line_item(support, by_model, code, models):
    assert models_listed(support, line_item=code) == models


def test_it_shows_each_rows_line_item(support, by_model):
    response = support.get(USAGE)

    labels = {row.model: row.line_item_label for row in response.context["cl"].result_list}
    assert labels == {
        "Nova-3": "Nova - 3 (Stream)",
        "nova-4": "Unmapped",
        "aura-2": "Aura - 2 (Text to speech)",
        "voice-agent": "Voice Agent",
        "": "Model not reported",
    }
    assert "Unmapped" in response.text and "Model not reported" in response.text


def test_it_totals_every_unit_the_filtered_rows_have(support, by_model):
    response = support.get(USAGE)

    assert response.context["totals"] == {
        "hours": D("3.750000"),
        "total_hours": D("5.250000"),
        "agent_hours": D("0.413400"),
        "tts_characters": 91588,
        "requests": 5,
    }
    assert (
        "<strong>3.750000</strong> hours,\n  <strong>5.250000</strong> total hours,\n  "
        "<strong>0.413400</strong> agent hours,\n  <strong>91588</strong> TTS characters,\n  "
        "<strong>5</strong> requests."
    ) in response.text


def test_it_totals_the_rows_of_one_line_item(support, by_model):
    response = support.get(USAGE, {"line_item": "sync::aura-2"})

    assert response.context["totals"] == {
        "hours": D(0),
        "total_hours": D(0),
        "tts_characters": 91588,
        "requests": 1,
    }


# The daily usage list's count (tests/usage/test_admin_usage.py) with the line item filter on:
# the same, and one query more for the distinct dimensions that the filter maps.
FILTERED_USAGE_QUERIES = 12


@pytest.mark.parametrize("rows", [3, 40])
def test_it_filters_by_line_item_in_a_fixed_number_of_queries(
    support_user, customer_a, key_of, list_in_queries, rows
):
    seed_line_items(FIELDS)
    key, now = key_of(customer_a), timezone.now()
    for n in range(rows):
        DailyUsage.objects.create(
            api_key=key,
            day=date(2026, 10, 1 + n // 4),
            endpoint="listen",
            method=("sync", "async", "streaming", "all")[n % 4],
            model=("nova-3", "Nova-3", "Nova - 3")[n % 3],
            hours=D(1),
            total_hours=D(1),
            first_seen_at=now,
            changed_at=now,
        )

    shown = list_in_queries(
        USAGE, user=support_user, queries=FILTERED_USAGE_QUERIES, line_item="sync::nova-3"
    )

    assert {(row.method, row.line_item_label) for row in shown} == {
        ("sync", "Nova - 3 (Pre-recorded)")
    }
