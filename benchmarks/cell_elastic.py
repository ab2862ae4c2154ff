"""Benchmark: the cell_elastic solve vs a plain DOLFINx elasticity solve of the same size.

Prints, for three mesh sizes: dofs, setup (forms, sparsity) and solve (assembly + LU) time,
dofs/s, peak resident memory (max over ranks), and the wall-time ratio of the ssbx two-part
sliding solve to a plain single-field P2 axisymmetric elasticity solve (bonded tube) on the same
mesh with the same solver (MUMPS LU) in the same run: the framework's own ceiling. Run serially
or with ``mpiexec -n 2``. Writes ``benchmarks/results/cell_elastic_np<ranks>.csv``.
"""

from __future__ import annotations

import time

from mpi4py import MPI

import numpy as np
import ufl
from _report import peak_rss_mib, print_row, save_rows
from dolfinx import fem
from dolfinx.fem.petsc import LinearProblem
from ssbx.fem import kinematics
from ssbx.fem.boundary import FixedComponent, NormalPressure
from ssbx.fem.elasticity import IsotropicElastic, MultiBodyElasticity, Part, stress
from ssbx.fem.materials import get_material
from ssbx.fem.solvers import solver_options
from ssbx.geometries import CellDimensions, CellMeshing, build_cell

MATS = {"rod_bottom": "ss316", "rod_top": "ss316", "li": "li", "se": "li6ps5cl",
        "cathode": "nmc811_composite", "ptfe": "ptfe"}


def ssbx_solve(tm):
    laws = {b: IsotropicElastic.from_material(get_material(m)) for b, m in MATS.items()}
    stack = ("rod_bottom", "li", "se", "cathode", "rod_top")
    t0 = time.perf_counter()
    prob = MultiBodyElasticity(
        tm, laws, [Part("stack", stack), Part("tube", ("ptfe",))],
        [FixedComponent(("axis",), 0), FixedComponent(("rod_bottom_bottom", "ptfe_bottom"), 1)],
        [NormalPressure(("rod_top_top",), fem.Constant(tm.mesh, 10e6))],
        [f"{b}_ptfe_interface" for b in stack], prefix="bench_ssbx_")
    t1 = time.perf_counter()
    prob.solve()
    t2 = time.perf_counter()
    return prob.V.dofmap.index_map.size_global * prob.V.dofmap.index_map_bs, t1 - t0, t2 - t1


def plain_solve(tm):
    """Single-field P2 elasticity, bonded everywhere, same loads: the DOLFINx baseline."""
    msh = tm.mesh
    V = fem.functionspace(msh, ("Lagrange", 2, (2,)))
    laws = {b: IsotropicElastic.from_material(get_material(m)) for b, m in MATS.items()}
    lam, mu = (fem.Function(fem.functionspace(msh, ("DG", 0))) for _ in range(2))
    for b, law in laws.items():
        lam.x.array[tm.cells(b)], mu.x.array[tm.cells(b)] = law.lmbda, law.mu
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    w = kinematics.volume_weight(msh, tm.kind)
    eps = lambda z: kinematics.strain(z, tm.kind, msh)  # noqa: E731
    ds = ufl.Measure("ds", domain=msh, subdomain_data=tm.facet_tags)
    a = ufl.inner(stress(eps(u), lam, mu), eps(v)) * w * ufl.dx
    L = -10e6 * ufl.dot(ufl.FacetNormal(msh), v) * w * ds(tm.facet_tag("rod_top_top"))
    fdim = msh.topology.dim - 1
    bcs = [fem.dirichletbc(0.0, fem.locate_dofs_topological(V.sub(0), fdim, tm.facets("axis")), V.sub(0)),
           fem.dirichletbc(0.0, fem.locate_dofs_topological(V.sub(1), fdim, np.concatenate(
               [tm.facets("rod_bottom_bottom"), tm.facets("ptfe_bottom")])), V.sub(1))]
    t0 = time.perf_counter()
    prob = LinearProblem(a, L, bcs=bcs, petsc_options_prefix="bench_plain_",
                         petsc_options=solver_options("direct"))
    t1 = time.perf_counter()
    prob.solve()
    t2 = time.perf_counter()
    return V.dofmap.index_map.size_global * 2, t1 - t0, t2 - t1


def main():
    comm = MPI.COMM_WORLD
    rows = []
    for size in (1.0e-3, 0.5e-3, 0.25e-3):
        tm = build_cell(comm, CellDimensions(), CellMeshing(size_max=size, cells_across=2, transition=1.5e-3))
        ssbx_solve(tm), plain_solve(tm)  # warm-up: JIT compilation is not what we measure
        n, ta, ts = ssbx_solve(tm)
        n0, ta0, ts0 = plain_solve(tm)
        row = {"ranks": comm.size, "size_max_mm": size * 1e3, "dofs": n, "setup_s": ta, "solve_s": ts,
               "dofs_per_s": n / (ta + ts), "plain_dofs": n0, "plain_setup_s": ta0, "plain_solve_s": ts0,
               "plain_dofs_per_s": n0 / (ta0 + ts0),
               # Same mesh, same solver: the multi-part field carries a zero-extended copy per part
               # (2x the unknowns, half of them constrained), so compare wall times, not per-dof.
               "time_ratio_vs_plain": (ta + ts) / (ta0 + ts0),
               "peak_rss_MiB": peak_rss_mib(comm)}
        rows.append(row)
        print_row(comm, row)
    save_rows(comm, "cell_elastic", rows)


if __name__ == "__main__":
    main()
