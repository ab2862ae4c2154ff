"""Benchmark of the Li viscoplastic flow (mixed stress-velocity-pressure, Newton + MUMPS).

Problems, each at three mesh sizes:
* ``tube``: power-law (n = 6.6) creep of Li through a tube of radius 1 um (axisymmetric,
  pressure-driven, DESIGN B5), one Newton solve from rest;
* ``extrusion``: the li_extrusion study's workload: a 1.5 um pore under a Li reservoir
  (axisymmetric, size-dependent yield, wall friction), one pressure-speed curve (plunger speed
  stepped from 1e-11 to 1e-6 m/s, each step a Newton solve with the l2 line search).
Baseline: a plain DOLFINx P2 linear-elasticity solve with the same number of unknowns on a
structured mesh, in the same run. Run: ``python benchmarks/li_creep.py`` or under
``mpiexec -n 2``. Prints dofs, Newton and Krylov iterations, times, dofs/s and the ratio to the
baseline; writes benchmarks/results/.
"""

import time

from mpi4py import MPI

import numpy as np
import ufl
from _report import print_row, save_rows
from dolfinx import fem, mesh
from dolfinx.fem.petsc import LinearProblem
from ssbx.fem.boundary import FixedComponent
from ssbx.fem.li_creep import li_creep
from ssbx.fem.solvers import solver_options
from ssbx.fem.viscoplastic_flow import ViscoplasticFlow, Wall
from ssbx.geometries.strip import build_strip
from ssbx.studies.li_extrusion import Config, PoreModel


def flow_solve(comm, n):
    t0 = time.perf_counter()
    tm = build_strip(comm, 1e-6, 4e-6, n, 4 * n, "axisymmetric")
    fixed = [FixedComponent(("axis",), 0), FixedComponent(("strip_bottom", "strip_top"), 0)]
    flow = ViscoplasticFlow(tm, li_creep(), walls=[Wall(("strip_right",))], fixed=fixed,
                            body_force=ufl.as_vector([0.0, -2e12]), stress_scale=1e6, prefix=f"bench_flow_{n}_")
    t1 = time.perf_counter()
    its = flow.solve()
    t2 = time.perf_counter()
    ksp_its = flow.problem.solver.getLinearSolveIterations()
    return flow.W.dofmap.index_map.size_global * flow.W.dofmap.index_map_bs, its, ksp_its, t1 - t0, t2 - t1


def extrusion_curve(comm, cells_per_diameter):
    t0 = time.perf_counter()
    cfg = Config(cells_per_diameter=cells_per_diameter, speed_min=1e-11, speed_max=1e-6)
    model = PoreModel(cfg, comm, "straight", 1.5e-6, tag=f"_bench_{cells_per_diameter}")
    t1 = time.perf_counter()
    curve = model.speed_curve(0)
    t2 = time.perf_counter()
    # Krylov iterations per Newton step, of the last solve (LU: 1)
    ksp = model.flow.problem.solver.getLinearSolveIterations() / max(model.flow.iterations, 1)
    dofs = model.flow.W.dofmap.index_map.size_global * model.flow.W.dofmap.index_map_bs
    return dofs, len(curve.speeds), curve.newton_iterations, ksp, t1 - t0, t2 - t1, curve.pressures[-1]


def plain_solve(comm, dofs):
    """P2 vector Poisson-like elasticity on a unit square with about ``dofs`` unknowns."""
    k = max(2, int(np.sqrt(dofs / 8)))
    msh = mesh.create_unit_square(comm, k, k)
    V = fem.functionspace(msh, ("Lagrange", 2, (2,)))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    eps = lambda z: ufl.sym(ufl.grad(z))  # noqa: E731
    a = (2 * ufl.inner(eps(u), eps(v)) + ufl.div(u) * ufl.div(v)) * ufl.dx
    L = ufl.inner(ufl.as_vector([0.0, -1.0]), v) * ufl.dx
    facets = mesh.locate_entities_boundary(msh, 1, lambda x: np.isclose(x[1], 0.0))
    bc = fem.dirichletbc(np.zeros(2), fem.locate_dofs_topological(V, 1, facets), V)
    t0 = time.perf_counter()
    prob = LinearProblem(a, L, bcs=[bc], petsc_options_prefix="bench_plain_", petsc_options=solver_options("direct"))
    prob.solve()
    return V.dofmap.index_map.size_global * 2, time.perf_counter() - t0


def main():
    comm = MPI.COMM_WORLD
    rows = []
    flow_solve(comm, 4), plain_solve(comm, 2000)  # warm-up: JIT compilation is not what we measure
    for n in (8, 16, 32):
        dofs, its, ksp, ta, ts = flow_solve(comm, n)
        d0, t0 = plain_solve(comm, dofs)
        row = {"problem": "tube", "ranks": comm.size, "mesh": n, "dofs": dofs, "solves": 1, "newton_its": its,
               "krylov_its_per_newton": ksp / max(its, 1), "setup_s": ta, "solve_s": ts,
               "time_per_solve_s": ts, "dofs_per_s": dofs / (ta + ts), "plain_s": t0,
               "ratio_per_newton_vs_plain": (ts / max(its, 1)) / t0 * d0 / dofs}
        rows.append(row)
        print_row(comm, row)
    extrusion_curve(comm, 2)  # warm-up
    for c in (3, 4, 6):
        dofs, solves, its, ksp, ta, ts, p_max = extrusion_curve(comm, c)
        d0, t0 = plain_solve(comm, dofs)
        row = {"problem": "extrusion", "ranks": comm.size, "mesh": c, "dofs": dofs, "solves": solves,
               "newton_its": its, "krylov_its_per_newton": ksp, "setup_s": ta, "solve_s": ts,
               "time_per_solve_s": ts / solves, "dofs_per_s": dofs * solves / ts, "plain_s": t0,
               "ratio_per_newton_vs_plain": (ts / max(its, 1)) / t0 * d0 / dofs,
               "pressure_at_1e-6_m_per_s_MPa": p_max / 1e6}  # mesh sensitivity of the answer
        rows.append(row)
        print_row(comm, row)
    save_rows(comm, "li_creep", rows)


if __name__ == "__main__":
    main()
