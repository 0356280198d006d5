"""One clock: people read the agency's local time with its zone named, machines read UTC with Z.

The clock is set to 2026-12-01 21:12:05 UTC, which is already 2026-12-02 00:12 in Kuwait: every
test below would pass by luck at an hour where both dates agree.
"""

import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from flask import Flask
from flask.testing import FlaskClient

from identity import clock, db
from identity.audit import chain
from identity.config import ConfigError
from identity.register.beneficiaries import find
from tests.apps import https_client, make_app
from tests.factories import (
    FATIMA,
    add_people,
    api_sign_in,
    backoffice_token,
    issue_ids,
    make_agency,
    make_pdf,
    phone_url,
    staff_sign_in,
    web_sign_in,
)

AT = datetime(2026, 12, 1, 21, 12, 5, 250_000, tzinfo=UTC)
KUWAIT = timezone(timedelta(hours=3))
API_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


@pytest.fixture
def at_night(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Stop the clock at AT: a UTC evening that is already the next day in Kuwait."""
    monkeypatch.setattr(clock, "now", lambda: AT)
    return AT


# The spellings


def test_a_time_for_machines_is_utc_to_the_second_with_z() -> None:
    naive = AT.replace(tzinfo=None)  # SQLite hands stored times back naive, in UTC
    for spelled in (AT, naive, AT.astimezone(KUWAIT)):
        assert clock.api_time(spelled) == "2026-12-01T21:12:05Z"


def test_the_audit_chain_spelling_is_pinned_to_the_byte() -> None:
    """The hash of every stored audit row is computed over this spelling: it must never move."""
    for spelled in (AT, AT.replace(tzinfo=None), AT.astimezone(KUWAIT)):
        assert clock.audit_iso(spelled) == "2026-12-01T21:12:05.250000+00:00"
    assert clock.audit_iso(AT.replace(microsecond=0)) == "2026-12-01T21:12:05.000000+00:00"
    assert (
        chain.compute_hash(chain.GENESIS, AT, "staff:amal", "credential.suspend", "civil:x", "{}")
        == "38475c13fbf7164a142e3a8429572e4b4b0c7de7218a5ae09c8bfd896e538d16"
    )


def test_people_read_the_local_date_and_time_with_the_zone_named() -> None:
    assert clock.local(AT) == AT and clock.local(AT).utcoffset() == timedelta(hours=3)
    assert clock.date_text(AT) == "2026-12-02"
    assert clock.datetime_text(AT) == "2026-12-02 00:12"
    assert clock.datetime_text(AT, seconds=True) == "2026-12-02 00:12:05"
    assert clock.named(AT, "en") == "2026-12-02 00:12 (Kuwait time)"
    assert clock.named(AT, "ar") == "2026-12-02 00:12 (بتوقيت الكويت)"
    assert clock.date_text(AT.replace(tzinfo=None)) == "2026-12-02"  # naive is UTC


def test_the_setting_chooses_the_zone_and_its_name(tmp_path: Path) -> None:
    app = make_app(tmp_path, TIMEZONE="UTC")
    with app.app_context():
        assert clock.date_text(AT) == "2026-12-01"
        assert clock.named(AT, "en") == "2026-12-01 21:12 (UTC)"
        assert "UTC" in clock.zone_label("ar")
    london = make_app(tmp_path, TIMEZONE="Europe/London")
    with london.app_context():
        assert clock.zone_label("en") == "United Kingdom time"
        assert clock.zone_label("ar") == "بتوقيت المملكة المتحدة"


def test_a_local_day_has_its_bounds_in_utc(tmp_path: Path) -> None:
    assert clock.day_start(date(2026, 12, 2)) == datetime(2026, 12, 1, 21, tzinfo=UTC)
    assert clock.day_end(date(2026, 12, 2)) == datetime(2026, 12, 2, 21, tzinfo=UTC)
    with make_app(tmp_path, TIMEZONE="Europe/London").app_context():
        change = date(2026, 3, 29)  # the clocks go forward: a day of 23 hours
        assert clock.day_end(change) - clock.day_start(change) == timedelta(hours=23)


def test_today_is_the_agencys_date(at_night: datetime) -> None:
    assert clock.today() == date(2026, 12, 2)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "kuwait", "", " Asia/Kuwait", "../etc", 3])
def test_an_unknown_zone_stops_the_start_naming_the_setting(tmp_path: Path, zone: Any) -> None:
    with pytest.raises(ConfigError) as refused:
        make_app(tmp_path, TIMEZONE=zone)
    assert refused.value.message.startswith("HAWIYA_TIMEZONE must name a time zone")
    assert repr(zone) in refused.value.message


def test_an_unknown_zone_from_the_environment_is_a_command_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from verification.app import cli

    monkeypatch.setenv("HAWIYA_TIMEZONE", "Asia/Atlantis")
    monkeypatch.setenv("HAWIYA_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    monkeypatch.setenv("HAWIYA_KEYS_DIR", str(tmp_path / "keys"))
    result = CliRunner().invoke(cli, ["keys", "list"])
    assert result.exit_code == 2
    assert "HAWIYA_TIMEZONE must name a time zone" in result.output
    assert "Traceback" not in result.output


# The pages


@pytest.fixture
def office(app: Flask, at_night: datetime) -> tuple[Flask, dict[str, Any]]:
    """Fatima with an ID and a document issued at AT, checked once by an agency and once by a
    document check."""
    return populate(app)


def populate(app: Flask) -> tuple[Flask, dict[str, Any]]:
    add_people(app, FATIMA)
    issue_ids(app, FATIMA)
    headers = {"Authorization": f"Bearer {backoffice_token(app)}"}
    data = {
        "civil_id": FATIMA.civil_id,
        "type": "housing_file_statement",
        "title": "Housing file statement",
        "office": "Housing Welfare Authority",
        "file": (io.BytesIO(make_pdf()), "letter.pdf"),
    }
    created = app.test_client().post(
        "/api/v1/documents", data=data, headers=headers, content_type="multipart/form-data"
    )
    assert created.status_code == 201, created.json
    key = make_agency(app)
    checked = app.test_client().post(
        "/api/v1/verify",
        json={"qr": phone_url(app), "purpose": "Rent support"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert checked.status_code == 200, checked.json
    return app, {"document": created.json, "headers": headers, "agency": key}


def pdf_issue_date(pdf: bytes) -> str:
    """Read the stamp's "Issued on" date back from the PDF's text."""
    document = pypdfium2.PdfDocument(pdf)
    text = document[0].get_textpage().get_text_range()
    found = re.search(r"Issued on.*?([0-9]{4}-[0-9]{2}-[0-9]{2})", text, re.DOTALL)
    assert found, text
    return found[1]


def page_issue_date(page: str) -> str:
    """Read the date of issue from a document's verdict page."""
    shown = r'<dd data-issued-on><bdi dir="ltr" class="when"><span>([0-9-]{10})</span>'
    found = re.search(shown, page)
    assert found, page
    return found[1]


def stamped_and_shown(app: Flask, record: dict[str, Any], headers: dict[str, str]):
    pdf = app.test_client().get(record["pdf_url"], headers=headers).data
    page = app.test_client().get(f"/d/{record['reference']}?lang=en")
    assert page.status_code == 200 and 'data-verdict="valid"' in page.text
    return pdf_issue_date(pdf), page_issue_date(page.text), page.text


def test_the_date_printed_on_a_document_is_the_date_its_verdict_page_shows(office) -> None:
    """The issue's case: issued at 21:12 UTC, the stamp said 2026-12-01 and /d said 2026-12-02."""
    app, made = office
    printed, shown, page = stamped_and_shown(app, made["document"], made["headers"])
    assert printed == shown == "2026-12-02"
    assert "(Kuwait time)" in page
    assert made["document"]["number"].startswith("HW-2026-")


def test_with_the_zone_set_to_utc_the_stamp_and_the_page_agree_on_the_utc_date(
    tmp_path: Path, at_night: datetime
) -> None:
    app = make_app(tmp_path, TIMEZONE="UTC")
    with app.app_context():
        db.upgrade(db.get_db().engine)
    app, made = populate(app)
    printed, shown, page = stamped_and_shown(app, made["document"], made["headers"])
    assert printed == shown == "2026-12-01"
    assert "<span>2026-12-01</span> <span>21:12:05</span></bdi> (UTC)" in page
    assert "Kuwait" not in page


def test_a_document_issued_on_new_years_eve_in_utc_carries_the_local_year(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 12, 31, 22, 0, tzinfo=UTC))
    _app, made = populate(app)
    assert made["document"]["number"].startswith("HW-2027-")
    printed, shown, _page = stamped_and_shown(app, made["document"], made["headers"])
    assert printed == shown == "2027-01-01"


