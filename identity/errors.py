"""The refusals: what a request asked that we will not do, each a kebab-case code and a sentence.

Service functions raise them; `identity.web.refusals` turns each into the one error shape of the
service (JSON for programs, a page for people). Nothing here knows about HTTP frameworks or the
command line.
"""


class ApiError(Exception):
    """An error the client can act on; subclasses set the status and the kebab-case code."""

    status = 400
    code = "bad-request"
    message = "The request could not be understood."

    def __init__(self, message: str | None = None, *, retry_after: int | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.retry_after = retry_after


class BadRequest(ApiError):
    status, code = 400, "bad-request"


class ValidationFailed(ApiError):
    status, code = 400, "invalid-input"


class Unauthorized(ApiError):
    status, code, message = 401, "unauthorized", "Authentication is required."


class Forbidden(ApiError):
    status, code, message = 403, "forbidden", "You are not allowed to do this."


class NotFound(ApiError):
    status, code, message = 404, "not-found", "Nothing was found at this address."


class TooManyRequests(ApiError):
    status, code, message = 429, "too-many-requests", "Too many requests; try again later."


class ServiceUnavailable(ApiError):
    status, code, message = 503, "unavailable", "The service is busy; try again in a minute."
