"""The audit trail of key operations.

Every key operation leaves a `KeyEvent` (who, when, what, outcome), failures included; the
other service modules write it through `key_event_record`. An event never holds a secret.
"""

from ..models import ApiKey, KeyEvent


def key_event_record(
    action,
    *,
    actor=None,
    api_key: ApiKey | None = None,
    customer=None,
    key_id="",
    outcome=KeyEvent.Outcome.OK,
    detail="",
) -> KeyEvent:
    """Record one key event; the customer and key id default to those of `api_key`."""
    return KeyEvent.record(
        action,
        actor=actor,
        detail=detail,
        api_key=api_key,
        customer=customer or (api_key.customer if api_key else None),
        key_id=key_id or (api_key.key_id if api_key else ""),
        outcome=outcome,
    )
