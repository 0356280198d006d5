"""The edge of every request: storable text, JSON of a sane shape, whole numbers in range.

PostgreSQL text cannot hold a NUL character and UTF-8 cannot encode a lone surrogate: either one
fails deep inside a change (a 500, after some of it ran). JSON nested a thousand deep exhausts
the parser's recursion; a number past 2^63 overflows every integer column, and a row id past
2^31 - 1 the `Integer` columns of PostgreSQL (int4). All of these are
refused here, before any view sees them, with one 400 in the error shape (or the error page):

- the path, the query string and form fields, by a `before_request` hook;
- JSON bodies, by the app's JSON provider, whichever view reads them;
- `<int:…>` in a route, by a converter that matches only what an id column holds (else 404).
"""

import json
import re
from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from identity.errors import ValidationFailed

MAX_JSON_DEPTH = 32  # our bodies are flat objects; no client needs more
MAX_INTEGER = 2**63 - 1  # PostgreSQL's BIGINT and SQLite's INTEGER: no column holds more
MAX_INTEGER_DIGITS = len(str(MAX_INTEGER))
MAX_ID = 2**31 - 1  # ids are `Integer` columns: int4 on PostgreSQL
MAX_ID_DIGITS = len(str(MAX_ID))
# NUL (PostgreSQL refuses it in text) and lone surrogates (no UTF-8 form: nothing can store them).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class UnstorableText(ValidationFailed):
    message = "Text must not contain NUL characters or unpaired surrogates."


class JsonTooDeep(ValidationFailed):
    message = f"JSON nested more than {MAX_JSON_DEPTH} levels deep is refused."


class NumberOutOfRange(ValidationFailed):
    message = f"Whole numbers in JSON must lie between -{MAX_INTEGER} and {MAX_INTEGER}."


def storable(text: str) -> bool:
    """Tell whether a text holds neither a NUL character nor a lone surrogate."""
    return _UNSTORABLE.search(text) is None


def _bounded_int(digits: str) -> int:
    # Raised as a Refused, not a ValueError: get_json(silent=True) must not swallow it.
    if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS or abs(int(digits)) > MAX_INTEGER:
        raise NumberOutOfRange()
    return int(digits)


def _not_json(constant: str) -> float:
    # NaN and Infinity are Python's extension, not JSON: an ordinary parse error.
    raise ValueError(f"{constant} is not JSON")


def _check_json(value: Any, depth: int = 0) -> None:
    """Refuse a parsed body of too many nested containers or holding unstorable text."""
    if isinstance(value, str):
        if not storable(value):
            raise UnstorableText()
    elif isinstance(value, list | dict):
        if depth >= MAX_JSON_DEPTH:
            raise JsonTooDeep()
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            if isinstance(key, str) and not storable(key):
                raise UnstorableText()
            _check_json(item, depth + 1)


class _BoundedDecoder(json.JSONDecoder):
    """JSON's decoder, with whole numbers bounded and NaN and Infinity refused."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(parse_int=_bounded_int, parse_constant=_not_json, **kwargs)


_DECODER = _BoundedDecoder()  # built once: json.loads builds one for every call with arguments


def _text(s: str | bytes) -> str:
    """Return a JSON text as json.loads reads it: bytes in UTF-8, -16 or -32, by their start."""
    return s.decode(json.detect_encoding(s), "surrogatepass") if isinstance(s, bytes) else s


class BoundedJsonProvider(DefaultJSONProvider):
    """The app's JSON: requests are parsed with `loads`, which refuses what nothing can hold."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse JSON; raise ValueError when it is not JSON and a Refused when it is hostile."""
        try:
            value = (
                _DECODER.decode(_text(s))
                if not kwargs
                else json.loads(s, cls=_BoundedDecoder, **kwargs)
            )
        except RecursionError:
            raise JsonTooDeep() from None
        _check_json(value)
        return value


class IdConverter(IntegerConverter):
    """`<int:…>` for row ids: ASCII digits only, at most MAX_ID, else the route is a 404."""

    regex = f"[0-9]{{1,{MAX_ID_DIGITS}}}"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def whole_number(raw: str) -> int | None:
    """Return a query value such as ?before= as an int if it is ASCII digits up to MAX_ID.

    `str.isdigit` alone accepts "²" and "١", which `int` then refuses or reads as another value.
    """
    if not raw.isascii() or not raw.isdigit() or len(raw) > MAX_ID_DIGITS:
        return None
    number = int(raw)
    return number if number <= MAX_ID else None


# The bodies werkzeug parses into request.form (werkzeug.formparser); any other leaves it empty.
FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


def refuse_unstorable_text() -> None:
    """Refuse a request whose path, query string or form fields hold unstorable text."""
    texts = [request.path]
    form = (request.form,) if request.mimetype in FORM_TYPES else ()  # a JSON body: not parsed
    args = (request.args,) if request.query_string else ()
    for multidict in (*args, *form):
        for key, values in multidict.lists():
            texts.append(key)
            texts.extend(values)
    # A multipart part whose name werkzeug cannot read (`name="a\\"`) comes with the key None.
    if not all(text is None or storable(text) for text in texts):
        raise UnstorableText()


def init_app(app: Flask) -> None:
    """Install the JSON provider, the id converter (before any route) and the text guard."""
    app.json = BoundedJsonProvider(app)
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_unstorable_text)
