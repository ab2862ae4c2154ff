"""Benchmark of the transport forms (Newton + MUMPS), each at three mesh sizes.

* ``conduction``: Li+ conduction through a 500 um x 500 um SE (plane) between a stripping
  electrode with half of its face in contact and a plating electrode, galvanostatic at
  1 mA/cm^2 (Butler-Volmer on both faces: nonlinear Robin conditions, an outer secant on the
  electrode potential);
* ``intercalation``: Li diffusion into a 25 um graphite layer with Ecker's D(x) under a constant
  flux, 20 backward-Euler steps;
* ``interlayer``: the ``mixed_conduction`` workload, SE / 25 um graphite with two tortuous pores /
  Li (IntercalationConduction: phi and x, Li0 sites with nucleation), 20 steps of 10 s at
  0.2 mA/cm^2; "cells across" n means a pore-wall mesh size of 37.5 um / n.
Baseline: a plain DOLFINx P1 Poisson solve with the same number of unknowns on a unit square,
same solver, same run. Run: ``python benchmarks/transport.py`` or under ``mpiexec -n 2``. Prints
dofs, Newton and Krylov iterations per step, time per step, dofs/s and the ratio to the
baseline; writes benchmarks/results/.
"""

import time

from mpi4py import MPI

import ufl
from _report import plain_poisson, print_row, save_rows
from dolfinx import fem
from ssbx.fem import graphite
from ssbx.fem.conduction import Electrode, IonicConduction
from ssbx.fem.diffusion import Diffusion, Flux
from ssbx.fem.intercalation import IntercalationConduction, IntercalationHost, LithiumSite
from ssbx.fem.kinetics import ButlerVolmer, NucleationBarrier
from ssbx.geometries.interlayer import Interlayer, build_interlayer
from ssbx.geometries.strip import build_strip

UM = 1e-6


def conduction(comm, n):
    t0 = time.perf_counter()
    tm = build_strip(comm, 500 * UM, 500 * UM, n, n)
    x = ufl.SpatialCoordinate(tm.mesh)
    bv = ButlerVolmer(exchange_current=20.0)
    contact = ufl.conditional(ufl.lt(x[0], 250 * UM), 1.0, 0.0)
    cond = IonicConduction(tm, 0.2, {"strip": Electrode(("strip_bottom",), bv, contact=contact),
                                     "plate": Electrode(("strip_top",), bv)}, prefix=f"bench_cond_{n}_")
    t1 = time.perf_counter()
    cond.galvanostatic("plate", -10.0 * 500 * UM)
    t2 = time.perf_counter()
    its, ksp, solves = cond.counters["newton"], cond.counters["krylov"], cond.counters["solves"]
    dofs = cond.V.dofmap.index_map.size_global
    return dofs, solves, its, ksp, t1 - t0, t2 - t1


def intercalation(comm, n):
    t0 = time.perf_counter()
    tm = build_strip(comm, 25 * UM, 25 * UM, n, n)
    cmax = graphite.C_MAX
    diff = Diffusion(tm, lambda c: graphite.diffusivity(c / cmax, ufl), initial=0.05 * cmax, scale=cmax,
                     fluxes=[Flux(("strip_top",), 10.0 / 96485.33212)], prefix=f"bench_diff_{n}_")
    t1 = time.perf_counter()
    its = ksp = 0
    for _ in range(20):
        its += diff.step(10.0)
        ksp += diff.problem.solver.getLinearSolveIterations()
        diff.accept()
    t2 = time.perf_counter()
    return diff.V.dofmap.index_map.size_global, 20, its, ksp, t1 - t0, t2 - t1


def interlayer(comm, n):
    t0 = time.perf_counter()
    tm = build_interlayer(comm, Interlayer(), mesh_size=37.5 * UM / n)
    i = fem.Constant(tm.mesh, 2.0)
    bv = ButlerVolmer(exchange_current=20.0)
    sites = {"foil": LithiumSite(("li_interlayer_interface",), bv),
             "pores": LithiumSite(("interlayer_pore_interface",), bv),
             "se": LithiumSite(("interlayer_se_interface",), bv, nucleation=NucleationBarrier(0.02))}
    host = IntercalationHost(("interlayer",), ButlerVolmer(exchange_current=10.0), specific_area=8e5)
    ic = IntercalationConduction(tm, {"se": 0.2}, host, sites, (("se_top",), i), initial_fraction=0.5,
                                 prefix=f"bench_il_{n}_")
    t1 = time.perf_counter()
    its = 0
    for _ in range(20):
        its += ic.step(10.0)
        ic.accept()
    t2 = time.perf_counter()
    ic.close()
    dofs = ic.W.dofmap.index_map.size_global * ic.W.dofmap.index_map_bs
    return dofs, 20, its, ic.counters["krylov"], t1 - t0, t2 - t1


def main():
    comm = MPI.COMM_WORLD
    rows = []
    for name, fn in (("conduction", conduction), ("intercalation", intercalation), ("interlayer", interlayer)):
        fn(comm, 8), plain_poisson(comm, 100)  # warm-up: JIT compilation is not what we measure
        for n in (50, 100, 200):
            dofs, steps, its, ksp, ta, ts = fn(comm, n)
            d0, t0 = plain_poisson(comm, dofs)
            row = {"problem": name, "ranks": comm.size, "cells_across": n, "dofs": dofs, "steps": steps,
                   "newton_its_per_step": its / steps, "krylov_its_per_newton": ksp / max(its, 1),
                   "setup_s": ta, "solve_s": ts, "time_per_step_s": ts / steps, "dofs_per_s": dofs * steps / ts,
                   "plain_s": t0, "ratio_per_newton_vs_plain": (ts / max(its, 1)) / t0 * d0 / dofs}
            rows.append(row)
            print_row(comm, row)
    save_rows(comm, "transport", rows)


if __name__ == "__main__":
    main()
