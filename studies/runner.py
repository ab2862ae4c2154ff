"""Run one case of a study: validate the config, build, solve, write results atomically.

Validation happens before the result folder is created, so a bad config leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import os
import re
import subprocess
import sys
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
#: seconds the ranks that raised wait for the others before aborting the whole run
FAIL_TOGETHER_TIMEOUT = float(os.environ.get("SSBX_FAIL_TIMEOUT", "60"))


@contextlib.contextmanager
def fail_together(comm: MPI.Comm, timeout: float | None = None):
    """Turn an exception on some ranks into a clean failure of all of them.

    Solver failures are collective (every rank raises) and are recorded as a failed case. An
    exception on one rank only (a bug, a full disk) would leave the other ranks waiting in their
    next collective forever. On an exception each rank enters a non-blocking barrier on a private
    communicator; if all ranks arrive within ``timeout`` the exception propagates (a normal,
    collective failure), otherwise the run is aborted with MPI_Abort and a message, so that
    ``mpiexec`` returns an error instead of hanging (the result folder stays ``.partial``)."""
    if comm.size == 1:
        yield
        return
    guard = comm.Dup()
    try:
        yield
    except BaseException as e:
        req = guard.Ibarrier()
        start = time.monotonic()
        limit = FAIL_TOGETHER_TIMEOUT if timeout is None else timeout
        while not req.Test():
            if time.monotonic() - start > limit:
                print(f"ssbx: rank {comm.rank} failed alone ({type(e).__name__}: {e}); the other ranks did not "
                      f"fail within {limit:g} s: aborting the run", file=sys.stderr, flush=True)
                time.sleep(0.5)  # give mpiexec time to forward the message before the abort
                comm.Abort(1)
            time.sleep(0.01)
        guard.Free()
        raise
    guard.Free()


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
            with fail_together(comm):
                try:
                    results = module.run(case.config, comm, out)
                finally:
                    # the study's PETSc objects sit in reference cycles: collect them on every
                    # rank here, together, not whenever each rank's collector happens to run
                    gc.collect()
            out.manifest["results"] = results
    except Exception as e:  # noqa: BLE001 - recorded in the manifest and the summary
        log.error("%s/%s failed: %s", case.study, case.name, e)
        return CaseResult(case.name, "failed", out.failed, {}, f"{type(e).__name__}: {e}")
    log.info("results in %s", out.final)
    return CaseResult(case.name, "complete", out.final, results)
