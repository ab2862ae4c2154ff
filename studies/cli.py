"""The ``ssbx`` command line.

    ssbx run CONFIG [--set KEY=VALUE ...] [--case NAME] [--out DIR]
    ssbx sweep CONFIG --set KEY=V1,V2 [--set ...] [--ranks-per-case K] [--out DIR] [--skip-complete]
    ssbx list
    ssbx info

Exit codes: 0 success, 1 a run failed (its folder is ``<case>.failed``), 2 invalid input.
Under MPI (``mpiexec -n N ssbx ...``) every rank runs the same command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mpi4py import MPI

from ssbx.studies.config import ConfigError, load_toml

from ssbx.log import configure, get_logger

log = get_logger("ssbx.cli")


def _parse_sets(items: list[str], multi: bool) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        k, v = item.split("=", 1)
        k = k.strip()
        if multi:
            vals = [x.strip() for x in v.split(",") if x.strip()]
            if not vals:
                raise ConfigError(f"--set {k}: no values")
            out[k] = vals
        else:
            out[k] = v.strip()
    return out


def _info() -> int:
    from petsc4py import PETSc

    from ssbx._compat import dolfinx_versions

    versions = dolfinx_versions()
    pkgs = [p for p in ("mumps", "superlu_dist", "hypre", "scalapack", "metis", "ptscotch", "hdf5")
            if PETSc.Sys.hasExternalPackage(p)]
    if MPI.COMM_WORLD.rank == 0:
        for k, v in versions.items():
            print(f"{k:>14}: {v}")
        print(f"{'petsc pkgs':>14}: {', '.join(pkgs)}")
        print(f"{'mpi ranks':>14}: {MPI.COMM_WORLD.size}")
        print(f"{'python':>14}: {sys.version.split()[0]}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="ssbx", description="Solid-state battery multiphysics studies")
    sp = p.add_subparsers(dest="cmd", required=True)
    r = sp.add_parser("run", help="run one study case from a TOML config")
    r.add_argument("config")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    r.add_argument("--case", default=None, help="case name (default: the config's 'case')")
    r.add_argument("--out", default="results", help="results root (default: ./results)")
    s = sp.add_parser("sweep", help="run a parameter sweep on MPI sub-communicators")
    s.add_argument("config")
    s.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2,...")
    s.add_argument("--fix", action="append", default=[], metavar="KEY=VALUE",
                   help="override applied to every case")
    s.add_argument("--ranks-per-case", type=int, default=1)
    s.add_argument("--out", default="results")
    s.add_argument("--skip-complete", action="store_true",
                   help="keep the cases an earlier run of this sweep completed (resubmitting a job)")
    sp.add_parser("list", help="list available studies")
    sp.add_parser("info", help="versions, PETSc packages and MPI ranks")
    args = p.parse_args(argv)
    configure()

    if args.cmd == "info":
        return _info()
    if args.cmd == "list":
        from ssbx.studies.registry import STUDIES, load_study

        if MPI.COMM_WORLD.rank == 0:
            for name in sorted(STUDIES):
                print(f"{name:20s} {load_study(name).DESCRIPTION}")
        return 0
    try:
        raw = load_toml(args.config)
        if args.cmd == "run":
            from ssbx.studies.runner import prepare, run_case

            case = prepare(raw, _parse_sets(args.set, multi=False), case=args.case)
            res = run_case(case, MPI.COMM_WORLD, Path(args.out))
            if res.status != "complete":
                log.error("run failed: %s (partial output in %s)", res.error, res.path)
                return 1
            return 0
        from ssbx.studies.sweep import run_sweep

        specs = _parse_sets(args.set, multi=True)
        if not specs:
            raise ConfigError("sweep: give at least one --set KEY=V1,V2")
        run_sweep(raw, specs, args.ranks_per_case, Path(args.out), _parse_sets(args.fix, multi=False),
                  skip_complete=args.skip_complete)
        return 0
    except ConfigError as e:
        if MPI.COMM_WORLD.rank == 0:
            print(f"ssbx: invalid input: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
