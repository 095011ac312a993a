"""HTTP answers of the sandbox: JSON without float noise, and Deepgram's three error shapes."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import msgspec

PERMISSION_TEXT = "User does not have sufficient permissions."


@dataclass
class Reply:
    """One HTTP answer; `request_id` goes out as the `dg-request-id` header. With `stream`
    the body goes out as those pieces instead (a slow-answer fault), then the connection
    closes."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    request_id: str = field(default_factory=lambda: new_request_id())
    stream: Iterator[bytes] | None = None


class ApiError(Exception):
    """Raised inside a handler to answer with an error body of Deepgram's shapes."""

    def __init__(self, status: int, shape: str, code: str, message: str):
        super().__init__(message)
        self.status, self.shape, self.code, self.message = status, shape, code, message

    def reply(self) -> Reply:
        if self.shape == "legacy":
            return legacy_error(self.status, self.code, self.message)
        if self.shape == "modern":
            return modern_error(self.status, self.code, self.message)
        return text_reply(self.status, self.message)


def new_request_id() -> str:
    return str(uuid.uuid4())


def iso(moment: datetime) -> str:
    """UTC timestamp in Deepgram's style: ISO 8601 with a `Z` suffix."""
    moment = moment.astimezone(UTC)
    whole_ms = moment.microsecond % 1000 == 0
    text = moment.isoformat(timespec="milliseconds" if whole_ms and moment.microsecond else "auto")
    return text.replace("+00:00", "Z")


# msgspec writes a large answer several times faster than the standard library. The answers
# carry their fractions as `number()` floats, as Deepgram writes them; a Decimal that still
# comes would go out as its own digits, a JSON number all the same.
_ENCODER = msgspec.json.Encoder(decimal_format="number")


def number(value: Decimal) -> float:
    """A fraction as Deepgram writes it, a JSON float: a Decimal of at most 15 significant
    digits survives float's shortest repr digit for digit (no 0.30000000000000004)."""
    return float(value)


def dumps(data) -> bytes:
    return _ENCODER.encode(data)


def json_reply(data, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, dumps(data), headers=dict(headers or {}))


def text_reply(status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> Reply:
    return Reply(status, text.encode(), content_type=content_type)


def legacy_error(status: int, code: str, message: str, headers=None) -> Reply:
    """`{err_code, err_msg, request_id}`: auth, not found, rate limit and 5xx answers."""
    request_id = new_request_id()
    body = {"err_code": code, "err_msg": message, "request_id": request_id}
    return Reply(status, dumps(body), headers=dict(headers or {}), request_id=request_id)


def modern_error(status: int, category: str, message: str) -> Reply:
    """`{category, message, details, request_id}`: validation answers (400)."""
    request_id = new_request_id()
    body = {"category": category, "message": message, "details": message, "request_id": request_id}
    return Reply(status, dumps(body), request_id=request_id)


def no_permission() -> ApiError:
    """A 403 for a key without the scope a call needs (billing:read for billing)."""
    return ApiError(403, "modern", "INSUFFICIENT_PERMISSIONS", PERMISSION_TEXT)


def not_found(message: str) -> ApiError:
    return ApiError(404, "legacy", "NOT_FOUND", message)


def bad_query(message: str) -> ApiError:
    return ApiError(400, "modern", "INVALID_QUERY_PARAMETER", message)


def bad_body(message: str) -> ApiError:
    return ApiError(400, "modern", "INVALID_JSON", message)
