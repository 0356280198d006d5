"""Staff accounts: argon2 and TOTP, lockout, sessions, disabling, the `hawiya staff` commands."""

import re
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pyotp
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from identity import db
from identity.access import staff
from identity.models import AuditEvent, StaffUser
from identity.signin import sessions
from tests.apps import REDIS_URL, TABLES, https_client, make_app
from tests.factories import (
    STAFF_PASSWORD,
    csrf_from,
    make_staff,
    staff_code,
    staff_sign_in,
    use_fake_clock,
)


def audit_actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session().scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def post_login(client: FlaskClient, username: str, password: str, code: str, query: str = ""):
    token = csrf_from(client.get("/staff/login" + query).text)
    return client.post(
        "/staff/login" + query,
        data={"username": username, "password": password, "code": code, "csrf_token": token},
    )


def authenticate(app: Flask, username: str, password: str, code: str) -> StaffUser:
    with app.test_request_context():
        return staff.authenticate(username, password, code, "192.0.2.1")


def test_create_stores_an_argon2_hash_and_a_totp_secret_and_audits(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        new = staff.create(session, "  Alice.Admin ", "admin", "test")
        session.commit()
        user = staff.by_username(session, "alice.admin")
        assert user is not None and user.role == "admin" and user.active
        assert user.password_hash.startswith("$argon2id$")
        assert new.password not in user.password_hash and len(new.password) >= 16
        assert new.totp_uri.startswith("otpauth://totp/Hawiya:alice.admin?secret=")
        assert pyotp.parse_uri(new.totp_uri).secret == user.totp_secret
    assert audit_actions(app) == ["staff.create"]


@pytest.mark.parametrize(
    ("username", "role", "message"),
    [
        ("ab", "admin", "3 to 32 characters"),
        ("1alice", "admin", "starting with a letter"),
        ("alice smith", "admin", "3 to 32 characters"),
        ("alice", "root", "Unknown role"),
        ("existing", "issuer", "exists already"),
    ],
)
def test_create_refuses_bad_input_and_writes_nothing(
    app: Flask, username: str, role: str, message: str
) -> None:
    make_staff(app, "auditor", "existing")
    with app.app_context():
        session = db.session()
        with pytest.raises(staff.StaffRefused, match=message):
            staff.create(session, username, role, "test")
        session.rollback()
        assert session.scalar(select(func.count(StaffUser.id))) == 1
    assert audit_actions(app) == ["staff.create"]


def test_the_role_table() -> None:
    assert staff.can("auditor", "read") and not staff.can("auditor", "revoke")
    assert staff.can("issuer", "issue") and staff.can("issuer", "revoke")
    assert not staff.can("issuer", "manage_agencies") and not staff.can("issuer", "manage_keys")
    for permission in ("manage_staff", "manage_agencies", "manage_keys", "issue", "read"):
        assert staff.can("admin", permission)
    assert not staff.can("nobody", "read")


def test_password_and_code_sign_in_and_are_audited(app: Flask) -> None:
    username, password, secret = make_staff(app, "issuer")
    user = authenticate(app, username.upper(), password, staff_code(secret))
    assert user.username == username
    with app.app_context():
        stored = staff.by_username(db.session(), username)
        assert stored is not None and stored.last_login_at is not None
    assert audit_actions(app)[-1] == "staff.login"


@pytest.mark.parametrize("wrong", ["password", "code", "user", "disabled"])
def test_each_wrong_factor_is_refused_and_audited(app: Flask, wrong: str) -> None:
    username, password, secret = make_staff(app, "issuer")
    code = staff_code(secret)
    if wrong == "password":
        password = password + "x"
    elif wrong == "code":
        code = f"{(int(code) + 1) % 1_000_000:06d}"
    elif wrong == "user":
        username = "nobody-here"
    else:
        with app.app_context():
            user = staff.by_username(db.session(), username)
            assert user is not None
            staff.set_active(db.session(), user, False, "test")
            db.session().commit()
    with pytest.raises(staff.SignInRefused) as refused:
        authenticate(app, username, password, code)
    assert not refused.value.locked
    assert audit_actions(app)[-1] == "staff.login_failure"


def test_a_code_is_accepted_only_once(app: Flask) -> None:
    """Regression: a code seen over a shoulder or replayed from a log cannot sign in again."""
    username, password, secret = make_staff(app, "auditor")
    code = staff_code(secret)
    authenticate(app, username, password, code)
    with pytest.raises(staff.SignInRefused):
        authenticate(app, username, password, code)


def test_a_code_of_the_previous_step_is_accepted_but_not_an_older_one(app: Flask) -> None:
    username, password, secret = make_staff(app, "auditor")
    totp = pyotp.TOTP(secret)
    import time

    with pytest.raises(staff.SignInRefused):
        authenticate(app, username, password, totp.at(time.time() - 90))
    authenticate(app, username, password, totp.at(time.time() - 30))


def test_five_failures_lock_the_name_for_fifteen_minutes(app: Flask) -> None:
    clock = use_fake_clock(app)
    username, password, secret = make_staff(app, "admin")
    for _ in range(staff.LOCK_AFTER - 1):
        with pytest.raises(staff.SignInRefused) as refused:
            authenticate(app, username, "wrong", "000000")
        assert not refused.value.locked
    with pytest.raises(staff.SignInRefused) as refused:
        authenticate(app, username, "wrong", "000000")
    assert refused.value.locked
    assert "staff.locked" in audit_actions(app)
    # Locked: even the right password and code are refused, and the code is not used up.
    code = staff_code(secret)
    with pytest.raises(staff.SignInRefused) as refused:
        authenticate(app, username, password, code)
    assert refused.value.locked
    clock.advance(staff.LOCK_SECONDS + 1)
    assert authenticate(app, username, password, staff_code(secret)).username == username


def test_an_unknown_name_locks_the_same_way(app: Flask) -> None:
    """Regression: the lockout must not tell which usernames exist."""
    use_fake_clock(app)
    outcomes = []
    for _ in range(staff.LOCK_AFTER):
        with pytest.raises(staff.SignInRefused) as refused:
            authenticate(app, "ghost", "wrong", "000000")
        outcomes.append(refused.value.locked)
    assert outcomes == [False] * (staff.LOCK_AFTER - 1) + [True]


def test_a_success_resets_the_failure_count(app: Flask) -> None:
    use_fake_clock(app)
    username, password, secret = make_staff(app, "admin")
    for _ in range(staff.LOCK_AFTER - 1):
        with pytest.raises(staff.SignInRefused):
            authenticate(app, username, "wrong", "000000")
    authenticate(app, username, password, staff_code(secret))
    with pytest.raises(staff.SignInRefused) as refused:
        authenticate(app, username, "wrong", "000000")
    assert not refused.value.locked


def test_the_login_page_signs_in_with_a_strict_host_cookie(client: FlaskClient) -> None:
    username, password, secret = make_staff(client.application, "auditor")
    response = post_login(client, username, password, staff_code(secret))
    assert response.status_code == 302 and response.location.endswith("/staff/")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{sessions.STAFF_COOKIE}=")
    for attribute in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert attribute in cookie
    assert "Domain" not in cookie
    assert client.get("/staff/").location == "/staff/password"


def change(client: FlaskClient, current: str, new: str, repeat: str, query: str = ""):
    token = csrf_from(client.get("/staff/password" + query).text)
    return client.post(
        "/staff/password" + query,
        data={"current": current, "new": new, "repeat": repeat, "csrf_token": token},
    )


@pytest.mark.parametrize("query", ["", "?lang=en"])
def test_the_printed_password_works_once(client: FlaskClient, query: str) -> None:
    """Regression: a password seen by whoever handed it over must not stay usable."""
    username, password, secret = make_staff(client.application, "auditor")
    post_login(client, username, password, staff_code(secret))
    for path in ("/staff/", "/staff/audit", "/staff/search?q=x"):
        assert client.get(path).location == "/staff/password"
    page = client.get("/staff/password" + query)
    assert page.status_code == 200
    assert ("Choose your password" if query else "اختر كلمة المرور") in page.text
    new = "correct horse battery staple"
    refusals = [
        (("wrong password", new, new), "Your current password is not right."),
        ((password, "short", "short"), "Choose a password of 12 to 256 characters."),
        ((password, new, new + "!"), "The two new passwords are not the same."),
        ((password, password, password), "Choose a password different from the one"),
    ]
    for (current, chosen, repeat), english in refusals:
        refused = change(client, current, chosen, repeat, "?lang=en")
        assert refused.status_code == 400 and english in refused.text
    assert client.get("/staff/").location == "/staff/password"
    done = change(client, password, new, new, query)
    assert done.status_code == 302 and done.location == "/staff/"
    assert client.get("/staff/").status_code == 200
    assert audit_actions(client.application)[-1] == "staff.password_change"
    with client.application.app_context():
        user = staff.by_username(db.session(), username)
        assert user is not None and not user.must_change_password
        # The code of this step is used up; the hash alone tells which password works now.
        assert staff._password_matches(user, new) and not staff._password_matches(user, password)


@pytest.mark.parametrize(
    ("query", "wrong", "locked"),
    [
        ("", "اسم المستخدم أو كلمة المرور أو الرمز غير صحيح.", "محاولات"),
        ("?lang=en", "The username, password or code is not right.", "Too many failed sign-ins"),
    ],
)
def test_the_login_page_explains_refusals_in_each_language(
    client: FlaskClient, query: str, wrong: str, locked: str
) -> None:
    use_fake_clock(client.application)
    username, _password, _secret = make_staff(client.application, "auditor")
    for _ in range(staff.LOCK_AFTER - 1):
        refused = post_login(client, username, "wrong", "000000", query)
        assert refused.status_code == 401 and wrong in refused.text
        assert f'value="{username}"' in refused.text  # the name is kept, the password is not
    refused = post_login(client, username, "wrong", "000000", query)
    assert refused.status_code == 429 and locked in refused.text
    assert sessions.STAFF_COOKIE not in refused.headers.get("Set-Cookie", "")


def test_the_login_form_needs_its_csrf_token(client: FlaskClient) -> None:
    username, password, secret = make_staff(client.application, "auditor")
    client.get("/staff/login")
    response = client.post(
        "/staff/login",
        data={"username": username, "password": password, "code": staff_code(secret)},
    )
    assert response.status_code == 400
    assert audit_actions(client.application) == ["staff.create"]


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/me", "/staff"])
def test_after_sign_in_only_console_paths_are_followed(client: FlaskClient, target: str) -> None:
    username, password, secret = make_staff(client.application, "auditor")
    token = csrf_from(client.get("/staff/login").text)
    response = client.post(
        "/staff/login",
        data={"username": username, "password": password, "code": staff_code(secret),
              "csrf_token": token, "next": target},
    )  # fmt: skip
    assert response.status_code == 302 and response.location == "/staff/"


def test_a_page_asked_for_before_sign_in_is_shown_after_it(client: FlaskClient) -> None:
    first = client.get("/staff/audit?action=staff.login")
    assert first.status_code == 302 and "/staff/login?next=" in first.location
    login_page = client.get(first.location)
    assert 'name="next" value="/staff/audit?action=staff.login"' in login_page.text
    username, password, secret = make_staff(client.application, "auditor")
    response = client.post(
        "/staff/login",
        data={"username": username, "password": password, "code": staff_code(secret),
              "csrf_token": csrf_from(login_page.text), "next": "/staff/audit?action=staff.login"},
    )  # fmt: skip
    assert response.location == "/staff/audit?action=staff.login"


def test_sign_out_ends_the_session_in_the_store(client: FlaskClient) -> None:
    staff_sign_in(client, "auditor")
    cookie = client.get_cookie(sessions.STAFF_COOKIE)
    assert cookie is not None
    page = client.get("/staff/")
    out = client.post("/staff/logout", data={"csrf_token": csrf_from(page.text)})
    assert out.status_code == 302 and out.location.endswith("/staff/login")
    replay = https_client(client.application)
    replay.set_cookie(sessions.STAFF_COOKIE, cookie.value, secure=True)
    assert replay.get("/staff/").status_code == 302


def test_staff_and_beneficiary_sessions_do_not_open_each_other(client: FlaskClient) -> None:
    staff_sign_in(client, "admin")
    cookie = client.get_cookie(sessions.STAFF_COOKIE)
    assert cookie is not None
    other = https_client(client.application)
    other.set_cookie(sessions.COOKIE, cookie.value, secure=True)
    assert other.get("/me").status_code == 302
    assert other.get("/staff/").status_code == 302


def test_a_session_ends_after_the_idle_time(client: FlaskClient) -> None:
    clock = use_fake_clock(client.application)
    staff_sign_in(client, "auditor")
    clock.advance(client.application.config["SESSION_IDLE"] - 10)
    assert client.get("/staff/").status_code == 200  # use renews the idle time
    clock.advance(client.application.config["SESSION_IDLE"] - 10)
    assert client.get("/staff/").status_code == 200
    clock.advance(client.application.config["SESSION_IDLE"] + 1)
    assert client.get("/staff/").status_code == 302


def test_a_session_ends_after_the_absolute_time(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    staff_sign_in(client, "auditor")
    assert client.get("/staff/").status_code == 200
    later = sessions.time.time() + client.application.config["SESSION_MAX"] + 1

    class Later:
        @staticmethod
        def time() -> float:
            return later

    monkeypatch.setattr(sessions, "time", Later)
    assert client.get("/staff/").status_code == 302


def test_disabling_ends_the_session_at_the_next_request(client: FlaskClient) -> None:
    username = staff_sign_in(client, "issuer")
    assert client.get("/staff/").status_code == 200
    result = client.application.test_cli_runner().invoke(args=["staff", "disable", username])
    assert result.exit_code == 0, result.output
    assert client.get("/staff/").status_code == 302
    assert "staff.disable" in audit_actions(client.application)


class FrozenTime:
    """A clock for staff.authenticate that stays at one moment, so TOTP steps do not roll over."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now


def signed_in_as(app: Flask, username: str, password: str, secret: str, step: int) -> FlaskClient:
    """Sign a new browser in as this user with the TOTP code of `step` steps from now (-1..1).

    Each code is taken once, so each browser of one user signs in with a code of its own.
    """
    browser = https_client(app)
    frozen = staff.time.time()  # the FrozenTime of the test
    code = pyotp.TOTP(secret).at(frozen + step * staff.TOTP_STEP)
    assert post_login(browser, username, password, code).status_code == 302
    return browser


def change_password(browser: FlaskClient, current: str, new: str):
    page = browser.get("/staff/password")
    return browser.post(
        "/staff/password",
        data={"current": current, "new": new, "repeat": new, "csrf_token": csrf_from(page.text)},
    )


def test_a_password_change_ends_every_other_session_of_the_user(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stolen or forgotten session stayed signed in after its owner changed the password."""
    app = client.application
    monkeypatch.setattr(staff, "time", FrozenTime())
    username, printed, secret = make_staff(app, "issuer")
    first = signed_in_as(app, username, printed, secret, 0)
    assert change_password(first, printed, STAFF_PASSWORD).status_code == 302
    other = signed_in_as(app, username, STAFF_PASSWORD, secret, -1)
    assert other.get("/staff/").status_code == 200
    before = first.get_cookie(sessions.STAFF_COOKIE)
    assert before is not None

    changed = change_password(first, STAFF_PASSWORD, "a newer staff password")

    assert changed.status_code == 302 and changed.location == "/staff/"
    renewed = first.get_cookie(sessions.STAFF_COOKIE)
    assert renewed is not None and renewed.value != before.value
    assert first.get("/staff/").status_code == 200  # the session that made the change goes on
    assert other.get("/staff/").location.startswith("/staff/login")  # every other one ends
    replay = https_client(app)
    replay.set_cookie(sessions.STAFF_COOKIE, before.value, secure=True)
    assert replay.get("/staff/").status_code == 302  # the changer's old token is worthless
    signed_in_as(app, username, "a newer staff password", secret, 1)  # and the new one works


def test_a_password_change_leaves_other_users_signed_in(client: FlaskClient) -> None:
    app = client.application
    first = https_client(app)
    staff_sign_in(first, "issuer")
    staff_sign_in(client, "issuer")
    assert change_password(client, STAFF_PASSWORD, "a newer staff password").status_code == 302
    assert first.get("/staff/").status_code == 200


def test_a_reset_ends_every_session_of_the_user(client: FlaskClient) -> None:
    """A reset (a lost phone) must sign out whoever holds the lost phone's session."""
    username = staff_sign_in(client, "issuer")
    assert client.get("/staff/").status_code == 200
    result = client.application.test_cli_runner().invoke(args=["staff", "reset", username])
    assert result.exit_code == 0, result.output
    assert client.get("/staff/").location.startswith("/staff/login")


@pytest.fixture
def two_instances(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> Iterator[tuple[Flask, Flask]]:
    """Two apps on one PostgreSQL database and one Redis, as two servers behind a balancer.

    They share one secret, as every instance must (README, several instances).
    """
    prefix, secret = f"test:{uuid4().hex}:", f"test-secret-{uuid4().hex}"
    apps = tuple(
        make_app(
            tmp_path,
            DATABASE_URL=postgres_url,
            REDIS_URL=redis_url,
            STORE_PREFIX=prefix,
            SECRET_KEY=secret,
        )
        for _ in range(2)
    )
    yield apps[0], apps[1]
    engine = apps[0].extensions["hawiya.db"].engine
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    for application in apps:
        application.extensions["hawiya.db"].engine.dispose()
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_disabling_on_one_instance_ends_the_session_on_another(
    two_instances: tuple[Flask, Flask],
) -> None:
    first, second = two_instances
    browser = https_client(first)
    username = staff_sign_in(browser, "issuer")
    cookie = browser.get_cookie(sessions.STAFF_COOKIE)
    assert cookie is not None
    on_second = https_client(second)
    on_second.set_cookie(sessions.STAFF_COOKIE, cookie.value, secure=True)
    assert on_second.get("/staff/").status_code == 200  # the session is shared through Redis
    result = first.test_cli_runner().invoke(args=["staff", "disable", username])
    assert result.exit_code == 0, result.output
    assert on_second.get("/staff/").status_code == 302
    assert browser.get("/staff/").status_code == 302


def test_cli_create_prints_the_uri_and_the_password_last(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["staff", "create", "Mona", "--role", "issuer"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    uri = next(line for line in lines if line.startswith("otpauth://totp/"))
    password = lines[-1]
    secret = pyotp.parse_uri(uri).secret
    assert authenticate(app, "mona", password, pyotp.TOTP(secret).now()).role == "issuer"


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["staff", "create", "mona", "--role", "root"], 2, "Invalid value for '--role'"),
        (["staff", "create", "x", "--role", "admin"], 1, "3 to 32 characters"),
        (["staff", "create", "taken", "--role", "admin"], 1, "exists already"),
        (["staff", "disable", "nobody"], 1, "No staff user named 'nobody'"),
    ],
)
def test_cli_refusals(app: Flask, args: list[str], status: int, message: str) -> None:
    make_staff(app, "admin", "taken")
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == status and message in result.output
    with app.app_context():
        assert db.session().scalar(select(func.count(StaffUser.id))) == 1


def test_demo_prints_how_staff_sign_in(app: Flask) -> None:
    runner = app.test_cli_runner()
    for args in (["demo"], ["demo", "--reset"]):  # a reset gives new credentials that work too
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        found = re.search(
            r"username demo-admin, password (\S+), TOTP secret ([A-Z2-7]+)", result.output
        )
        assert found, result.output
        user = authenticate(app, "demo-admin", found.group(1), pyotp.TOTP(found.group(2)).now())
        assert user.role == "admin"


def test_cli_reset_gives_new_credentials_and_stops_the_old(app: Flask) -> None:
    username, password, secret = make_staff(app, "issuer")
    result = app.test_cli_runner().invoke(args=["staff", "reset", username])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    new_secret = pyotp.parse_uri(next(x for x in lines if x.startswith("otpauth://"))).secret
    assert new_secret != secret
    with pytest.raises(staff.SignInRefused):
        authenticate(app, username, password, pyotp.TOTP(secret).now())
    user = authenticate(app, username, lines[-1], pyotp.TOTP(new_secret).now())
    assert user.must_change_password
    assert "staff.reset" in audit_actions(app)
    missing = app.test_cli_runner().invoke(args=["staff", "reset", "nobody"])
    assert missing.exit_code == 1 and "No staff user named 'nobody'" in missing.output


def test_sign_ins_from_one_address_are_limited_across_names(app: Flask) -> None:
    """Regression: the per-name lockout alone would let one address try many names."""
    use_fake_clock(app)
    for i in range(staff.SIGN_INS_PER_ADDRESS):
        with pytest.raises(staff.SignInRefused):
            authenticate(app, f"name{i}", "wrong", "000000")
    from identity.errors import TooManyRequests

    with pytest.raises(TooManyRequests):
        authenticate(app, "another", "wrong", "000000")
