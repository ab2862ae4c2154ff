"""Benchmark: the cell_assembly densification (staggered tube/contents elastoplastic contact) vs a
plain DOLFINx elasticity solve of the same size.

For three mesh sizes: dofs (contents + tube), Newton iterations per load increment (both bodies,
all staggered iterations), staggered iterations per increment, wall time per increment, dofs/s
(dofs x increments / time), peak resident memory (max over ranks), and the ratio of the time per
increment to one plain P2 axisymmetric linear-elastic solve (``LinearProblem``, MUMPS LU) on the
same two meshes in the same run: the framework's own ceiling (a Newton step costs at least one
such solve, so ratio ~ Newton iterations per increment means no overhead beyond the iterations).
Run serially or with ``mpiexec -n 2``. Writes ``benchmarks/results/cell_assembly_np<ranks>.csv``.
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
from ssbx.fem.elasticity import stress
from ssbx.fem.solvers import solver_options
from ssbx.studies.cell_assembly import CellModel, Config
from ssbx.studies.cell_inputs import CellMesh

INCREMENTS = 5  # 0 -> 300 MPa


def plain_solve(tm, E, nu, fixed_facets, loaded_facets, prefix):
    """Single-material P2 axisymmetric elasticity with a pressure: the DOLFINx baseline (s, dofs)."""
    msh = tm.mesh
    V = fem.functionspace(msh, ("Lagrange", 2, (2,)))
    lmbda, mu = E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    w = kinematics.volume_weight(msh, tm.kind)
    eps = lambda z: kinematics.strain(z, tm.kind, msh)  # noqa: E731
    ds = ufl.Measure("ds", domain=msh, subdomain_data=tm.facet_tags)
    a = ufl.inner(stress(eps(u), lmbda, mu), eps(v)) * w * ufl.dx
    L = -1e6 * ufl.dot(ufl.FacetNormal(msh), v) * w * ds(tm.facet_tag(loaded_facets))
    fdim = msh.topology.dim - 1
    dofs = fem.locate_dofs_topological(V, fdim, np.concatenate([tm.facets(f) for f in fixed_facets]))
    bcs = [fem.dirichletbc(np.zeros(2), dofs, V)]
    t0 = time.perf_counter()
    LinearProblem(a, L, bcs=bcs, petsc_options_prefix=prefix, petsc_options=solver_options("direct")).solve()
    return time.perf_counter() - t0, V.dofmap.index_map.size_global * 2


def densify(model: CellModel):
    model.build("densify")
    stagger, newton, times = [], [], []
    for k in range(1, INCREMENTS + 1):
        model.load.value = model.cfg.densify_pressure * k / INCREMENTS
        t0 = time.perf_counter()
        stagger.append(model.coupling.solve())
        model.coupling.accept()
        times.append(time.perf_counter() - t0)
        newton.append(model.coupling.last_newton)
    return stagger, newton, times


def main():
    comm = MPI.COMM_WORLD
    rows = []
    for size in (1.5e-3, 1.0e-3, 0.6e-3):
        cfg = Config(mesh=CellMesh(size_max=size, cells_across=2, transition=1e-3), figure=False)
        model = CellModel(cfg, comm)
        densify(model)  # warm-up: JIT compilation is not what we measure
        stagger, newton, times = densify(model)
        dofs = model.contents.V.dofmap.index_map.size_global * 2 + model.tube.V.dofmap.index_map.size_global * 2
        base = [plain_solve(model.tm, 193e9, 0.28, ["rod_bottom_bottom"], "rod_top_top", "bench_ca_plain_c_"),
                plain_solve(model.tube_tm, 0.5e9, 0.46, ["ptfe_bottom", "ptfe_outer"], "ptfe_inner",
                            "bench_ca_plain_t_")]  # warm-up
        base = [plain_solve(model.tm, 193e9, 0.28, ["rod_bottom_bottom"], "rod_top_top", "bench_ca_plain_c_"),
                plain_solve(model.tube_tm, 0.5e9, 0.46, ["ptfe_bottom", "ptfe_outer"], "ptfe_inner",
                            "bench_ca_plain_t_")]
        t_plain = sum(b[0] for b in base)
        t_inc = float(np.mean(times))
        row = {"ranks": comm.size, "size_max_mm": size * 1e3, "dofs": dofs, "increments": INCREMENTS,
               "stagger_per_increment": float(np.mean(stagger)), "newton_per_increment": float(np.mean(newton)),
               "time_per_increment_s": t_inc, "dofs_per_s": dofs / t_inc, "plain_solve_s": t_plain,
               "plain_dofs_per_s": dofs / t_plain,
               "time_ratio_increment_vs_plain": t_inc / t_plain,
               "time_ratio_per_newton_vs_plain": t_inc / float(np.mean(newton)) / (t_plain / 2),
               "peak_rss_MiB": peak_rss_mib(comm)}
        rows.append(row)
        print_row(comm, row)
    save_rows(comm, "cell_assembly", rows)


if __name__ == "__main__":
    main()
