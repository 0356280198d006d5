"""Configuration: the defaults of DESIGN.md, HAWIYA_* overrides, and the start-up checks."""

import os
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from identity import clock

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    "ENV": "development",
    "PUBLIC_URL": "http://127.0.0.1:5000",
    "DATABASE_URL": "sqlite:///instance/hawiya.sqlite3",
    "REDIS_URL": None,
    "SECRET_KEY": None,
    "KEYS_DIR": "keys",
    "SMS_BACKEND": "console",
    "SMS_HTTP_URL": None,
    "SMS_HTTP_TOKEN": None,
    "OTP_TTL": 300,
    "OTP_RESEND_COOLDOWN": 60,
    "QR_TTL": 60,
    "SESSION_IDLE": 900,
    "SESSION_MAX": 43200,
    "TRUSTED_PROXIES": 0,
    "WORKERS": 1,
    "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
    "TRUSTED_HOSTS": None,  # HAWIYA_TRUSTED_HOSTS; resolved by resolve_trusted_hosts
    "TIMEZONE": clock.DEFAULT_ZONE,  # the zone people see times in (identity.clock)
}

ENVIRONMENTS = ("development", "production", "testing")
MAX_PUBLIC_URL = 35  # `<PUBLIC_URL>/d/<22-character reference>` fits a version-5 QR at level Q
SMS_BACKENDS = ("console", "http")
# Each whole-number setting, the range it may take and its unit. Outside it a setting breaks a
# rule at the first request rather than at start-up (a cooldown of 0 cannot be stored, so a
# matched sign-in answered 500), leaves no time to type a code, or makes no sense (no workers).
INTEGER_SETTINGS: dict[str, tuple[int, int, str]] = {
    "OTP_TTL": (60, 3600, "seconds"),
    "OTP_RESEND_COOLDOWN": (1, 3600, "seconds"),
    "QR_TTL": (15, 3600, "seconds"),  # the card fetches its next QR 10 s before expiry
    "SESSION_IDLE": (60, 7 * 24 * 3600, "seconds"),
    "SESSION_MAX": (60, 7 * 24 * 3600, "seconds"),
    "TRUSTED_PROXIES": (0, 5, "proxy hops"),
    "WORKERS": (1, 64, "workers"),
}


# Host names answered in development and testing besides PUBLIC_URL's: `make run`, the test
# clients and the benchmarks reach the app on this machine under these names.
LOCAL_HOSTS = ("127.0.0.1", "localhost")
# A DNS name or an IPv4 address, without a port; a leading dot also accepts every subdomain.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOST_NAME = re.compile(rf"\.?{_LABEL}(?:\.{_LABEL})*")


