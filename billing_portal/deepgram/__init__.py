"""Deepgram's management API: the client, its typed values and errors, and the sandbox."""

from .client import DeepgramClient, client_from_settings
from .errors import (
    AmbiguousCreateError,
    AuthenticationError,
    BadNumberError,
    BadRequestError,
    BadResponseError,
    DeadlineExceededError,
    DeepgramError,
    GroupingIgnoredError,
    MissingDataError,
    MissingPermissionError,
    NotFoundError,
    RateLimitedError,
    ResponseTooLargeError,
    ServerError,
    TransportError,
)
from .transport import ClientStats

__all__ = [
    "AmbiguousCreateError",
    "AuthenticationError",
    "BadNumberError",
    "BadRequestError",
    "BadResponseError",
    "ClientStats",
    "DeadlineExceededError",
    "DeepgramClient",
    "DeepgramError",
    "GroupingIgnoredError",
    "MissingDataError",
    "MissingPermissionError",
    "NotFoundError",
    "RateLimitedError",
    "ResponseTooLargeError",
    "ServerError",
    "TransportError",
    "client_from_settings",
]
