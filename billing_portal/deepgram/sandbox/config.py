"""The sandbox's switches: shapes where Deepgram's sources disagree (deepgram-api.md section 6),
and modes in which it answers wrong the way a real upstream can be.

The envelopes default to the ones the official SDK reads (`item`, `wrapped`); our client reads
both. `reset()` brings every switch back to its default.
"""

from dataclasses import dataclass

CHOICES = {
    "key_envelope": ("flat", "item"),
    "request_envelope": ("flat", "wrapped"),
    "model_grouping": ("models", "model", "both"),
    "model_names": ("id", "display"),
}
FLAGS = ("summary_extras", "combine_groupings", "float_noise")


@dataclass
class Config:
    key_envelope: str = "item"
    request_envelope: str = "wrapped"
    summary_extras: bool = True
    # Usage breakdown: whether several groupings combine in one answer, how the model grouping
    # is spelt, how models are named, and every how-many-th grouped row is left out (0: none).
    combine_groupings: bool = True
    model_grouping: str = "models"
    model_names: str = "id"
    drop_grouped_rows: int = 0
    # Billing: dollars written as floats one step off; billing:read True (every project has
    # it), False (none has) or a list of the project ids that lack it.
    float_noise: bool = False
    billing_read: bool | tuple[str, ...] = True

    def update(self, **changes) -> None:
        """Set switches; an unknown name or a bad value is a ValueError and changes nothing."""
        checked = {name: _checked(name, value) for name, value in changes.items()}
        for name, value in checked.items():
            setattr(self, name, value)

    def may_read_billing(self, project_id: str) -> bool:
        if isinstance(self.billing_read, bool):
            return self.billing_read
        return project_id not in self.billing_read


def _checked(name: str, value):
    if name in CHOICES and value in CHOICES[name]:
        return value
    if name in FLAGS and isinstance(value, bool):
        return value
    if name == "drop_grouped_rows" and _whole(value) and value >= 0:
        return value
    if name == "billing_read" and isinstance(value, bool):
        return value
    if name == "billing_read" and _project_ids(value):
        return tuple(value)
    raise ValueError(f"invalid sandbox config {name}={value!r}")


def _project_ids(value) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(item, str) for item in value)


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
