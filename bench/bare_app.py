"""The yardstick of bench/verify_bench.py: a bare Flask JSON endpoint at the verify API's path.

It parses the JSON body and answers a small JSON object: no database, no store, no signing,
no extensions. Served by gunicorn exactly as Hawiya is (`bench.bare_app:app`).
"""

from flask import Flask, Response, jsonify, request

app = Flask(__name__)


@app.get("/healthz")
def healthz() -> Response:
    """Answer that the process serves (the bench waits for it)."""
    return jsonify({"status": "ok"})


@app.post("/api/v1/verify")
def verify() -> Response:
    """Parse the JSON body and answer a small JSON object."""
    body = request.get_json(silent=True)
    qr = body.get("qr") if isinstance(body, dict) else None
    return jsonify({"result": "valid" if isinstance(qr, str) and qr else "invalid"})
