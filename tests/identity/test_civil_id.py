"""Specification of identity.civil_id: how civil IDs are normalised, checked, masked."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from identity import civil_id
from identity.civil_id import InvalidCivilId, mask, normalize_digits, parse

# Written out here rather than imported, so a wrong constant in the module is caught.
WEIGHTS = (2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
TODAY = date(2024, 5, 15)
VALID = "288020122596"  # born 1988-02-01, serial 2259, check digit 6

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def remainder(first11: str) -> int:
    return sum(int(d) * w for d, w in zip(first11, WEIGHTS, strict=True)) % 11


def make_id(born: date, serial: int) -> str | None:
    """A civil ID built by the rules, or None when its remainder has no check digit."""
    head = f"{'2' if born.year < 2000 else '3'}{born:%y%m%d}{serial:04d}"
    r = remainder(head)
    return None if r in (0, 1) else head + str(11 - r)


def reason_of(raw: str, today: date = TODAY) -> str:
    with pytest.raises(InvalidCivilId) as info:
        parse(raw, today=today)
    return info.value.reason


# --- normalize_digits ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("٠١٢٣٤٥٦٧٨٩", "0123456789"),  # Arabic-Indic U+0660-0669
        ("۰۱۲۳۴۵۶۷۸۹", "0123456789"),  # Extended Arabic-Indic / Persian U+06F0-06F9
        ("０１２３４５６７８９", "0123456789"),  # full-width U+FF10-FF19
        ("0123456789", "0123456789"),
        ("رقم ٣ and ۷ and ９!", "رقم 3 and 7 and 9!"),  # everything else untouched
        ("", ""),
        ("²³¹ ① ߀ ১", "²³¹ ① ߀ ১"),  # other "digits" are not mapped
    ],
)
def test_normalize_digits_maps_the_three_digit_scripts_to_ascii(text: str, expected: str) -> None:
    assert normalize_digits(text) == expected


# --- parse: accepted spellings ------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        VALID,
        f"  {VALID}  ",
        f"{VALID}\n",
        f"{VALID}\r\n",
        f"\t{VALID}",
        f"\u00a0{VALID}\u00a0",  # NBSP
        f"\u200f{VALID}\u200e",  # right-to-left and left-to-right marks from pasted text
        f"\ufeff{VALID}",  # byte order mark
        VALID.translate(ARABIC_INDIC),
        VALID.translate(PERSIAN),
        VALID.translate(FULL_WIDTH),
        " " + VALID[:6].translate(ARABIC_INDIC) + VALID[6:].translate(FULL_WIDTH) + "\n",
    ],
)
def test_every_spelling_of_a_valid_id_parses_to_the_same_ascii_string(raw: str) -> None:
    result = parse(raw, today=TODAY)
    assert result == VALID
    assert result.isascii()


@pytest.mark.parametrize(
    ("raw", "born"),
    [
        ("288020122596", "1988-02-01"),
        ("300022900012", "2000-02-29: a leap year in the 2000s"),
        ("299123100019", "1999-12-31"),
        ("301010100012", "2001-01-01"),
        ("300010100018", "2000-01-01"),
        ("324051500014", "2024-05-15: born today"),
    ],
)
def test_valid_ids_are_accepted(raw: str, born: str) -> None:
    assert parse(raw, today=TODAY) == raw


def test_today_defaults_to_the_current_date() -> None:
    assert parse(VALID) == VALID
    born = civil_id.kuwait_today() + timedelta(days=1)
    tomorrow = next(x for serial in range(100) if (x := make_id(born, serial)))
    with pytest.raises(InvalidCivilId, match="in the future"):
        parse(tomorrow)


def test_kuwait_today_is_within_a_day_of_the_server_date() -> None:
    assert abs(civil_id.kuwait_today() - date.today()) <= timedelta(days=1)


# --- parse: rejections, one reason each ---------------------------------------------------------

TWELVE = "civil ID must be 12 digits"
CENTURY = "civil ID has an unknown century digit"
IMPOSSIBLE = "civil ID has an impossible birth date"
FUTURE = "civil ID birth date is in the future"
CHECK = "civil ID check digit does not match"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", TWELVE),
        ("   ", TWELVE),
        ("\n", TWELVE),
        ("28802012259", TWELVE),  # 11 digits
        ("2880201225960", TWELVE),  # 13 digits
        ("2880 2012 2596", TWELVE),  # inner spaces
        ("288-020-122-596", TWELVE),
        ("+288020122596", TWELVE),
        ("-288020122596", TWELVE),
        ("28802012259a", TWELVE),
        ("A88020122596", TWELVE),
        ("28802012259\x00", TWELVE),
        ("2880201225.6", TWELVE),
        ("²88020122596", TWELVE),  # superscript two is a digit to str.isdigit, not to us
        ("২88020122596", TWELVE),  # Bengali digit
        ("1" * 10_000, TWELVE),  # 10 KB, rejected before any work
        (" " * 10_000 + VALID, TWELVE),  # too long even though it would strip to a valid ID
        ("188020122596", CENTURY),
        ("088020122596", CENTURY),
        ("488020122596", CENTURY),
        ("988020122596", CENTURY),
        ("288200122596", IMPOSSIBLE),  # month 20
        ("288000122596", IMPOSSIBLE),  # month 00
        ("288023122596", IMPOSSIBLE),  # 31 February
        ("288020022596", IMPOSSIBLE),  # day 00
        ("288043122596", IMPOSSIBLE),  # 31 April
        ("200022900014", IMPOSSIBLE),  # 29 February 1900: not a leap year (correct check digit)
        ("324051600015", FUTURE),  # born 2024-05-16, the day after TODAY (correct check digit)
        ("399123100017", FUTURE),  # born 2099-12-31 (correct check digit)
        ("288020122597", CHECK),
        ("288020122590", CHECK),
        ("300022900013", CHECK),
    ],
)
def test_invalid_ids_are_rejected_with_a_reason(raw: str, reason: str) -> None:
    assert reason_of(raw) == reason


def test_the_future_and_leap_year_cases_above_have_correct_check_digits() -> None:
    # Otherwise those rows would pass for the wrong reason if the checks ran in another order.
    for raw in ("200022900014", "324051600015", "399123100017"):
        assert 11 - remainder(raw[:11]) == int(raw[11]), raw


def test_born_today_is_accepted_and_born_tomorrow_is_not() -> None:
    raw = "324051500014"
    assert parse(raw, today=date(2024, 5, 15)) == raw
    assert reason_of(raw, today=date(2024, 5, 14)) == FUTURE


@pytest.mark.parametrize("last", "0123456789")
def test_every_check_digit_but_the_right_one_is_rejected(last: str) -> None:
    raw = VALID[:11] + last
    if last == VALID[11]:
        assert parse(raw, today=TODAY) == raw
    else:
        assert reason_of(raw) == CHECK


@pytest.mark.parametrize(("head", "r"), [("28802012251", 0), ("28802012257", 1)])
def test_ids_whose_remainder_is_0_or_1_are_never_valid(head: str, r: int) -> None:
    assert remainder(head) == r
    for last in "0123456789":
        assert reason_of(head + last) == CHECK


@pytest.mark.parametrize(
    ("head", "expected"),
    [("28802012259", 6), ("30002290001", 2), ("28802012251", None), ("28802012257", None)],
)
def test_check_digit_is_11_minus_the_remainder_and_none_for_0_and_1(
    head: str, expected: int | None
) -> None:
    # Used by the synthetic register generator, so it must refuse the ambiguous remainders itself.
    assert civil_id.check_digit(head) == expected


@pytest.mark.parametrize("raw", [None, 288020122596, b"288020122596", ["288020122596"]])
def test_non_text_is_rejected_with_invalid_civil_id(raw: object) -> None:
    with pytest.raises(InvalidCivilId) as info:
        parse(raw, today=TODAY)  # type: ignore[arg-type]
    assert info.value.reason == "civil ID must be text"


def test_invalid_civil_id_is_a_value_error_whose_message_is_the_reason() -> None:
    error = InvalidCivilId("civil ID check digit does not match")
    assert isinstance(error, ValueError)
    assert str(error) == error.reason == "civil ID check digit does not match"


def test_the_rejected_input_never_appears_in_the_error() -> None:
    with pytest.raises(InvalidCivilId) as info:
        parse("288020122597", today=TODAY)
    assert "2880201225" not in str(info.value)
    assert "2880201225" not in repr(info.value)


# --- mask ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("288020122596", "********2596"),
        (" 288020122596\n", "********2596"),
        ("٢٨٨٠٢٠١٢٢٥٩٦", "********2596"),
        ("1234", "************"),  # too short to show anything
        ("", "************"),
        ("12345", "********2345"),
        ("28802012\n\x1b[", "********2***"),  # non-digits never reach the log
        ("9" * 10_000 + "1234", "********1234"),
    ],
)
def test_mask_shows_only_the_last_four_digits(value: str, expected: str) -> None:
    assert mask(value) == expected


def test_mask_never_contains_the_first_eight_digits() -> None:
    assert "28802012" not in mask(VALID)
    assert len(mask(VALID)) == 12


# --- properties ---------------------------------------------------------------------------------

FAR_FUTURE = date(2100, 1, 1)
births = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))
serials = st.integers(min_value=0, max_value=9999)
digit_scripts = st.sampled_from([None, ARABIC_INDIC, PERSIAN, FULL_WIDTH])
padding = st.sampled_from(["", " ", "\n", "\t", "\u00a0", "\r\n", " \u200f"])


@given(st.text())
@example("")
@example(VALID)
@example("٢٨٨٠٢٠١٢٢٥٩٦")
@example("2" * 65)
@example("\ud800")  # a lone surrogate
def test_parse_raises_only_invalid_civil_id_on_arbitrary_text(raw: str) -> None:
    try:
        result = parse(raw, today=TODAY)
    except InvalidCivilId as exc:
        assert exc.reason in (TWELVE, CENTURY, IMPOSSIBLE, FUTURE, CHECK)
    else:
        assert len(result) == 12 and all(c in "0123456789" for c in result)
        assert 11 - remainder(result[:11]) == int(result[11])
        assert parse(result, today=TODAY) == result


@given(st.text(alphabet="0123456789٠١٢٣٤٥٦٧٨٩０１２３４５６７８９ ", min_size=10, max_size=14))
def test_parse_raises_only_invalid_civil_id_on_digit_strings(raw: str) -> None:
    with contextlib.suppress(InvalidCivilId):
        assert parse(raw, today=TODAY).isascii()


@given(born=births, serial=serials, script=digit_scripts, before=padding, after=padding)
def test_every_correctly_built_id_is_accepted_and_round_trips(
    born: date, serial: int, script: dict[int, str] | None, before: str, after: str
) -> None:
    built = make_id(born, serial)
    assume(built is not None)
    assert built is not None
    spelled = before + (built.translate(script) if script else built) + after
    assert parse(spelled, today=FAR_FUTURE) == built
    assert parse(built, today=born) == built  # born today is fine
    assert mask(spelled) == "********" + built[-4:]


@given(born=births, serial=serials, position=st.integers(0, 11), delta=st.integers(1, 9))
def test_changing_any_single_digit_of_a_valid_id_makes_it_invalid(
    born: date, serial: int, position: int, delta: int
) -> None:
    built = make_id(born, serial)
    assume(built is not None)
    assert built is not None
    changed = built[:position] + str((int(built[position]) + delta) % 10) + built[position + 1 :]
    with pytest.raises(InvalidCivilId):
        parse(changed, today=FAR_FUTURE)


@given(born=st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 30)), serial=serials)
def test_a_birth_date_after_today_is_rejected(born: date, serial: int) -> None:
    built = make_id(born, serial)
    assume(built is not None)
    assert built is not None
    assert reason_of(built, today=born - timedelta(days=1)) == FUTURE
