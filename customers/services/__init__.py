"""Writes for customers, their Deepgram keys and their portal users, one module a concept.

`provisioning` makes a key (and undoes a create it cannot keep), `key_lifecycle` revokes,
schedules, rotates and expires keys, `reconcile` squares the portal with Deepgram and imports
keys made outside it, `portal_users` invites people, `customers_and_projects` sets up customers
and the default project, and `audit` writes the `KeyEvent` every key operation leaves. Callers
import from here: `from customers.services import api_key_provision`.
"""

from .audit import key_event_record
from .customers_and_projects import customer_ensure, project_ensure_default
from .key_lifecycle import (
    api_key_revoke,
    api_key_rotate,
    api_key_schedule_revoke,
    api_keys_mark_expired,
    api_keys_revoke_due,
)
from .portal_users import customer_user_invite, customer_user_send_invitation
from .provisioning import CUSTOMER_SCOPES, ProvisionedKey, api_key_provision
from .reconcile import ReconcileReport, api_key_import, api_keys_reconcile, importable

__all__ = [
    "CUSTOMER_SCOPES",
    "ProvisionedKey",
    "ReconcileReport",
    "api_key_import",
    "api_key_provision",
    "api_key_revoke",
    "api_key_rotate",
    "api_key_schedule_revoke",
    "api_keys_mark_expired",
    "api_keys_reconcile",
    "api_keys_revoke_due",
    "customer_ensure",
    "customer_user_invite",
    "customer_user_send_invitation",
    "importable",
    "key_event_record",
    "project_ensure_default",
]
