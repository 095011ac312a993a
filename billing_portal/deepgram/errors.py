"""Typed errors raised by the Deepgram client.

Their text carries Deepgram's own message and request id, never an API key: the client
scrubs its key from every message before raising.
"""


class DeepgramError(Exception):
    """Base class. `status` is the HTTP status when there was an answer, else None."""

    retryable = False

    def __init__(
        self, message: str, *, status: int | None = None, request_id: str = "", err_code: str = ""
    ):
        self.message = message
        self.status = status
        self.request_id = request_id
        self.err_code = err_code
        super().__init__(self._text())

    def _text(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"(HTTP {self.status})")
        if self.request_id:
            parts.append(f"[request id {self.request_id}]")
        return " ".join(parts)


class BadRequestError(DeepgramError):
    """Deepgram refused the request as invalid (400 or another 4xx not listed below)."""


class AuthenticationError(DeepgramError):
    """The management key is invalid (401) or lacks a permission (403: the subclass
    `MissingPermissionError`). Not retried."""


class MissingPermissionError(AuthenticationError):
    """Deepgram knows the management key but refused the call for lack of a permission (403):
    one the call needs, or (on key creation) the right to grant the scopes asked. Not retried.

    A subclass of AuthenticationError, so code that handles a bad key still catches it; code
    that tells the two apart (a project without `billing:read` still syncs usage) catches this
    one first. `permission` names the permission the call likely needs (`billing:read` for the
    billing calls), and the message says it after Deepgram's; it is None when the client cannot
    tell (a 403 on key creation may refuse the scopes asked, not the management key), and the
    message is Deepgram's own.
    """

    def __init__(self, message: str, *, permission: str | None = None, **kwargs):
        self.permission = permission
        if permission:
            message = f"{message} (the management key likely lacks {permission})"
        super().__init__(message, **kwargs)


class NotFoundError(DeepgramError):
    """The project, key or request does not exist (404)."""


class RateLimitedError(DeepgramError):
    """Too many concurrent requests (429). `retry_after` is in seconds when Deepgram said."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ServerError(DeepgramError):
    """Deepgram failed (5xx)."""

    retryable = True


class TransportError(DeepgramError):
    """No usable answer: connection refused or reset, or a timeout."""

    retryable = True

    def __init__(self, message: str, *, sent: bool = True, **kwargs):
        # sent=False when the connection was never made, so the request surely had no effect.
        self.sent = sent
        super().__init__(message, **kwargs)


class DeadlineExceededError(TransportError):
    """The exchange (connect, headers and whole body) outlasted the call's deadline: a body
    that drips, or a chunked body that never ends. Transient: retried."""


class ResponseTooLargeError(DeepgramError):
    """A body beyond the client's size bound, refused unread. Not retried: the same question
    gets the same answer; ask about less (a shorter range)."""


class BadResponseError(DeepgramError):
    """An answer that is not JSON, or JSON of a shape the client cannot read (a proxy's page,
    a cut body): retried, as the next answer may well be whole."""

    retryable = True


class MissingDataError(BadResponseError):
    """A readable answer without the data it must carry (a usage or billing answer without
    `results`, a usage row without `hours`, `requests` or `grouping`, a billing row without
    `dollars` or `grouping`). Never read as "no usage"; not retried."""

    retryable = False


class GroupingIgnoredError(BadResponseError):
    """A grouped breakdown whose rows came back with a null field for a dimension the call
    grouped by: Deepgram ignored the grouping (as it does when it will not combine several),
    so the rows are not what was asked and must not be stored as such. Not transient, not
    retried: the same question gets the same answer; ask differently (one dimension, or per
    key). `dimensions` are the asked dimensions that came back null, as the call spelled them.
    """

    retryable = False

    def __init__(self, message: str, *, dimensions: tuple[str, ...] = (), **kwargs):
        self.dimensions = dimensions
        super().__init__(message, **kwargs)


class BadNumberError(BadResponseError):
    """A number no usage or cost can have: negative, not finite (NaN, Infinity), a count that
    is not whole, or beyond what the portal stores. Not retried: Deepgram would say it again."""

    retryable = False


class AmbiguousCreateError(DeepgramError):
    """A key creation whose outcome is unknown: Deepgram may or may not have created the key.

    Never retried by the client; the caller reconciles by listing the project's keys.
    `cause` is the underlying error.
    """

    def __init__(self, cause: DeepgramError):
        self.cause = cause
        super().__init__(
            f"Deepgram may or may not have created the key: {cause.message}",
            status=cause.status,
            request_id=cause.request_id,
            err_code=cause.err_code,
        )
