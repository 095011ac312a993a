"""Fixed facts of the sandbox's pretend Deepgram account: projects, scopes, models, features,
billing line items and the price list."""

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal

# Every fixed id below is derived from this namespace, so it is stable across runs and machines.
NAMESPACE = uuid.UUID("5a4d0b2e-5a4d-4b0c-8e00-5a4db0c5e000")
STAGING_PROJECT_ID = "5a4d0b2e-0000-4000-8000-5a4db0c5e002"
STAGING_PROJECT_NAME = "Sandbox staging"
MAIN_PROJECT_NAME = "Sandbox project"

CONSOLE_KEY_COMMENT = "Management key (console)"
CONSOLE_KEY_SCOPES = ("owner",)
CONSOLE_KEY_CREATED = "2026-01-01T00:00:00Z"

MEMBER = {
    "member_id": str(uuid.uuid5(NAMESPACE, "member")),
    "email": "owner@sandbox.example",
    "first_name": "Sandbox",
    "last_name": "Owner",
}

SCOPES = frozenset(
    {
        "member",
        "admin",
        "owner",
        "usage:read",
        "usage:write",
        "keys:read",
        "keys:write",
        "project:read",
        "project:write",
        "billing:read",
    }
)

METHODS = ("sync", "async", "streaming")
OTHER_METHODS = ("read", "speak", "agent")
ENDPOINTS = ("listen", "read", "speak", "agent")
DEPLOYMENTS = ("hosted", "beta", "self-hosted")
BILLING_DEPLOYMENTS = (*DEPLOYMENTS, "dedicated")

# Query parameters that Deepgram treats as true/false feature filters (deepgram-api.md §2.1).
FEATURE_PARAMS = frozenset(
    {
        "alternatives", "callback_method", "callback", "channels", "custom_intent_mode",
        "custom_intent", "custom_topic_mode", "custom_topic", "detect_entities",
        "detect_language", "diarize", "dictation", "encoding", "extra", "filler_words",
        "intents", "keyterm", "keywords", "language", "measurements", "multichannel",
        "numerals", "paragraphs", "profanity_filter", "punctuate", "redact", "replace",
        "sample_rate", "search", "sentiment", "smart_format", "summarize", "topics",
        "utt_split", "utterances", "version", "interim_results", "ner", "detect_topics",
    }
)  # fmt: skip

FEATURE_SETS = (
    ("punctuate",),
    ("punctuate", "smart_format"),
    ("diarize", "punctuate", "smart_format"),
    ("multichannel", "punctuate"),
)


@dataclass(frozen=True)
class Model:
    """A model of the pretend account: `name` is its canonical id (as line item codes write
    it), `display` the name Deepgram writes elsewhere (the `model_names="display"` mode)."""

    name: str
    language: str
    version: str
    model_id: str
    tier: str
    display: str
    endpoint: str

    def as_field(self) -> dict:
        return {
            "name": self.name,
            "language": self.language,
            "version": self.version,
            "model_id": self.model_id,
        }


def _model(name, display, endpoint, *, version, tier, language="en") -> Model:
    model_id = str(uuid.uuid5(NAMESPACE, f"model:{name}"))
    return Model(name, language, version, model_id, tier, display, endpoint)


LISTEN_MODELS = (
    _model("nova-3", "Nova-3", "listen", version="2025-04-17.21547", tier="nova"),
    _model(
        "nova-3-multilingual",
        "Nova-3 Multilingual",
        "listen",
        version="2025-04-17.21547",
        tier="nova",
        language="multi",
    ),
    _model("nova-2", "Nova-2", "listen", version="2024-01-09.29447", tier="nova"),
    _model("whisper-large", "Whisper Large", "listen", version="2023-11-14.0", tier="whisper"),
)
SPEAK_MODELS = (
    _model("aura-2", "Aura-2", "speak", version="2025-04-01.0", tier="aura"),
    _model("aura-1", "Aura-1", "speak", version="2024-03-06.0", tier="aura"),
)
AGENT_MODEL = _model("voice-agent", "Voice Agent", "agent", version="2025-06-01.0", tier="agent")
READ_MODEL = _model(
    "text-intelligence", "Text Intelligence", "read", version="2024-11-01.0", tier="read"
)
MODELS = (*LISTEN_MODELS, *SPEAK_MODELS, AGENT_MODEL, READ_MODEL)

# The processing methods each endpoint is used with; Whisper takes pre-recorded audio only.
PRODUCT_METHODS = {
    "listen": METHODS,
    "speak": ("sync", "streaming"),
    "agent": ("streaming",),
    "read": ("sync",),
}
PRE_RECORDED_ONLY = frozenset({"whisper-large"})


_MODELS_OF = {
    (endpoint, method): tuple(
        m
        for m in MODELS
        if m.endpoint == endpoint and not (method == "streaming" and m.name in PRE_RECORDED_ONLY)
    )
    for endpoint, methods in PRODUCT_METHODS.items()
    for method in methods
}


