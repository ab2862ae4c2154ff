"""Benchmark of the phase-field dendrite problem (Newton + MUMPS on the monolithic P1 space).

A 20 um x 10 um Li | SE cell (plane strain): a 4 um Li layer with a semicircular bump (radius
2 um), -0.1 V across, 5 MPa on the SE face, mechanics on; 10 backward-Euler steps of 0.05 s at
three mesh sizes (h = 0.5, 0.25, 0.125 um against an interface width delta = 0.75 um), for the
Nernst-Planck electrolyte (xi, c~, phi, u) and the single-ion one (xi, phi_e, phi, u; backtracking),
and the single-ion one with a pore (radius 2 um) evolving by Cahn-Hilliard (rho, mu; staggered after
each step, M = 1e-19 m^5/(J s)): its Newton iterations per step are reported on their own.
Baseline: a plain DOLFINx P1 Poisson solve with the same number of unknowns on a unit square,
same direct solver, same run. Also timed: one residual and one Jacobian assembly of the
phase-field forms at the final state. Run ``python benchmarks/phase_field.py`` or under
``mpiexec -n 2``. Prints dofs, Newton and Krylov iterations per step, time per step, dofs/s and
the ratio to the baseline; writes benchmarks/results/.
"""

import time

from mpi4py import MPI

import numpy as np
import ufl
from _report import plain_poisson, print_row, save_rows
from dolfinx import default_scalar_type, fem
from dolfinx.fem.petsc import assemble_matrix, assemble_vector
from ssbx.fem.boundary import FixedComponent, NormalPressure
from ssbx.fem.phase_field import PhaseFieldDendrite, PhaseFieldParameters
from ssbx.fem.pore_evolution import PoreEvolutionParameters
from ssbx.geometries.strip import build_strip

UM = 1e-6
STEPS, DT = 10, 0.05


def dendrite(comm, n, electrolyte="nernst_planck", pores=False):
    t0 = time.perf_counter()
    tm = build_strip(comm, 20 * UM, 10 * UM, n, n // 2)
    p = PhaseFieldParameters()

    def xi0(x):
        level = np.minimum(x[0] - 4 * UM, np.hypot(x[0] - 4 * UM, x[1] - 5 * UM) - 2 * UM)
        return 0.5 * (1 - np.tanh(level / p.interface_width))

    kw = {}
    if pores:
        kw = {"solid_fraction": lambda x: 0.5 * (1 + np.tanh((np.hypot(x[0] - 12 * UM, x[1] - 5 * UM) - 2 * UM)
                                                             / p.interface_width)),
              "pore_evolution": PoreEvolutionParameters(mobility=1e-19)}
    pressure = fem.Constant(tm.mesh, default_scalar_type(5e6))
    x = ufl.SpatialCoordinate(tm.mesh)
    # first Newton guess: the anode voltage in the Li, linear across the SE to 0 at the counter
    phi0 = ufl.max_value(-0.1 * (20 * UM - x[0]) / (16 * UM), -0.1)
    pf = PhaseFieldDendrite(tm, p, anode=("strip_left",), counter=("strip_right",), voltage=-0.1, initial_xi=xi0,
                            mechanics=True, fixed_displacements=[FixedComponent(("strip_left",), 0),
                                                                 FixedComponent(("strip_bottom",), 1)],
                            pressures=[NormalPressure(("strip_right",), pressure)], prefix=f"bench_pf_{n}_",
                            electrolyte=electrolyte, initial_potential=phi0, **kw)
    t1 = time.perf_counter()
    for _ in range(STEPS):
        pf.step(DT)
        pf.accept()
    t2 = time.perf_counter()
    prob = pf.problem
    tb = time.perf_counter()
    b = assemble_vector(prob.F)
    tr = time.perf_counter() - tb
    b.destroy()
    prob.A.zeroEntries()
    tb = time.perf_counter()
    assemble_matrix(prob.A, prob.J, bcs=pf.bcs)
    prob.A.assemble()
    tj = time.perf_counter() - tb
    dofs = pf.W.dofmap.index_map.size_global * pf.W.dofmap.index_map_bs
    pore_newton = pf.pores.counters["newton"] if pores else 0
    pf.close()  # collective, now: the next case must not leave it to each rank's garbage collector
    return dofs, pf.counters["newton"], pf.counters["krylov"], t1 - t0, t2 - t1, tr, tj, pore_newton


def main():
    comm = MPI.COMM_WORLD
    rows = []
    dendrite(comm, 40), plain_poisson(comm, 100, "bench_plain_pf")  # warm-up: JIT compilation is not what we measure
    cases = [(e, False) for e in ("nernst_planck", "single_ion")] + [("single_ion", True)]
    for (electrolyte, pores), n in ((c, n) for c in cases for n in (40, 80, 160)):
        dofs, its, ksp, ta, ts, tr, tj, pore_its = dendrite(comm, n, electrolyte, pores)
        d0, t0 = plain_poisson(comm, dofs, "bench_plain_pf")
        row = {"problem": "phase_field", "electrolyte": electrolyte, "pores": "cahn_hilliard" if pores else "static",
               "ranks": comm.size, "cells_across": n, "dofs": dofs, "steps": STEPS,
               "pore_newton_its_per_step": pore_its / STEPS,
               "newton_its_per_step": its / STEPS, "krylov_its_per_newton": ksp / max(its, 1),
               "setup_s": ta, "solve_s": ts, "time_per_step_s": ts / STEPS, "dofs_per_s": dofs * STEPS / ts,
               "residual_assembly_s": tr, "jacobian_assembly_s": tj,
               "plain_s": t0, "ratio_per_newton_vs_plain": (ts / max(its, 1)) / t0 * d0 / dofs}
        rows.append(row)
        print_row(comm, row)
    save_rows(comm, "phase_field", rows)


if __name__ == "__main__":
    main()
