"""Printing and saving benchmark rows (rank 0 only) and the plain DOLFINx baseline solve, shared
by the benchmark scripts."""

import resource
import time
from pathlib import Path

import numpy as np
import ufl
from dolfinx import fem, mesh
from dolfinx.fem.petsc import LinearProblem
from ssbx.fem.io import write_csv_atomic
from ssbx.fem.solvers import solver_options


def plain_poisson(comm, dofs: int, prefix: str = "bench_plain") -> tuple[int, float]:
    """A plain DOLFINx P1 Poisson solve (MUMPS LU, setup included) on a unit square with about
    ``dofs`` unknowns: (its dofs, wall time). The framework's own ceiling for a scalar problem."""
    k = max(2, int(np.sqrt(dofs)) - 1)
    msh = mesh.create_unit_square(comm, k, k)
    V = fem.functionspace(msh, ("Lagrange", 1))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    facets = mesh.locate_entities_boundary(msh, 1, lambda x: np.isclose(x[1], 0.0))
    bc = fem.dirichletbc(0.0, fem.locate_dofs_topological(V, 1, facets), V)
    t0 = time.perf_counter()
    prob = LinearProblem(ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx, v * ufl.dx, bcs=[bc],
                         petsc_options_prefix=f"{prefix}_{k}_", petsc_options=solver_options("direct"))
    prob.solve()
    return V.dofmap.index_map.size_global, time.perf_counter() - t0


def peak_rss_mib(comm) -> float:
    """Peak resident memory of the process so far (MiB), max over ranks (ru_maxrss is KiB on Linux)."""
    from mpi4py import MPI

    return comm.allreduce(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, op=MPI.MAX) / 1024


def print_row(comm, row: dict) -> None:
    if comm.rank == 0:
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)


def save_rows(comm, name: str, rows: list[dict]) -> None:
    if comm.rank == 0:
        out = Path(__file__).parent / "results"
        out.mkdir(exist_ok=True)
        write_csv_atomic(out / f"{name}_np{comm.size}.csv", rows)
