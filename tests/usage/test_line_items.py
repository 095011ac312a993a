"""The line-item mapping: seeding from Deepgram's billing fields, the known patterns, model
names spelled as ids or display names, first match wins, finance's edits kept, the rows whose
model was not reported, and unmapped rows (None, never a guess)."""

import pytest

from usage.line_items import (
    NOT_REPORTED,
    LineItemMapping,
    line_item_of,
    normalize_model,
    rule_of_code,
    seed_line_items,
)
from usage.models import LineItem, LineItemRule

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
