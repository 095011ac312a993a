"""Typed values the client returns: frozen dataclasses, built by `parsing` from Deepgram's JSON.
The rows of the breakdowns are named tuples instead (as immutable, and made several times
faster: a month of a large project is millions of them).

Numbers are `Decimal` exactly as Deepgram sent them; optional fields have defaults; a created
key's secret is kept out of repr().
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

# --- Projects -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    project_id: str
    name: str
    mip_opt_out: bool | None = None


# --- Keys -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyMember:
    member_id: str
    email: str
    first_name: str = ""
    last_name: str = ""


@dataclass(frozen=True)
class ApiKeyInfo:
    """A key as Deepgram lists it: never with its secret. `api_key_id` is the usage accessor."""

    api_key_id: str
    comment: str
    scopes: tuple[str, ...]
    tags: tuple[str, ...] = ()
    expiration_date: datetime | None = None
    created: datetime | None = None


@dataclass(frozen=True)
class ProjectKey:
    api_key: ApiKeyInfo
    member: KeyMember | None = None


@dataclass(frozen=True)
class CreatedKey:
    """The answer to a key creation. `secret` is shown once and is kept out of repr()."""

    api_key_id: str
    secret: str = field(repr=False)
    comment: str = ""
    scopes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    expiration_date: datetime | None = None
    created: datetime | None = None


# --- Usage summary and breakdown ------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    units: str
    amount: int


@dataclass(frozen=True)
class UsageDay:
    """One result row of the usage summary. Hours are Decimal, exactly as Deepgram sent them."""

    start: date
    end: date
    hours: Decimal
    total_hours: Decimal
    requests: int
    tokens_in: int = 0
    tokens_out: int = 0
    tts_characters: int = 0
    tts_requests: int = 0


@dataclass(frozen=True)
class UsageSummary:
    start: date
    end: date
    resolution: Resolution
    results: tuple[UsageDay, ...]


class BreakdownGroup(NamedTuple):
    """A usage breakdown row's dimensions: None for a dimension not grouped by. `models` holds
    the model dimension however the answer spelled it (`models` list, `model` string or list).
    """

    start: date
    end: date
    accessor: str | None = None
    endpoint: str | None = None
    feature_set: str | None = None
    models: tuple[str, ...] | None = None
    method: str | None = None
    tags: tuple[str, ...] | None = None
    deployment: str | None = None


class BreakdownRow(NamedTuple):
    grouping: BreakdownGroup
    hours: Decimal
    total_hours: Decimal
    agent_hours: Decimal
    requests: int
    tokens_in: int = 0
    tokens_out: int = 0
    tts_characters: int = 0


@dataclass(frozen=True)
class UsageBreakdown:
    start: date
    end: date
    resolution: Resolution
    results: tuple[BreakdownRow, ...]


@dataclass(frozen=True)
class GroupingSupport:
    """What a probe learned of a project's usage breakdown (`probe_usage_groupings`).

    `combines`: whether accessor, endpoint, method and the model dimension come back filled in
    one call; None when the probed day had no usage, so nothing could be seen (`known` is
    False: probe again, on a day with usage, before remembering it). `model_grouping`: the
    spelling of the model dimension Deepgram took (`models`, the spec's, or `model`, the
    docs'); None when neither came back filled. `calls`: the calls the probe made.
    """

    combines: bool | None
    model_grouping: str | None
    calls: int = 0

    @property
    def known(self) -> bool:
        return self.combines is not None


# --- Billing breakdown and fields -----------------------------------------------------------


class BillingGroup(NamedTuple):
    """A billing row's dimensions: None for a dimension not grouped by."""

    start: date
    end: date
    accessor: str | None = None
    deployment: str | None = None
    line_item: str | None = None
    tags: tuple[str, ...] | None = None


class BillingRow(NamedTuple):
    """Deepgram's cost in USD of one group, exactly to 6 places (rounded half up)."""

    grouping: BillingGroup
    dollars: Decimal


@dataclass(frozen=True)
class BillingBreakdown:
    start: date
    end: date
    resolution: Resolution
    results: tuple[BillingRow, ...]


@dataclass(frozen=True)
class BillingFields:
    """What a project's billing can be grouped and filtered by; `line_items` maps each line
    item's code (`streaming::nova-3`) to Deepgram's label ("Nova - 3 (Stream)")."""

    accessors: tuple[str, ...]
    deployments: tuple[str, ...]
    tags: tuple[str, ...]
    line_items: dict[str, str] = field(default_factory=dict, hash=False)


# --- Requests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestDetails:
    usd: Decimal | None = None
    duration: Decimal = Decimal(0)
    total_audio: Decimal = Decimal(0)
    channels: int = 0
    streams: int = 0
    models: tuple[str, ...] = ()
    method: str = ""
    tier: str = ""
    tags: tuple[str, ...] = ()
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class RequestRecord:
    """One API request. `callback` is the callback URL or Deepgram's callback status object
    (sources disagree on which); `code` is the transcription's HTTP status when known."""

    request_id: str
    created: datetime | None
    path: str = ""
    api_key_id: str = ""
    project_uuid: str = ""
    deployment: str = ""
    code: int | None = None
    completed: datetime | None = None
    message: str = ""
    details: RequestDetails | None = None
    callback: Any = None


@dataclass(frozen=True)
class RequestsPage:
    page: int
    limit: int
    requests: tuple[RequestRecord, ...]


# --- Fields and balances --------------------------------------------------------------------


@dataclass(frozen=True)
class ModelInfo:
    name: str
    language: str = ""
    version: str = ""
    model_id: str = ""


@dataclass(frozen=True)
class UsageFields:
    tags: tuple[str, ...]
    models: tuple[ModelInfo, ...]
    processing_methods: tuple[str, ...]
    features: tuple[str, ...]
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Balance:
    balance_id: str
    amount: Decimal
    units: str
    purchase_order_id: str = ""
