"""`edumix doctor`: is this install complete? One line per check, and one line saying what to
install when something required is missing.

Required: every dependency edumix declares (read from the installed package's own metadata, so
the list cannot drift from pyproject.toml) at a version the declaration accepts, and torch,
which is installed on its own (`pip install torch==2.13.0`: any other spec pulls CUDA wheels).
Informational: the shipped classifier files, the shared dev data, a GPU, chromium for the
browser tests.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import shutil
from dataclasses import dataclass

from packaging.requirements import Requirement

TORCH = Requirement("torch>=2.4")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True


def declared_requirements(dist: str = "edumix") -> list[Requirement]:
    """The install requirements of `dist` that apply here (no extras, markers evaluated)."""
    out = []
    for line in md.requires(dist) or []:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            out.append(req)
    return out


def check_requirement(req: Requirement) -> Check:
    try:
        version = md.version(req.name)
    except md.PackageNotFoundError:
        return Check(req.name, False, f"missing (needs {req})")
    if req.specifier and not req.specifier.contains(version, prereleases=True):
        return Check(req.name, False, f"{version} installed, needs {req}")
    return Check(req.name, True, version)


def environment_checks() -> list[Check]:
    """What helps but is not required to curate."""
    from edumix.classifiers.models import MODELS_DIR
    from edumix.core.shared_data import shared_data_dir

    models = sorted(p.name for p in MODELS_DIR.glob("*") if p.suffix in (".ftz", ".npz", ".model", ".json"))
    data = shared_data_dir()
    checks = [
        Check("shipped classifier files", bool(models), ", ".join(models) or f"none in {MODELS_DIR}", False),
        Check("shared dev data", data.is_dir(), f"{data} (EDUMIX_SHARED_DATA)", False),
        Check(
            "chromium (browser tests)", bool(shutil.which("chromium") or shutil.which("chromium-browser")), "", False
        ),
    ]
    try:  # by name: the pipeline (and the Dataflow image) never imports torch
        torch = importlib.import_module("torch")
    except ImportError:
        return checks
    gpu = torch.cuda.is_available()
    checks.append(Check("GPU", gpu, torch.cuda.get_device_name(0) if gpu else "none: training runs on CPU", False))
    return checks


def run_checks() -> list[Check]:
    checks = [check_requirement(r) for r in declared_requirements()]
    checks.append(check_requirement(TORCH))
    return checks + environment_checks()


def missing_line(checks: list[Check]) -> str | None:
    """One line naming what to install, or None when every required check passes."""
    bad = [c for c in checks if c.required and not c.ok]
    if not bad:
        return None
    specs = [f'"{c.detail.split("needs ", 1)[-1].rstrip(")")}"' for c in bad]
    torch = [s for s in specs if s.startswith('"torch')]
    rest = [s for s in specs if not s.startswith('"torch')]
    parts = ([f"pip install {' '.join(rest)}"] if rest else []) + (["pip install torch==2.13.0"] if torch else [])
    return f"missing or too old: {', '.join(c.name for c in bad)}; run {' && '.join(parts)}"
