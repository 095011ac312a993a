"""Which line item Deepgram bills a row of usage as: a mapping table, seeded, edited by finance.

Deepgram does not document how the (endpoint, method, model) of its usage maps to the line items
of its billing (`streaming::nova-3`, `sync::aura-2`, `agent::voice-agent`), so it is a table of
`LineItem`s and ordered `LineItemRule`s.

Rules:
- `seed_line_items(fields)` takes the `line_items` of Deepgram's billing fields ({code: label})
  and creates the line items it does not know (a code with an empty label, seen in the billing
  breakdown but not in the fields, is made with its code for a label, from the PATTERN). Labels
  follow Deepgram's until finance edits them (then the item is finance's). Once per line item it
  adds the rule of the code's known pattern, after every other rule: `method::model` is that
  method and model, on the `speak` endpoint for Aura models and `listen` for the others;
  `agent::model` is the `agent` endpoint and `read::model` the `read` endpoint, any method. A
  rule finance added, edited or deleted is never touched again; an item finance made gets none.
- `line_item_of(endpoint, method, model)`: rules are tried by position (then id), the first
  that matches wins. A rule's empty endpoint or method matches any; its model pattern is a glob,
  case-insensitive, on names compared with spaces, hyphens and underscores alike, so a rule for
  `nova-3` matches "nova-3", "Nova-3" and "Nova - 3". A row whose endpoint was not reported is
  matched on its method and model. Method `all` (not split) matches only a rule of any method.
- A row whose model was not reported (model "") is the fixed `model-not-reported` line item,
  whatever the rules say: it is never priced as a model.
- None is "unmapped": the row is kept and shown as unmapped, never dropped nor priced by guess.
- What finance saves in the admin is marked as finance's (`finance_edited`): a rule added or
  changed, a label changed. The fixed line item is read-only.
- `LineItemMapping.load()` reads every item and rule in one query, then maps any number of rows
  in memory (each distinct dimension tuple is matched once).
"""

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from .models import Endpoint, LineItem, LineItemRule

NOT_REPORTED = "model-not-reported"
NOT_REPORTED_LABEL = "Model not reported"
UNMAPPED_LABEL = "Unmapped"
_SEPARATORS = re.compile(r"[\s_-]+")


def normalize_model(name: str) -> str:
    """A model name (or pattern) as the mapping compares it: lower case, each run of spaces,
    hyphens and underscores one hyphen ("Nova - 3" and "nova_3" are "nova-3")."""
    return _SEPARATORS.sub("-", name.strip().lower())


def rule_of_code(code: str) -> tuple[str, str, str] | None:
    """(endpoint, method, model pattern) of a line item code's known pattern; None for a code
    of no known shape (finance maps it by hand)."""
    prefix, separator, model = code.partition("::")
    if not (separator and prefix and model):
        return None
    if prefix == "agent":
        return Endpoint.AGENT, "", model
    if prefix == "read":
        return Endpoint.READ, "", model
    endpoint = Endpoint.SPEAK if normalize_model(model).startswith("aura") else Endpoint.LISTEN
    return endpoint, prefix, model


@dataclass(frozen=True)
class _Rule:
    endpoint: str
    method: str
    pattern: str  # normalized
    item: LineItem

    def matches(self, endpoint: str, method: str, model: str) -> bool:
        return (
            (not self.endpoint or not endpoint or self.endpoint == endpoint)
            and (not self.method or self.method == method)
            and fnmatchcase(model, self.pattern)
        )


@dataclass
class LineItemMapping:
    """Every rule in order and every line item by code, read once; `of` maps in memory."""

    rules: list[_Rule]
    items: dict[str, LineItem]
    _seen: dict[tuple[str, str, str], LineItem | None] = field(default_factory=dict)

    @classmethod
    def load(cls) -> "LineItemMapping":
        """Every line item with its rules, in one query (one more, once, to restore the fixed
        `model-not-reported` item if it went missing)."""
        items: dict[str, LineItem] = {}
        rules = []
        for pk, code, label, source, endpoint, method, pattern in LineItem.objects.values_list(
            "pk",
            "code",
            "label",
            "source",
            "rules__endpoint",
            "rules__method",
            "rules__model_pattern",
        ).order_by("rules__position", "rules__pk"):
            item = items.setdefault(code, LineItem(pk=pk, code=code, label=label, source=source))
            if pattern is not None:
                rules.append(_Rule(endpoint, method, normalize_model(pattern), item))
        if NOT_REPORTED not in items:
            items[NOT_REPORTED] = _not_reported_item()
        return cls(rules=rules, items=items)

    @property
    def not_reported(self) -> LineItem:
        return self.items[NOT_REPORTED]

    def of(self, endpoint: str, method: str, model: str) -> LineItem | None:
        """The line item of a row's dimensions; None when no rule maps it (unmapped)."""
        key = (endpoint, method, model)
        if key not in self._seen:
            self._seen[key] = self._match(endpoint, method, model)
        return self._seen[key]

    def _match(self, endpoint: str, method: str, model: str) -> LineItem | None:
        if not model:
            return self.not_reported
        name = normalize_model(model)
        return next((r.item for r in self.rules if r.matches(endpoint, method, name)), None)

    def label_of(self, endpoint: str, method: str, model: str) -> str:
        """What a list shows for a row: the line item's label, or "Unmapped"."""
        item = self.of(endpoint, method, model)
        return item.label if item else UNMAPPED_LABEL


