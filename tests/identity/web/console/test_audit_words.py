"""Every action the audit log can hold is named in Arabic and English; actors and details too."""

import ast
import re
from pathlib import Path

import pytest
from flask import Flask

from identity import db
from identity.audit import chain
from identity.audit.actions import ACTIONS
from identity.web.console import audit_words

ROOT = Path(__file__).resolve().parents[4]
ARABIC = re.compile("[\u0600-\u06ff]")
ACTION_SHAPE = re.compile(r"[a-z_]+\.[a-z_]+")


def plain_texts(node: ast.expr) -> list[str]:
    """The texts an expression is without a call: "a", "a" if x else "b", ("a", "x")."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return plain_texts(node.body) + plain_texts(node.orelse)
    if isinstance(node, ast.Tuple):
        return [text for element in node.elts for text in plain_texts(element)]
    return []


def recorded_literals() -> set[str]:
    """The action texts the code hands to chain.record / chain.Entry or names `action`."""
    found: set[str] = set()
    for path in (ROOT / "identity").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            values: list[ast.expr] = []
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                if name in {"record", "Entry"} and len(node.args) >= 3:
                    values.append(node.args[2] if name == "record" else node.args[1])
            elif isinstance(node, ast.Assign) and any(
                isinstance(name, ast.Name) and name.id == "action"
                for target in node.targets
                for name in ast.walk(target)
            ):
                values.append(node.value)  # action = "a" if … else "b"; action, event = "a", "x"
            for value in values:
                for constant in plain_texts(value):
                    if ACTION_SHAPE.fullmatch(constant):
                        found.add(constant)
    return found


def test_every_action_the_code_records_is_in_the_registry() -> None:
    literals = recorded_literals()
    assert {"otp.sent", "credential.issue", "staff.login_failure"} <= literals
    assert literals - ACTIONS == set()
    # The one action spelled with an f-string: credential.{revoke,suspend,reinstate}.
    from identity.digital_id.credentials import TRANSITIONS

    assert {f"credential.{action}" for action in TRANSITIONS} <= ACTIONS


def test_the_audit_log_refuses_an_action_outside_the_registry(app: Flask) -> None:
    with app.app_context():
        with pytest.raises(ValueError, match="is not in the registry"):
            chain.record(db.session(), "system", "made.up", "thing:1")
        with pytest.raises(ValueError, match="is not in the registry"):
            chain.record_many(db.session(), [chain.Entry("system", "made.up", "thing:1", {})])


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_action_has_an_arabic_and_an_english_name(app: Flask, action: str) -> None:
    assert action in audit_words.ACTION_NAMES, f"name {action} in audit_words.ACTION_NAMES"
    with app.test_request_context("/?lang=en"):
        english = audit_words.action_name(action)
    with app.test_request_context("/?lang=ar"):
        arabic = audit_words.action_name(action)
    assert english != action and not ARABIC.search(english)
    assert ARABIC.search(arabic), f"translate {english!r} in messages.po"


def test_no_name_for_an_action_that_cannot_be_recorded() -> None:
    assert set(audit_words.ACTION_NAMES) == set(ACTIONS)


@pytest.mark.parametrize(
    ("party", "english", "arabic"),
    [
        ("staff:demo-admin", "Staff member demo-admin", "الموظف demo-admin"),
        ("system", "The system", "النظام"),
        ("cli", "The command line", "سطر الأوامر"),
        ("beneficiary:********2596", "Beneficiary ********2596", "المستفيد ********2596"),
        ("backoffice:7", "Back-office token 7", "رمز المكتب الخلفي 7"),
        ("thing:9", "thing:9", "thing:9"),
    ],
)
def test_actors_and_subjects_in_words(app: Flask, party: str, english: str, arabic: str) -> None:
    with app.test_request_context("/?lang=en"):
        assert audit_words.party_name(party) == english
    with app.test_request_context("/?lang=ar"):
        assert audit_words.party_name(party) == arabic


def test_details_in_words(app: Flask) -> None:
    details = '{"from":"active","reason":"=cmd()","to":"revoked","weird":[1,true]}'
    with app.test_request_context("/?lang=en"):
        assert audit_words.detail_words(details) == [
            ("Status before", "Active"), ("Reason", "=cmd()"), ("Status after", "Revoked"),
            ("weird", "1, Yes"),
        ]  # fmt: skip
        assert audit_words.detail_words("{}") == []
        assert audit_words.detail_words("not json") == [("", "not json")]
    with app.test_request_context("/?lang=ar"):
        label, value = audit_words.detail_words(details)[0]
        assert ARABIC.search(label) and ARABIC.search(value)


def test_the_audit_page_and_its_filter_speak_arabic_and_english(world: Flask) -> None:
    from tests.identity.web.console.test_console import browser, credential, form_post, person_id

    admin = browser(world, "admin")
    cred = credential(world)
    form_post(admin, f"/staff/beneficiaries/{person_id(world)}",
              f"/staff/credentials/{cred.id}/suspend", reason="Lost phone")  # fmt: skip
    arabic = admin.get("/staff/audit?lang=ar").text
    assert "تعليق الهوية الرقمية" in arabic and 'الموظف <bdi dir="ltr">admin-' in arabic
    assert "الحالة قبل: <bdi>سارية</bdi>" in arabic and "السبب: <bdi>Lost phone</bdi>" in arabic
    assert '<option value="otp.sent">إرسال رمز الدخول برسالة نصية</option>' in arabic
    assert '{"' not in arabic and ">credential.suspend<" not in arabic
    english = admin.get("/staff/audit?lang=en&action=credential.suspend").text
    assert english.count("data-event=") == 1 and "Digital ID suspended" in english
    assert 'Staff member <bdi dir="ltr">admin-' in english
    assert "Status after: <bdi>Suspended</bdi>" in english
    assert '<option value="credential.suspend" selected>Digital ID suspended</option>' in english


def test_names_on_the_page_stay_left_to_right_and_escaped(app: Flask) -> None:
    with app.test_request_context("/?lang=ar"):
        assert (
            audit_words.party_markup("staff:demo-admin") == 'الموظف <bdi dir="ltr">demo-admin</bdi>'
        )
        assert "&lt;b&gt;" in audit_words.party_markup("staff:<b>x")
        assert "&lt;b&gt;" in audit_words.party_markup("<b>:x")
