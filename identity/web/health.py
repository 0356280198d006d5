"""Liveness and readiness for load balancers and orchestrators."""

import logging

from flask import Blueprint, Response, jsonify
from sqlalchemy.exc import SQLAlchemyError

from identity import db
from identity.store import StoreUnavailable, get_store

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Answer while the process can serve requests at all."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Answer 200 only when the database and the store both answer."""
    checks = {"database": "ok", "store": "ok"}
    try:
        db.ping()
    except SQLAlchemyError:
        log.warning("readiness: database unreachable")
        checks["database"] = "unavailable"
    try:
        get_store().ping()
    except StoreUnavailable:
        log.warning("readiness: store unreachable")
        checks["store"] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return jsonify({"status": "ok" if ready else "unavailable", "checks": checks}), (
        200 if ready else 503
    )
