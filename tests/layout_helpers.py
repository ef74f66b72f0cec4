"""How pyproject.toml maps the repository's folders onto the one `edumix` namespace."""

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def package_folder(package: str) -> str:
    """edumix.filters.data -> filters/data; edumix.core -> edumix/core."""
    dirs = SETUPTOOLS.get("package-dir", {})
    parent = max((p for p in dirs if package == p or package.startswith(p + ".")), key=len, default=None)
    if parent is None:
        return package.replace(".", "/")
    return (dirs[parent] + package[len(parent) :].replace(".", "/")).strip("/")


def top_folders() -> list[str]:
    """The repository folders the installed packages come from."""
    return sorted({package_folder(p).split("/")[0] for p in SETUPTOOLS["packages"]})