class ConfigError(Exception):
    """A setting that makes it unsafe or impossible to start; the message says which and why.

    Not a Refused: it is the operator's to fix, not the caller's, so over HTTP it stays the
    usual 500 with no details. The command line prints its message and exits with status 2
    (identity.cli.commands.answering_refusals, and the `hawiya` group in verification.app at
    start-up).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def resolve_paths(config: dict[str, Any], instance_path: Path) -> None:
    """Anchor the relative paths of the defaults at the project folder, not the working folder."""
    url = str(config["DATABASE_URL"])
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        path = PROJECT_ROOT / url[len(prefix) :]
        path.parent.mkdir(parents=True, exist_ok=True)
        config["DATABASE_URL"] = prefix + str(path)
    keys_dir = Path(config["KEYS_DIR"])
    config["KEYS_DIR"] = str(keys_dir if keys_dir.is_absolute() else PROJECT_ROOT / keys_dir)
    config["INSTANCE_PATH"] = str(instance_path)


def load_secret_key(config: dict[str, Any], instance_path: Path) -> None:
    """Use HAWIYA_SECRET_KEY, or in development a key generated once into the instance folder."""
    if config.get("SECRET_KEY"):
        return
    if config["ENV"] == "production":
        raise ConfigError(
            "HAWIYA_SECRET_KEY is not set: production needs a secret of its own "
            "(generate one with: python -c 'import secrets; print(secrets.token_hex(32))')."
        )
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    config["SECRET_KEY"] = path.read_text().strip()


def check(config: dict[str, Any]) -> None:
    """Refuse to start, with one clear sentence, on a configuration that cannot work safely."""
    if config["ENV"] not in ENVIRONMENTS:
        raise ConfigError(f"HAWIYA_ENV must be one of {', '.join(ENVIRONMENTS)}.")
    for name, (low, high, unit) in INTEGER_SETTINGS.items():
        value = config[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ConfigError(
                f"HAWIYA_{name} must be a whole number of {unit} from {low} to {high}, "
                f"not {value!r}."
            )
    if config["SESSION_IDLE"] > config["SESSION_MAX"]:
        raise ConfigError(
            f"HAWIYA_SESSION_IDLE ({config['SESSION_IDLE']}) must not exceed HAWIYA_SESSION_MAX "
            f"({config['SESSION_MAX']}): a session cannot stay idle longer than it may live."
        )
    if config["WORKERS"] > 1 and not config.get("REDIS_URL"):
        raise ConfigError(
            f"HAWIYA_WORKERS is {config['WORKERS']} but HAWIYA_REDIS_URL is not set: codes, "
            "sessions and rate limits must be shared, so more than one worker needs Redis."
        )
    # The recording sender keeps messages in memory for the tests to read; nowhere else.
    backends = (*SMS_BACKENDS, "recording") if config["ENV"] == "testing" else SMS_BACKENDS
    if config["SMS_BACKEND"] not in backends:
        raise ConfigError(
            f"HAWIYA_SMS_BACKEND must be 'console' or 'http', not {config['SMS_BACKEND']!r}."
        )
    if config["SMS_BACKEND"] == "http" and not (
        config.get("SMS_HTTP_URL") and config.get("SMS_HTTP_TOKEN")
    ):
        raise ConfigError(
            "HAWIYA_SMS_BACKEND is 'http' but HAWIYA_SMS_HTTP_URL or HAWIYA_SMS_HTTP_TOKEN "
            "is not set."
        )
    if config["ENV"] == "production" and config["SMS_BACKEND"] != "http":
        raise ConfigError(
            "HAWIYA_SMS_BACKEND must be 'http' in production: the console sender prints codes."
        )
    try:
        clock.zone_named(config["TIMEZONE"])
    except clock.UnknownZone:
        raise ConfigError(
            f"HAWIYA_TIMEZONE must name a time zone of the IANA database, such as Asia/Kuwait "
            f"or UTC, not {config['TIMEZONE']!r}."
        ) from None
    if not str(config["PUBLIC_URL"]).startswith(("http://", "https://")):
        raise ConfigError("HAWIYA_PUBLIC_URL must start with http:// or https://.")
    if len(str(config["PUBLIC_URL"]).rstrip("/")) > MAX_PUBLIC_URL:
        raise ConfigError(
            f"HAWIYA_PUBLIC_URL must be at most {MAX_PUBLIC_URL} characters, so that the QR "
            "stamped on documents stays small enough to print (version 5 at level Q)."
        )


def resolve_trusted_hosts(config: dict[str, Any]) -> None:
    """Set TRUSTED_HOSTS to the host names the app answers for; Flask refuses any other Host.

    Always the host of PUBLIC_URL (where every QR points), plus 127.0.0.1 and localhost outside
    production, plus the comma-separated names of HAWIYA_TRUSTED_HOSTS. A Host header is the
    client's to choose, and werkzeug builds absolute URLs (its redirects) from it.
    """
    added = config.get("TRUSTED_HOSTS")
    if added is None:
        added = []
    elif isinstance(added, str):
        added = [name.strip() for name in added.split(",") if name.strip()]
    if not isinstance(added, list | tuple) or not all(isinstance(n, str) for n in added):
        raise ConfigError(
            f"HAWIYA_TRUSTED_HOSTS must be host names separated by commas, not {added!r}."
        )
    hosts = [str(urlsplit(str(config["PUBLIC_URL"])).hostname or "")]
    if config["ENV"] != "production":
        hosts += LOCAL_HOSTS
    trusted: list[str] = []
    for name in (*hosts, *added):
        name = name.lower()
        if not HOST_NAME.fullmatch(name):
            raise ConfigError(
                f"HAWIYA_TRUSTED_HOSTS (with the host of HAWIYA_PUBLIC_URL) must hold host names "
                f"or IPv4 addresses without a port, such as id.agency.example, not {name!r}."
            )
        if name not in trusted:
            trusted.append(name)
    config["TRUSTED_HOSTS"] = trusted