def staff_browser(app: Flask) -> FlaskClient:
    client = https_client(app)
    staff_sign_in(client, "admin")
    return client


def pages(app: Flask, made: dict[str, Any]) -> Iterator[tuple[str, FlaskClient, str]]:
    """Yield every page that shows a time: its path, who opens it, and a time it must show."""
    public = https_client(app)
    yield f"/d/{made['document']['reference']}", public, "2026-12-02 00:12:05"
    yield phone_url(app).replace(app.config["PUBLIC_URL"], ""), public, "2026-12-02"
    holder = web_sign_in(app, FATIMA)
    yield "/me/documents", holder, "2026-12-02"
    yield "/me/verifications", holder, "2026-12-02 00:12"
    staff = staff_browser(app)
    with app.app_context():
        person = find(db.session(), FATIMA.civil_id)
        assert person is not None
        person_id = person.id
    yield f"/staff/beneficiaries/{person_id}", staff, "2026-12-02 00:12"
    yield "/staff/audit", staff, "2026-12-02 00:12:05"
    yield "/staff/", staff, "2026-12-02"
    yield "/staff/staff", staff, "2026-12-02 00:12"
    yield "/staff/keys", staff, ""


@pytest.mark.parametrize(("lang", "zone"), [("en", "Kuwait time"), ("ar", "بتوقيت الكويت")])
def test_every_page_that_shows_a_time_names_the_zone(office, lang: str, zone: str) -> None:
    app, made = office
    for path, client, shown in pages(app, made):
        sep = "&" if "?" in path else "?"
        page = client.get(f"{path}{sep}lang={lang}")
        assert page.status_code == 200, path
        assert zone in page.text, path
        assert shown.replace(" ", "</span> <span>") in page.text, path
        assert "UTC" not in page.text, path
        # each printed time is a left-to-right isolate whose date does not wrap
        when = r'<bdi dir="ltr" class="when"><span>[0-9]{4}-[0-9]{2}-[0-9]{2}</span>'
        assert re.search(when, page.text), path


