"""The refusals: what a request asked that we will not do, each a kebab-case code and a sentence.

Every refusal of the service is a `Refused`: service functions raise it (or a subclass named for
their room, e.g. `documents.InvalidDocument`), and each face turns it into its own answer in one
place: `identity.web.refusals` into the one error shape of the web (its `STATUS` table gives the
HTTP status of each code, its `MESSAGES` table the sentence a person reads),
`identity.cli.commands` into a command-line error. Nothing here knows about HTTP or the shell.
"""


class Refused(Exception):
    """A request we will not honour: a kebab-case `code`, an English `message`, maybe a wait."""

    code = "bad-request"
    message = "The request could not be understood."

    def __init__(
        self, message: str | None = None, *, code: str | None = None, retry_after: int | None = None
    ) -> None:
        self.message = message or self.message
        if code is not None:
            self.code = code
        self.retry_after = retry_after
        super().__init__(self.message)


class BadRequest(Refused):
    code = "bad-request"


class ValidationFailed(Refused):
    code = "invalid-input"


class Unauthorized(Refused):
    code, message = "unauthorized", "Authentication is required."


class Forbidden(Refused):
    code, message = "forbidden", "You are not allowed to do this."


class NotFound(Refused):
    code, message = "not-found", "Nothing was found at this address."


class TooManyRequests(Refused):
    code, message = "too-many-requests", "Too many requests; try again later."


class ServiceUnavailable(Refused):
    code, message = "unavailable", "The service is busy; try again in a minute."