def line_item_of(
    endpoint: str, method: str, model: str, *, mapping: LineItemMapping | None = None
) -> LineItem | None:
    """The line item Deepgram bills a row of these dimensions as, or None (unmapped). For many
    rows, load one `LineItemMapping` and pass it (one query in all)."""
    return (mapping or LineItemMapping.load()).of(endpoint, method, model)


def finance_edited(obj: LineItem | LineItemRule, *, user) -> None:
    """Mark a line item (its label) or a rule as finance's before it is saved from the admin:
    seeding never touches it again."""
    if isinstance(obj, LineItemRule):
        obj.source, obj.changed_by, obj.changed_at = (
            LineItemRule.Source.FINANCE,
            user,
            timezone.now(),
        )
    elif obj.source != LineItem.Source.FIXED:
        obj.source = LineItem.Source.FINANCE


def _not_reported_item() -> LineItem:
    item, _ = LineItem.objects.get_or_create(
        code=NOT_REPORTED, defaults={"label": NOT_REPORTED_LABEL, "source": LineItem.Source.FIXED}
    )
    return item


@dataclass
class SeedOutcome:
    created: int = 0
    relabelled: int = 0
    rules: int = 0


def seed_line_items(fields: dict[str, str]) -> SeedOutcome:
    """Create the line items of Deepgram's billing fields ({code: label}) that are missing,
    follow Deepgram's labels where finance has not edited them, and add the known pattern's
    rule once per line item (see the module's rules). Safe to run twice, or twice at once."""
    fields = {code: label for code, label in fields.items() if code and code != NOT_REPORTED}
    outcome = SeedOutcome()
    if not fields:
        return outcome
    with transaction.atomic():
        known = set(LineItem.objects.filter(code__in=fields).values_list("code", flat=True))
        new = [
            LineItem(code=code, label=label or code, source=_source_of(label))
            for code, label in fields.items()
            if code not in known
        ]
        LineItem.objects.bulk_create(new, ignore_conflicts=True)  # a seed at the same time
        items = list(LineItem.objects.select_for_update().filter(code__in=fields).order_by("code"))
        outcome.created = len(items) - len(known)
        outcome.relabelled = _follow_labels(items, fields, known)
        outcome.rules = _seed_rules(items)
    return outcome


def _source_of(label: str) -> str:
    return LineItem.Source.BILLING_FIELDS if label else LineItem.Source.PATTERN


def _follow_labels(items: list[LineItem], fields: dict[str, str], known: set[str]) -> int:
    """Known items that are not finance's take Deepgram's label (an item made from the
    pattern becomes one of the billing fields once Deepgram names it)."""
    relabelled = []
    for item in items:
        label = fields[item.code]
        following = item.source in (LineItem.Source.BILLING_FIELDS, LineItem.Source.PATTERN)
        if item.code in known and label and following and item.label != label:
            item.label, item.source = label, LineItem.Source.BILLING_FIELDS
            relabelled.append(item)
    LineItem.objects.bulk_update(relabelled, ["label", "source"])
    return len(relabelled)


def _seed_rules(items: list[LineItem]) -> int:
    """The known pattern's rule of each item that never had it (not finance's items), after
    every rule there is, so that finance's rules come first."""
    todo = [i for i in items if not i.pattern_seeded and i.source != LineItem.Source.FINANCE]
    if not todo:
        return 0
    position = LineItemRule.objects.aggregate(last=Max("position"))["last"] or 0
    rules = []
    for item in todo:
        pattern = rule_of_code(item.code)
        if pattern is not None:
            position += 10
            endpoint, method, model = pattern
            rules.append(
                LineItemRule(
                    line_item=item,
                    position=position,
                    endpoint=endpoint,
                    method=method,
                    model_pattern=model,
                    source=LineItemRule.Source.PATTERN,
                )
            )
        item.pattern_seeded = True
    LineItemRule.objects.bulk_create(rules)
    LineItem.objects.filter(pk__in=[i.pk for i in todo]).update(pattern_seeded=True)
    return len(rules)
