"""A pip-installed Hawiya (a wheel, a container image) speaks Arabic like a checkout run by `make`.

The compiled catalogue is git-ignored, so it must come from the package build itself.
"""

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = "verification/translations/ar/LC_MESSAGES/messages"
BUILD_SECONDS = 300

# What a fresh clone holds: no virtual environment, no compiled catalogue, no keys, no caches.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "instance", "keys", "build", "dist", "*.egg-info", "*.mo", "__pycache__",
    ".*_cache", ".hypothesis", "bench", "tests",
)  # fmt: skip

# Run by the installed package, from a folder outside the checkout: render /login in each language.
RENDER_LOGIN = """
import json, sys
from pathlib import Path
import identity
from verification.app import create_app

here = Path(sys.argv[1])
app = create_app({
    "ENV": "testing", "TESTING": True, "SECRET_KEY": "packaging-test",
    "DATABASE_URL": f"sqlite:///{here / 'hawiya.sqlite3'}", "REDIS_URL": None,
    "KEYS_DIR": str(here / "keys"), "SMS_BACKEND": "recording",
})
client = app.test_client()
pages = {
    lang: client.get(f"/login?lang={lang}", base_url="https://localhost") for lang in ("ar", "en")
}
print(json.dumps({
    "package": identity.__file__,
    "status": {lang: page.status_code for lang, page in pages.items()},
    "text": {lang: page.get_data(as_text=True) for lang, page in pages.items()},
}))
"""


def run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=BUILD_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done


def every_data_file(source: Path) -> set[str]:
    """Every file a running Hawiya reads, as the wheel names it.

    The packages' files that are neither Python nor a translation source (compiled catalogues,
    styles, scripts, the OpenAPI document, the demo register, migration templates), and the
    top-level templates, which the wheel carries in verification/templates/.
    """
    found = {
        str(path.relative_to(source))
        for package in ("identity", "verification")
        for path in (source / package).rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc", ".po", ".pot")
    }
    found |= {
        "verification/" + str(path.relative_to(source))
        for path in (source / "templates").rglob("*")
        if path.is_file()
    }
    assert "identity/web/openapi.json" in found and "verification/templates/base.html" in found
    return found | {f"{CATALOGUE}.mo"}  # compiled by the build (not in a clone)


def arabic_of(message: str) -> str:
    with (ROOT / f"{CATALOGUE}.po").open("rb") as po_file:
        translated = read_po(po_file, locale="ar").get(message)
    assert translated is not None and translated.string, message
    return str(translated.string)


@pytest.mark.slow
def test_a_wheel_built_without_a_compiled_catalogue_serves_arabic(tmp_path: Path) -> None:
    """Prevents a pip-installed Hawiya serving every Arabic page in English.

    The wheel is built from a copy of the source as a fresh clone holds it (no .mo anywhere),
    installed into a new virtual environment, and asked for /login from outside the checkout.
    """
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_IN_A_CLONE)
    assert not list(source.rglob("*.mo"))

    # Build isolation on purpose: it proves pyproject.toml names what the build needs (Babel).
    # Verbose, to read what setuptools says: a data folder it does not know as a package is
    # "Package would be ignored" (about 150 lines on a fresh install, and the folder's files
    # would one day be left out).
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--verbose", "-w",
                tmp_path / "dist", source, cwd=tmp_path)  # fmt: skip
    said = built.stdout + built.stderr
    assert "would be ignored" not in said.lower(), said[-4000:]
    assert "is absent from the `packages` configuration" not in said, said[-4000:]
    (wheel,) = (tmp_path / "dist").glob("hawiya-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert f"{CATALOGUE}.mo" in names
    assert "verification/templates/holder/login.html" in names
    assert every_data_file(source) - names == set()

    # A new environment with the wheel alone; its dependencies are read from ours (offline).
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                  cwd=tmp_path).stdout.strip()  # fmt: skip
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--quiet",
        wheel, cwd=tmp_path)  # fmt: skip

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    answer = json.loads(run(python, "-c", RENDER_LOGIN, outside, cwd=outside).stdout)
    assert answer["package"].startswith(purelib), answer["package"]  # not the checkout
    assert answer["status"] == {"ar": 200, "en": 200}
    assert "Sign in" in answer["text"]["en"]
    assert arabic_of("Sign in") in answer["text"]["ar"]
    assert "Sign in" not in answer["text"]["ar"]
