"""Build hook: every install (a wheel, `pip install .`, `-e .`) gets the Arabic catalogue and pages.

The compiled catalogues (`messages.mo`) are not kept in git: without this step an installed
Hawiya would serve its Arabic pages in English. The top-level `templates/` is no package, so a
wheel carries a copy inside `verification/` (an editable install reads the checkout's).
Everything else is in pyproject.toml.
"""

import shutil
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
TRANSLATIONS = ROOT / "verification" / "translations"


def compile_catalogues() -> None:
    """Write each `messages.po` beside itself as `messages.mo` (fuzzy entries too, as `make`)."""
    for po_path in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        with po_path.open("rb") as po_file:
            catalogue = read_po(po_file, locale=po_path.parent.parent.name)
        with po_path.with_suffix(".mo").open("wb") as mo_file:
            write_mo(mo_file, catalogue, use_fuzzy=True)


class BuildPyWithCatalogues(build_py):
    """Compile the catalogues before the package files are collected; copy the templates."""

    def run(self) -> None:
        compile_catalogues()
        super().run()
        if not self.editable_mode:
            built = Path(self.build_lib) / "verification" / "templates"
            shutil.copytree(ROOT / "templates", built, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithCatalogues})