def models_of(endpoint: str, method: str) -> tuple[Model, ...]:
    """The models an (endpoint, method) is used with, in catalog order."""
    return _MODELS_OF[endpoint, method]


def products() -> list[tuple[str, str, Model]]:
    """Every (endpoint, method, model) the account can use, in catalog order."""
    return [
        (endpoint, method, model)
        for endpoint, methods in PRODUCT_METHODS.items()
        for method in methods
        for model in models_of(endpoint, method)
    ]


def line_item(endpoint: str, method: str, model: str) -> str:
    """Deepgram's billing line item code: `method::model` for listen and speak,
    `endpoint::model` for agent and read."""
    return f"{method}::{model}" if endpoint in ("listen", "speak") else f"{endpoint}::{model}"


def model_named(text: str) -> Model | None:
    """The model a filter names: by model uuid, canonical id or display name."""
    folded = text.lower()
    for model in MODELS:
        if folded in (model.model_id, model.name, model.display.lower()):
            return model
    return None


# Line item labels, as Deepgram's billing fields write them.
LINE_ITEMS = {
    "streaming::nova-3": "Nova - 3 (Stream)",
    "sync::nova-3": "Nova - 3 (Pre-recorded)",
    "async::nova-3": "Nova - 3 (Pre-recorded, async)",
    "streaming::nova-3-multilingual": "Nova - 3 Multilingual (Stream)",
    "sync::nova-3-multilingual": "Nova - 3 Multilingual (Pre-recorded)",
    "async::nova-3-multilingual": "Nova - 3 Multilingual (Pre-recorded, async)",
    "streaming::nova-2": "Nova - 2 (Stream)",
    "sync::nova-2": "Nova - 2 (Pre-recorded)",
    "async::nova-2": "Nova - 2 (Pre-recorded, async)",
    "sync::whisper-large": "Whisper Large (Pre-recorded)",
    "async::whisper-large": "Whisper Large (Pre-recorded, async)",
    "sync::aura-2": "Aura - 2 (Text to speech)",
    "streaming::aura-2": "Aura - 2 (Text to speech, stream)",
    "sync::aura-1": "Aura - 1 (Text to speech)",
    "streaming::aura-1": "Aura - 1 (Text to speech, stream)",
    "agent::voice-agent": "Voice Agent",
    "read::text-intelligence": "Text intelligence (tokens)",
}

# The sandbox's price list, US dollars per unit of each line item, the unit named as the usage
# breakdown names it: per audio hour (`hours`, not `total_hours`) for speech to text, per
# character for text to speech, per agent hour, per token in and per token out. A pretend
# account's prices in the shape of Deepgram's pay-as-you-go list (deepgram-api.md section 5).
# Deepgram's cost of one (key, UTC day, line item) is the sum of price x quantity rounded half
# up to COST_PLACES once; every billing answer adds up those costs, so all of them reconcile.
PRICES = {
    "streaming::nova-3": {"hours": Decimal("0.462")},
    "sync::nova-3": {"hours": Decimal("0.258")},
    "async::nova-3": {"hours": Decimal("0.258")},
    "streaming::nova-3-multilingual": {"hours": Decimal("0.552")},
    "sync::nova-3-multilingual": {"hours": Decimal("0.312")},
    "async::nova-3-multilingual": {"hours": Decimal("0.312")},
    "streaming::nova-2": {"hours": Decimal("0.354")},
    "sync::nova-2": {"hours": Decimal("0.258")},
    "async::nova-2": {"hours": Decimal("0.258")},
    "sync::whisper-large": {"hours": Decimal("0.288")},
    "async::whisper-large": {"hours": Decimal("0.288")},
    "sync::aura-2": {"tts_characters": Decimal("0.00003")},
    "streaming::aura-2": {"tts_characters": Decimal("0.00003")},
    "sync::aura-1": {"tts_characters": Decimal("0.000015")},
    "streaming::aura-1": {"tts_characters": Decimal("0.000015")},
    "agent::voice-agent": {"agent_hours": Decimal("4.5")},
    "read::text-intelligence": {
        "tokens_in": Decimal("0.000001"),
        "tokens_out": Decimal("0.000004"),
    },
}
COST_PLACES = Decimal("0.000001")

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def is_uuid(text: str) -> bool:
    return bool(_UUID.match(text))


def console_key_id(project_id: str) -> str:
    """The id of the key each project was 'made with in the console' (fixed per project)."""
    return str(uuid.uuid5(NAMESPACE, f"console-key:{project_id}"))


def balance_of(project_id: str) -> dict:
    """The one prepaid balance each project holds."""
    return {
        "balance_id": str(uuid.uuid5(NAMESPACE, f"balance:{project_id}")),
        "amount": 187.5,
        "units": "usd",
        "purchase_order_id": str(uuid.uuid5(NAMESPACE, f"purchase:{project_id}")),
    }
