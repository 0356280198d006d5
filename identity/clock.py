"""One clock: where the current time is read and how every time is spelled.

The rule (DESIGN.md, `HAWIYA_TIMEZONE`):

- people see the agency's local time, in the zone of `HAWIYA_TIMEZONE` (default `Asia/Kuwait`),
  and every page that shows a time names that zone (`zone_label`, `named`);
- machines (the JSON API, exports) get UTC to the second with `Z`: `api_time`;
- a date printed on a document is its local calendar date (`date_text`), the same date its
  verdict page shows;
- the audit chain hashes its own exact spelling (`audit_iso`), which never changes: the hash of
  every stored row depends on it.

Stored times are UTC: SQLite hands them back naive, PostgreSQL aware in the session's zone; both
are read through `utc`. Outside an application (a bare script) the default zone applies.
"""

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.core import UnknownLocaleError
from babel.dates import get_timezone_location
from flask import current_app, has_app_context

DEFAULT_ZONE = "Asia/Kuwait"
SETTING = "TIMEZONE"  # HAWIYA_TIMEZONE
LANGUAGES = ("ar", "en")
# Zones that are UTC itself: CLDR calls them "Unknown Region (UTC)", so they get their own name.
_UTC_NAMES = {
    "UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu",
    "GMT", "Etc/GMT", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0", "GMT0", "GMT+0", "GMT-0",
    "Etc/Greenwich", "Greenwich",
}  # fmt: skip
_UTC_LABELS = {"en": "UTC", "ar": "بالتوقيت العالمي UTC"}


class UnknownZone(ValueError):
    """A zone name that the time-zone database does not hold."""


def now() -> datetime:
    """Return the current time, aware, in UTC: the one place the current time is read.

    Tests set the clock by replacing this function (identity.models.utcnow calls it).
    """
    return datetime.now(UTC)


def zone_named(name: object) -> ZoneInfo:
    """Return the zone of an IANA name such as Asia/Kuwait; raise UnknownZone otherwise."""
    if not isinstance(name, str) or not name or name != name.strip():
        raise UnknownZone(repr(name))
    return _zone(name)


@lru_cache(maxsize=32)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UnknownZone(name) from None


def zone() -> ZoneInfo:
    """Return the agency's zone: the app's HAWIYA_TIMEZONE, or the default outside an app."""
    name = current_app.config.get(SETTING, DEFAULT_ZONE) if has_app_context() else DEFAULT_ZONE
    return zone_named(str(name))


def utc(at: datetime) -> datetime:
    """Return a stored time (naive UTC, or aware in any zone) as an aware time in UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def local(at: datetime) -> datetime:
    """Return a stored time (naive UTC, or aware) in the agency's zone."""
    return utc(at).astimezone(zone())


def today() -> date:
    """Return the agency's calendar date now."""
    return local(now()).date()


def day_start(day: date) -> datetime:
    """Return when a local calendar day begins, in UTC (the bound to compare stored times with)."""
    return datetime.combine(day, time.min, zone()).astimezone(UTC)


def day_end(day: date) -> datetime:
    """Return when a local calendar day ends (the next one begins), in UTC; exclusive."""
    return day_start(day + timedelta(days=1))


# The spellings for machines.


def api_time(at: datetime) -> str:
    """Spell a time for machines: UTC to the second with `Z`, e.g. 2026-12-01T21:12:05Z."""
    return utc(at).isoformat(timespec="seconds").replace("+00:00", "Z")


def audit_iso(at: datetime) -> str:
    """Spell a time as the audit chain hashes it, e.g. 2026-12-01T21:12:05.000000+00:00.

    Never change a byte of it: the hash of every stored audit row is computed over it.
    """
    return utc(at).isoformat(timespec="microseconds")


# The spellings for people: the agency's local time.


def date_text(at: datetime) -> str:
    """Spell the local calendar date of a time, e.g. 2026-12-02 (printed on documents too)."""
    return local(at).strftime("%Y-%m-%d")


def datetime_text(at: datetime, seconds: bool = False) -> str:
    """Spell the local date and time of a time, e.g. 2026-12-02 00:12 (or 00:12:05)."""
    return local(at).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


@lru_cache(maxsize=64)
def _label(name: str, lang: str) -> str:
    if name in _UTC_NAMES:
        return _UTC_LABELS[lang]
    try:
        # "Kuwait Time" in English, "توقيت الكويت" in Arabic
        place = get_timezone_location(zone_named(name), locale=lang)
    except (LookupError, UnknownLocaleError):
        place = ""
    if lang == "en":
        return place[: -len(" Time")] + " time" if place.endswith(" Time") else name
    return "ب" + place if place.startswith("توقيت ") else f"بتوقيت {name}"


def zone_label(lang: str = "en") -> str:
    """Name the agency's zone in a language: "Kuwait time" / "بتوقيت الكويت" (ar or en)."""
    return _label(zone().key, lang if lang in LANGUAGES else "en")


def named(at: datetime, lang: str = "en", seconds: bool = False) -> str:
    """Spell a local date and time with its zone named: 2026-12-02 00:12 (Kuwait time)."""
    return f"{datetime_text(at, seconds)} ({zone_label(lang)})"
