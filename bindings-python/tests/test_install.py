"""The package under test is the installed wheel, with one version (B5)."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import usagebook
from helpers import repo_root


def test_imported_from_site_packages_not_the_source_tree() -> None:
    path = Path(usagebook.__file__).resolve()
    assert "site-packages" in path.parts, path
    assert (path.parent / "py.typed").exists()
    native = list(path.parent.glob("_native*.so")) + list(path.parent.glob("_native*.pyd"))
    assert native, list(path.parent.iterdir())
    assert (path.parent / "_native.pyi").exists()


def test_b5_one_version_across_cargo_pyproject_and_the_module() -> None:
    cargo = (repo_root() / "Cargo.toml").read_text()
    m = re.search(r'\[workspace\.package\][^\[]*?\nversion\s*=\s*"([^"]+)"', cargo)
    assert m, "workspace version not found"
    assert usagebook.__version__ == m.group(1)
    assert importlib.metadata.version("usagebook") == m.group(1)


def test_public_names() -> None:
    for name in usagebook.__all__:
        assert hasattr(usagebook, name), name
    assert usagebook.InvalidArgumentError.__module__ == "usagebook"
