"""The build steps pyproject.toml cannot say, so that an application installed from a wheel or
an sdist has its pages and speaks Vietnamese: the message catalogues are compiled (`.po` →
`.mo`; the compiled ones are not kept in git, `make translations` compiles them for a work tree)
and the page templates (`templates/`, beside the packages in a work tree) go into the package as
`web/templates`."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CATALOGUES = Path("web", "translations")
PAGES = Path("templates")


def _catalogues() -> list[Path]:
    return sorted(CATALOGUES.glob("*/LC_MESSAGES/*.po"))


class BuildWithCatalogues(build_py):
    """build_py, then each `web/translations/<lang>/LC_MESSAGES/messages.po` compiled beside the
    copied package (in the source tree itself for an editable install, which also reads the
    page templates where they are)."""

    def run(self) -> None:
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        editable = getattr(self, "editable_mode", False)
        target_root = Path() if editable else Path(self.build_lib)
        for po in _catalogues():
            with po.open("rb") as source:
                catalogue = read_po(source, locale=po.parent.parent.name)
            mo = target_root / po.with_suffix(".mo")
            mo.parent.mkdir(parents=True, exist_ok=True)
            with mo.open("wb") as target:
                write_mo(target, catalogue, use_fuzzy=True)  # as `make translations` does
            self.announce(f"compiled {po} to {mo}", level=2)
        if not editable and PAGES.is_dir():
            shutil.copytree(PAGES, target_root / "web" / PAGES, dirs_exist_ok=True)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if not getattr(self, "editable_mode", False):
            build = Path(self.build_lib)
            outputs += [str(build / po.with_suffix(".mo")) for po in _catalogues()]
            outputs += [str(build / "web" / page) for page in sorted(PAGES.rglob("*"))
                        if page.is_file()]
        return list(dict.fromkeys(outputs))


setup(cmdclass={"build_py": BuildWithCatalogues})
