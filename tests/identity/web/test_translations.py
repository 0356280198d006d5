"""Every string a person reads is in the Arabic catalogue, translated."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
CATALOGUE = ROOT / "verification/translations/ar/LC_MESSAGES/messages.po"
METHODS = [
    ("identity/**.py", "python"),
    ("verification/**.py", "python"),
    ("templates/**.html", "jinja2"),
]


def test_every_message_in_the_code_has_an_arabic_translation() -> None:
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    translated = {m.id: m.string for m in catalogue if m.id and m.string and not m.fuzzy}
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    found = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), METHODS, keywords=keywords
        )
        if isinstance(message, str)
    }
    assert found, "extraction found nothing: the test itself is broken"
    missing = sorted(found - set(translated))
    assert missing == [], "run `make messages` and translate these in messages.po"
