"""Parameter sweeps over MPI sub-communicators.

``mpiexec -n N ssbx sweep CONFIG --set a=1,2 --set b=x,y --ranks-per-case K`` forms the Cartesian
product of the values, splits COMM_WORLD into N // K groups of K ranks and deals the cases out
round-robin; the groups run at the same time. A failing case is recorded in ``summary.csv`` and
the sweep goes on. ``--skip-complete`` keeps the cases a previous run of the same sweep completed
(a resubmitted cluster job redoes only what is missing; with ``--fix restart_from=latest`` a study
that checkpoints goes on where each interrupted case stopped).
"""

from __future__ import annotations

import itertools
import json
import re
import time
from pathlib import Path

from mpi4py import MPI

from ssbx.fem.io import write_csv_atomic
from ssbx.studies.config import ConfigError
from ssbx.studies.runner import CaseResult, prepare, run_case

from ssbx.log import get_logger

log = get_logger(__name__)


def expand(specs: dict[str, list[str]]) -> list[dict[str, str]]:
    keys = list(specs)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(specs[k] for k in keys))]


def case_name(base: str, overrides: dict[str, str]) -> str:
    """Folder name of one combination: ``key=value`` of the swept keys joined by ``+``; characters
    a folder name should not hold (spaces, quotes, brackets of a list value) are dropped or
    replaced."""
    def clean(v) -> str:
        text = str(v).replace(" ", "").replace("/", "_per_")
        return re.sub(r"[^A-Za-z0-9_.=+\-]", "_", text).strip("_")

    parts = [f"{k.split('.')[-1]}={clean(v)}" for k, v in overrides.items()]
    return "+".join(parts) if parts else base


def run_sweep(raw: dict, specs: dict[str, list[str]], ranks_per_case: int, root: Path,
              fixed: dict[str, str] | None = None, world: MPI.Comm = MPI.COMM_WORLD,
              skip_complete: bool = False) -> Path:
    """Run every combination; returns the sweep folder (holding summary.csv) on all ranks.
    ``skip_complete``: a case whose folder holds a complete run is kept as it is, not run again."""
    if ranks_per_case < 1 or world.size % ranks_per_case:
        raise ConfigError(f"--ranks-per-case: {ranks_per_case} must divide the {world.size} MPI ranks")
    combos = expand(specs)
    base = raw.get("case", "default")
    # Validate every case on every rank before anything runs: a bad value stops the whole sweep.
    # name the cases by what varies; keys set to one value apply to every case alike
    varying = [k for k, v in specs.items() if len(v) > 1]
    cases = [prepare(raw, {**(fixed or {}), **c}, case=case_name(base, {k: c[k] for k in varying}) if varying
                     else case_name(base, c)) for c in combos]
    study = cases[0].study
    sweep_root = Path(root) / study / f"{base}-sweep"
    ngroups = world.size // ranks_per_case
    color = world.rank // ranks_per_case
    sub = world.Split(color=color, key=world.rank)
    mine: list[tuple[int, CaseResult]] = []
    try:
        for i, case in enumerate(cases):
            if i % ngroups == color:
                kept = completed(sweep_root / case.study / case.name) if skip_complete else None
                mine.append((i, kept or run_case(case, sub, sweep_root)))
    finally:
        sub.Free()
    wait_idle(world)  # a group that is done waits here, asleep, for the slower ones
    gathered = world.gather([(i, r) for i, r in mine if sub_rank_zero(world, ranks_per_case)], root=0)
    if world.rank == 0:
        done = dict(item for part in gathered for item in part)
        rows = []
        for i, (case, combo) in enumerate(zip(cases, combos, strict=True)):
            r = done[i]
            rows.append({"case": case.name, **combo, "status": r.status, "path": str(r.path),
                         **r.results, "error": r.error})
        write_csv_atomic(sweep_root / "summary.csv", rows)
        failed = sum(r.status != "complete" for r in done.values())
        log.info("sweep finished: %d cases, %d failed; summary in %s", len(cases), failed,
                 sweep_root / "summary.csv")
    world.Barrier()
    return sweep_root


def completed(folder: Path) -> CaseResult | None:
    """The complete run in ``folder`` (its manifest says so), or None."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if manifest.get("status") != "complete":
        return None
    log.info("kept the complete case %s", folder)
    return CaseResult(folder.name, "complete", folder, manifest.get("results", {}))


def wait_idle(comm: MPI.Comm, interval: float = 0.2) -> None:
    """Wait until every rank of ``comm`` has arrived, sleeping between checks. A blocking MPI
    collective busy-polls: the ranks of a group whose cases finished first would take a core
    each from the groups still computing (on a laptop or a shared node, as long as they wait)."""
    request = comm.Ibarrier()
    while not request.Test():
        time.sleep(interval)


def sub_rank_zero(world: MPI.Comm, ranks_per_case: int) -> bool:
    return world.rank % ranks_per_case == 0
