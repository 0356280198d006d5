"""CSV downloads people open in a spreadsheet: UTF-8 with a BOM (Excel then reads Arabic right),
every cell formula-safe (identity.csv_safe), times in UTC with their offset.

The rows are the reader's words (headers and values in the page's language), with the stored
keys beside them where a machine may want them.
"""

import io
from collections.abc import Iterable, Sequence

from flask import Response
from flask_babel import gettext as _

from identity import csv_safe
from identity.audit import verifications
from identity.audit.verifications import Check
from identity.clock import api_time

BOM = "\ufeff"

RESULT_NAMES = {
    "valid": "Valid",
    "revoked": "Revoked",
    "suspended": "Suspended",
    "expired": "Expired",
    "invalid": "Not genuine",
    "not_found": "Not found",
}


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    """Answer with a CSV download: BOM, CRLF lines, formula-safe cells."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv_safe.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    response = Response(out.getvalue().encode("utf-8"), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"  # personal data: not kept on the way
    return response


def more_rows_note(limit: int) -> str:
    return _("Only the newest %(n)s rows are in this file: narrow the filters.", n=limit)


def what_was_checked(check: Check, public: bool = False) -> str:
    """Name what a verification was about: the document (title and number) or the digital ID."""
    if check.event.kind != "document":
        return _("Your digital ID") if public else _("The digital ID")
    if check.document is None:
        return _("A document")
    return _("Document %(title)s, number %(number)s", title=check.document.title,
             number=check.document.number)  # fmt: skip


def who_checked(check: Check, public: bool = False) -> str:
    agency = check.event.agency
    if agency is not None:
        return agency.name
    return _("Someone who scanned your code") if public else _("A public scan")


def why_checked(check: Check) -> str:
    if check.event.agency is None or check.event.purpose == verifications.PUBLIC_PURPOSE:
        return ""
    return check.event.purpose


def result_name(result: str) -> str:
    english = RESULT_NAMES.get(result)
    return _(english) if english is not None else result


def verification_header() -> list[str]:
    return [_("When (UTC)"), _("What was checked"), _("Who"), _("Why"), _("Result")]


def verification_rows(found: list[Check], public: bool, limit: int) -> list[list[object]]:
    """The rows of a verification history, newest first, with a closing note when capped."""
    rows: list[list[object]] = [
        [api_time(c.event.at), what_was_checked(c, public), who_checked(c, public),
         why_checked(c), result_name(c.event.result)]
        for c in found[:limit]
    ]  # fmt: skip
    if len(found) > limit:
        rows.append([more_rows_note(limit)])
    return rows
