"""Run one case of a study: validate the config, build, solve, write results atomically.

Validation happens before the result folder is created, so a bad config leaves nothing behind.
"""

from __future__ import annotations

import copy
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from mpi4py import MPI

from ssbx.fem.io import ResultDir
from ssbx.studies.config import ConfigError, parse, resolved, set_override
from ssbx.studies.registry import load_study

from ssbx._compat import dolfinx_versions
from ssbx.log import get_logger

log = get_logger(__name__)
RESERVED = ("study", "case")


@dataclass
class Case:
    study: str
    name: str
    config: object  # the study's validated Config
    raw: dict


@dataclass
class CaseResult:
    case: str
    status: str  # "complete" | "failed"
    path: Path
    results: dict
    error: str = ""


def prepare(raw: dict, overrides: dict[str, str] | None = None, case: str | None = None) -> Case:
    """Validate a raw config (from TOML) with command-line overrides; raises ConfigError."""
    raw = copy.deepcopy(raw)
    if "study" not in raw:
        raise ConfigError("study: missing; the config must name its study (e.g. study = \"cell_elastic\")")
    module = load_study(raw["study"])
    name = case or raw.get("case", "default")
    body = {k: v for k, v in raw.items() if k not in RESERVED}
    for key, val in (overrides or {}).items():
        set_override(body, key, val, module.Config)
    cfg = parse(module.Config, body)
    if not re.fullmatch(r"[A-Za-z0-9_.=+\-]+", name):
        raise ConfigError(f"case: {name!r} is not a valid folder name (letters, digits, _ . = + -)")
    return Case(raw["study"], name, cfg, {**raw, **({"overrides": overrides} if overrides else {})})


def git_revision() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=Path(__file__).parent,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def run_case(case: Case, comm: MPI.Comm, root: Path) -> CaseResult:
    """Run a validated case on ``comm``; failures inside the study are recorded, not raised."""
    module = load_study(case.study)
    manifest = {
        "study": case.study,
        "case": case.name,
        "config_si": resolved(case.config),
        "config_raw": case.raw,
        "versions": dolfinx_versions() if comm.rank == 0 else {},
        "mpi_ranks": comm.size,
        "git_revision": git_revision() if comm.rank == 0 else "",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    out = ResultDir(comm, root, case.study, case.name, manifest)
    log.info("running %s/%s on %d rank(s)", case.study, case.name, comm.size)
    try:
        with out:
            results = module.run(case.config, comm, out)
            out.manifest["results"] = results
    except Exception as e:  # noqa: BLE001 - recorded in the manifest and the summary
        log.error("%s/%s failed: %s", case.study, case.name, e)
        return CaseResult(case.name, "failed", out.failed, {}, f"{type(e).__name__}: {e}")
    log.info("results in %s", out.final)
    return CaseResult(case.name, "complete", out.final, results)
