"""Fixed facts of the sandbox's pretend Deepgram account: projects, scopes, models, features."""

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

# US dollars per audio minute, by processing method.
PRICE_PER_MINUTE = {
    "sync": Decimal("0.0043"),
    "async": Decimal("0.0043"),
    "streaming": Decimal("0.0077"),
}


@dataclass(frozen=True)
class Model:
    name: str
    language: str
    version: str
    model_id: str
    tier: str

    def as_field(self) -> dict:
        return {
            "name": self.name,
            "language": self.language,
            "version": self.version,
            "model_id": self.model_id,
        }


def _model(name: str, language: str, version: str, tier: str) -> Model:
    return Model(name, language, version, str(uuid.uuid5(NAMESPACE, f"model:{name}")), tier)


MODELS = (
    _model("nova-3", "en", "2025-04-17.21547", "nova"),
    _model("nova-3-multilingual", "multi", "2025-04-17.21547", "nova"),
    _model("nova-2", "en", "2024-01-09.29447", "nova"),
)

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
        "amount": Decimal("187.5"),
        "units": "usd",
        "purchase_order_id": str(uuid.uuid5(NAMESPACE, f"purchase:{project_id}")),
    }
