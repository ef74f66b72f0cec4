"""The package's shape: one installed namespace, and layers that point one way.

    edumix.core  <-  logic (filters, classifiers, demo)  <-  wiring (pipelines)
                 <-  report, evaluate  <-  launcher (edumix.launch)
                 <-  service, doctor (edumix.service, edumix.doctor)  <-  CLI (edumix.cli)
    edumix.trainer stands on edumix.core only.

Every import in every module counts, the ones inside functions too (a lazy import is
still an edge). A back-edge fails with the module and the line that makes it.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from layout_helpers import REPO, SETUPTOOLS, package_folder, top_folders

# Layer of each package prefix (longest prefix wins); a module may import its own package
# and anything in a lower layer.
LAYERS = {
    "edumix": 0,  # edumix/__init__.py holds only __version__
    "edumix.core": 0,
    "edumix.filters": 1,
    "edumix.classifiers": 1,
    "edumix.demo": 1,
    "edumix.pipelines": 2,
    "edumix.report": 3,
    "edumix.evaluate": 3,
    "edumix.launch": 4,
    "edumix.service": 5,
    "edumix.doctor": 5,
    "edumix.cli": 6,
}
TRAINER_MAY_IMPORT = ("edumix.core", "edumix.trainer")
# Within one layer, packages stay apart except: classifiers use filters' code/math detectors.
SIDEWAYS = {("edumix.classifiers", "edumix.filters")}


def _owner(module: str, table) -> str | None:
    matches = [p for p in table if module == p or module.startswith(p + ".")]
    return max(matches, key=len) if matches else None


def modules() -> dict[str, Path]:
    """Every installed module name -> its file."""
    out = {}
    for package in SETUPTOOLS["packages"]:
        folder = REPO / package_folder(package)
        for path in sorted(folder.glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            out[name] = path
    return out


def imports(module: str, path: Path) -> list[tuple[str, int]]:
    """(imported edumix module, line) for every import statement in the file."""
    is_pkg = path.name == "__init__.py"
    base = module if is_pkg else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                target = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((target, node.lineno))
            # `from edumix import core` / `from . import x` import submodules
            out += [(f"{target}.{a.name}", node.lineno) for a in node.names if f"{target}.{a.name}" in MODULES]
    return [(t, line) for t, line in out if t == "edumix" or t.startswith("edumix.")]


MODULES = modules()


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name


def test_every_package_folder_is_installed():
    """A folder with an __init__.py that pyproject does not list would be left out of the wheel."""
    listed = {package_folder(p) for p in SETUPTOOLS["packages"]}
    for init in REPO.glob("**/__init__.py"):
        rel = init.parent.relative_to(REPO).as_posix()
        if rel.split("/")[0] in ("tests", "benchmarks", ".venv", "build") or "/." in f"/{rel}":
            continue
        assert rel in listed, f"{rel}/ has an __init__.py but is not in [tool.setuptools] packages"


def test_layers_point_one_way():
    back_edges = []
    for module, path in MODULES.items():
        if _owner(module, ("edumix.trainer",)):
            bad = [(t, n) for t, n in imports(module, path) if t != "edumix" and not _owner(t, TRAINER_MAY_IMPORT)]
            back_edges += [f"{_shown(path)}:{n}: trainer imports {t}" for t, n in bad]
            continue
        mine = _owner(module, LAYERS)
        assert mine is not None, f"{module} is in no layer: add its package to LAYERS"
        for target, line in imports(module, path):
            if _owner(target, ("edumix.trainer",)):
                ok = LAYERS[mine] == max(LAYERS.values())  # the CLI registers the trainer's commands
            else:
                theirs = _owner(target, LAYERS)
                ok = theirs == mine or LAYERS[theirs] < LAYERS[mine] or (mine, theirs) in SIDEWAYS
            if not ok:
                back_edges.append(f"{_shown(path)}:{line}: {module} ({mine}) imports {target}")
    assert back_edges == []


def test_the_checker_sees_a_back_edge(tmp_path, monkeypatch):
    """The rule itself: a filter importing the pipeline wiring is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from edumix.pipelines.curate import run_curate\n")
    monkeypatch.setitem(MODULES, "edumix.filters.bad", bad)
    with pytest.raises(AssertionError, match=r"bad.py:2: edumix.filters.bad \(edumix.filters\) imports"):
        test_layers_point_one_way()


def test_installed_top_level_names_are_only_edumix(tmp_path):
    """Outside the repository, the generic folder names import nothing (they are edumix.*)."""
    code = (
        "import importlib.util as u; import edumix.filters, edumix.trainer, edumix.pipelines, edumix.classifiers; "
        "print([n for n in ('filters','pipelines','classifiers','trainer','benchmarks') if u.find_spec(n)])"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_wheel_holds_one_top_level_package(tmp_path):
    """The wheel `pip install .` builds: `edumix/` (with the package data) and its metadata.
    Built from a copy, so setuptools' build/ folder never lands in the checkout."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(REPO / name, src / name)
    for folder in top_folders():
        shutil.copytree(REPO / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(tmp_path),
        str(src),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    (wheel,) = tmp_path.glob("edumix-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"edumix", wheel.name.split("-py3")[0] + ".dist-info"}
    for must in ("edumix/classifiers/models/edu.ftz", "edumix/filters/data/dirty_words.txt", "edumix/core/run_dir.py"):
        assert must in names
