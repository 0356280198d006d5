"""The request is the unit of work: it commits when it answers a success, rolls back otherwise.

So views never commit: a refusal (any answer of 400 or more) changes nothing, and what must
follow a committed change (an SMS) waits for it with `db.after_commit`. A commit that fails
answers 503 (the database unreachable) or 500, never the success it would have been.
"""

import logging

from flask import Flask, Response, request
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from identity import db
from identity.web.refusals import error_response, unavailable

log = logging.getLogger(__name__)


def install(app: Flask) -> None:
    """Commit the request's writes when it answers a success, roll them back otherwise.

    Install it after every other after_request hook: Flask runs them in reverse order, so this
    one runs first and the others (headers, metrics) see the answer a failed commit gave.
    """

    @app.after_request
    def end_unit_of_work(response: Response) -> Response:
        registry = db.get_db().session.registry
        if not registry.has():  # the request never touched the database
            return response
        session = registry()
        if response.status_code >= 400:
            _discard(session)
            return response
        try:
            session.commit()
        except OperationalError:
            _discard(session)
            log.error("the database is unreachable or refused the commit")
            return unavailable()
        except Exception:
            _discard(session)
            log.exception("commit failed on %s %s", request.method, request.path)
            return error_response(500, "internal-error", "Something went wrong on our side.")
        return response


def _discard(session: Session) -> None:
    """Roll back; a connection already lost has nothing to roll back, so that cannot fail."""
    try:
        session.rollback()
    except SQLAlchemyError:
        log.warning("rollback failed: the connection was lost", exc_info=True)
