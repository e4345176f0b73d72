"""Installed with pip, the application has its pages and speaks Vietnamese: the wheel, built
straight from a work tree or from the sdist, carries the compiled catalogue (which git does not
keep) and the page templates."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo

ROOT = Path(__file__).resolve().parents[2]
MO = "web/translations/vi/LC_MESSAGES/messages.mo"
LEFT_OUT = {".git", ".venv", "instance", "tests", "bench", "docs", "test-artifacts", "build",
            "dist", ".pytest_cache", ".ruff_cache", "__pycache__"}

pytestmark = pytest.mark.build


def _tree_without_catalogue(target: Path) -> Path:
    def ignore(_folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in LEFT_OUT or n.endswith((".mo", ".egg-info", ".pyc"))}

    shutil.copytree(ROOT, target, ignore=ignore)
    assert not list(target.rglob("*.mo"))
    return target


def _wheel(source: Path, out: Path) -> zipfile.ZipFile:
    # The environment's own setuptools and Babel, no index: nothing is downloaded.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "--quiet", "-w", str(out), str(source)],
                   check=True, capture_output=True, text=True, timeout=120)
    [wheel] = out.glob("*.whl")
    return zipfile.ZipFile(wheel)


def _check(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert MO in names
    catalogue = read_mo(io.BytesIO(wheel.read(MO)))
    assert catalogue.get("Sign in").string == "Đăng nhập"
    assert {"web/templates/base.html", "web/templates/auth/login.html"} <= names


def test_a_wheel_built_from_a_tree_without_the_compiled_catalogue_carries_it(tmp_path):
    tree = _tree_without_catalogue(tmp_path / "tree")
    _check(_wheel(tree, tmp_path / "wheel"))


def test_a_wheel_built_from_the_sdist_carries_it_too(tmp_path):
    tree = _tree_without_catalogue(tmp_path / "tree")
    subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta; "
                    "build_meta.build_sdist(sys.argv[1])", str(tmp_path / "sdist")],
                   cwd=tree, check=True, capture_output=True, text=True, timeout=120)
    [sdist] = (tmp_path / "sdist").glob("*.tar.gz")
    _check(_wheel(sdist, tmp_path / "wheel"))


def test_the_compiled_catalogue_stays_out_of_git():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git work tree")
    ignored = subprocess.run(["git", "check-ignore", "-q", MO], cwd=ROOT, check=False)
    tracked = subprocess.run(["git", "ls-files", "*.mo"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
    assert ignored.returncode == 0 and tracked == ""
