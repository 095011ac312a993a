"""Late usage corrections as `SandboxServer.set_usage` takes them, checked.

Without a model, a correction of speech to text is one method's unit (split across models as
synthetic usage is). With a model, or for any other endpoint, it is one line: (endpoint,
method, model), holding only the units that endpoint reports: hours and total hours for
listen, characters for speak, agent hours for agent, tokens in and out for read. For those
other endpoints the method defaults to the endpoint's first (speak: sync, agent: streaming,
read: sync) and the model to its first (aura-2, voice-agent, text-intelligence).
"""

from decimal import Decimal, InvalidOperation

from . import catalog
from .state import LineOverride, Override
from .synthetic import MAX_REQUESTS

# The units each endpoint reports besides requests.
UNITS = {
    "listen": ("hours", "total_hours"),
    "speak": ("tts_characters",),
    "agent": ("agent_hours",),
    "read": ("tokens_in", "tokens_out"),
}
_WHOLE_UNITS = ("tts_characters", "tokens_in", "tokens_out")


def checked(endpoint: str, method: str | None, model: str | None, requests, **amounts):
    """(method, None, Override) for a listen method, else (method, model name, LineOverride);
    a ValueError says what is wrong."""
    if endpoint not in catalog.ENDPOINTS:
        raise ValueError(f"endpoint must be one of {', '.join(catalog.ENDPOINTS)}")
    methods = catalog.PRODUCT_METHODS[endpoint]
    method = method if method is not None else ("async" if endpoint == "listen" else methods[0])
    if method not in methods:
        raise ValueError(f"method of {endpoint} must be one of {', '.join(methods)}")
    if (
        isinstance(requests, bool)
        or not isinstance(requests, int)
        or not 0 <= requests <= MAX_REQUESTS
    ):
        raise ValueError(f"requests must be a whole number from 0 to {MAX_REQUESTS}")
    numbers = _numbers(endpoint, amounts)
    if endpoint == "listen" and model is None:
        return method, None, Override(requests, numbers["hours"], numbers["total_hours"])
    name = _model(endpoint, method, model)
    return method, name, LineOverride(requests, **numbers)


def _numbers(endpoint: str, amounts: dict) -> dict:
    """Every unit as a non-negative number; those the endpoint does not report must be 0."""
    if amounts.get("total_hours") is None:
        amounts["total_hours"] = amounts.get("hours", 0)
    numbers = {}
    for name, value in amounts.items():
        number = _number(name, value)
        if number and name not in UNITS[endpoint]:
            raise ValueError(f"{endpoint} usage has no {name}")
        numbers[name] = number
    return numbers


def _number(name: str, value):
    if name in _WHOLE_UNITS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number, not negative")
        return value
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{name} must be a number") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"{name} must not be negative")
    return number


def _model(endpoint: str, method: str, text: str | None) -> str:
    models = catalog.models_of(endpoint, method)
    if text is None:
        return models[0].name
    model = catalog.model_named(text)
    if model not in models:
        names = ", ".join(m.name for m in models)
        raise ValueError(f"model of {method} {endpoint} must be one of {names}")
    return model.name
