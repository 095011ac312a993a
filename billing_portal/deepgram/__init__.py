"""Deepgram's management API: the client, its typed values and errors, and the sandbox."""

from .client import DeepgramClient, client_from_settings
from .errors import (
    AmbiguousCreateError,
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    DeepgramError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from .transport import ClientStats

__all__ = [
    "AmbiguousCreateError",
    "AuthenticationError",
    "BadRequestError",
    "BadResponseError",
    "ClientStats",
    "DeepgramClient",
    "DeepgramError",
    "NotFoundError",
    "RateLimitedError",
    "ServerError",
    "TransportError",
    "client_from_settings",
]