def test_the_dashboard_counts_per_local_day(office) -> None:
    """The check at 21:12 UTC on 1 December counts on 2 December, the agency's day."""
    app, _made = office
    page = staff_browser(app).get("/staff/?lang=en").text
    assert 'data-day="2026-12-02">1<' in page
    assert 'data-day="2026-12-01">0<' in page


def test_the_audit_filter_reads_local_days(office) -> None:
    app, _made = office
    staff = staff_browser(app)
    on_the_2nd = staff.get("/staff/audit?action=document.issue&from=2026-12-02&to=2026-12-02")
    assert on_the_2nd.text.count("data-event=") == 1
    on_the_1st = staff.get("/staff/audit?action=document.issue&from=2026-12-01&to=2026-12-01")
    assert "data-event=" not in on_the_1st.text


def test_a_printed_time_never_wraps() -> None:
    css = (Path(__file__).resolve().parents[2] / "verification/static/hawiya.css").read_text()
    assert re.search(r"\.when > span\s*\{[^}]*white-space:\s*nowrap", css)


# The API


def times_in(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """Yield every field of a JSON answer that holds a time (named at or *_at)."""
    if isinstance(value, dict):
        for name, inner in value.items():
            yield from times_in(inner, name)
    elif isinstance(value, list):
        for inner in value:
            yield from times_in(inner, key)
    elif key == "at" or key.endswith("_at"):
        yield key, value


def test_the_api_spells_every_time_one_way(office) -> None:
    app, made = office
    client = app.test_client()
    holder = {"Authorization": f"Bearer {api_sign_in(app)}"}
    agency = {"Authorization": f"Bearer {made['agency']}"}
    record = made["document"]
    answers = [
        client.post(
            "/api/v1/verify", json={"qr": phone_url(app), "purpose": "Rent"}, headers=agency
        ),
        client.post(
            "/api/v1/verify",
            json={"qr": record["url"], "purpose": "Rent"},
            headers=agency,
        ),
        client.get(f"/api/v1/beneficiaries/{FATIMA.civil_id}", headers=made["headers"]),
        client.get(f"/api/v1/documents/{record['id']}", headers=made["headers"]),
        client.get("/api/v1/me/documents", headers=holder),
        client.get("/api/v1/me/verifications", headers=holder),
        client.get("/api/v1/audit/head"),
    ]
    seen = set()
    for answer in answers:
        assert answer.status_code == 200, (answer.request.path, answer.json)
        for key, value in times_in(answer.json):
            if key == "expires_at":
                continue  # a token's expiry: Unix time, as JWT's exp (the schema says so)
            assert isinstance(value, str) and API_TIME.fullmatch(value), (key, value)
            seen.add(key)
    assert {"checked_at", "issued_at", "updated_at", "at"} <= seen
