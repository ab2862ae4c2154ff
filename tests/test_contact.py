"""Frictionless unilateral contact against a rigid obstacle: the patch test (uniform contact
pressure equal to the load), a bar hanging above a floor that touches it only when its sag
exceeds the gap (closed form), and the gap opening again on unloading."""

import math

from mpi4py import MPI

import numpy as np
import pytest
import ufl
from dolfinx import default_scalar_type, fem
from dolfinx.fem.petsc import NonlinearProblem
from ssbx.fem import kinematics
from ssbx.fem.boundary import integrate, measure
from ssbx.fem.contact import RigidObstacle, contact_force, contact_pressure, contact_residual
from ssbx.fem.elasticity import stress
from ssbx.fem.solvers import solver_options
from ssbx.geometries.strip import build_strip

E = 10e9  # nu = 0: the uniaxial states below are exact closed forms
KAPPA = 1e3 * E


class Block:
    """A plane elastic strip over a rigid floor ``gap`` below its bottom face."""

    def __init__(self, comm, width, length, nx, ny, gap, prefix, top_fixed=False):
        self.tm = tm = build_strip(comm, width, length, nx, ny)
        V = fem.functionspace(tm.mesh, ("Lagrange", 2, (2,)))
        self.u, v = fem.Function(V), ufl.TestFunction(V)
        self.pressure = fem.Constant(tm.mesh, default_scalar_type(0.0))  # on the top face
        self.weight = fem.Constant(tm.mesh, default_scalar_type(0.0))  # body force downwards, N/m^3
        eps = lambda w: kinematics.strain(w, tm.kind, tm.mesh)  # noqa: E731
        F = ufl.inner(stress(eps(self.u), 0.0, E / 2), eps(v)) * ufl.dx
        F += self.weight * v[1] * ufl.dx
        F += self.pressure * ufl.dot(ufl.FacetNormal(tm.mesh), v) * measure(tm, facets=["strip_top"])
        self.floor = RigidObstacle(("strip_bottom",), lambda x: gap, (0.0, -1.0))
        F += contact_residual(tm, self.u, v, [self.floor], KAPPA)
        left = fem.locate_dofs_topological(V.sub(0), 1, tm.facets("strip_left"))
        bcs = [fem.dirichletbc(default_scalar_type(0.0), left, V.sub(0))]
        if top_fixed:
            bcs.append(fem.dirichletbc(default_scalar_type(0.0),
                                       fem.locate_dofs_topological(V.sub(1), 1, tm.facets("strip_top")), V.sub(1)))
        opts = solver_options("newton_direct", {"snes_linesearch_type": "basic", "snes_rtol": 1e-10,
                                                "snes_atol": 1e-14, "snes_max_it": 30})
        self.problem = NonlinearProblem(F, self.u, bcs=bcs, petsc_options_prefix=prefix, petsc_options=opts)
        # the first step from a free state may penetrate deeply (residual grows): not a divergence
        self.problem.solver.setDivergenceTolerance(1e300)

    def solve(self):
        self.problem.solve()
        assert self.problem.solver.getConvergedReason() > 0
        return self.problem.solver.getIterationNumber()

    def force(self):
        return contact_force(self.tm, self.u, self.floor, KAPPA)


@pytest.mark.parametrize("comm", [MPI.COMM_WORLD])
def test_patch_test_uniform_contact_pressure(comm):
    """A block pressed onto the floor by a uniform pressure p: the contact pressure is uniform
    and equal to p, the force p w, the penetration p h / kappa (h: cell size)."""
    p, w = 5e6, 1e-3
    block = Block(comm, w, 0.5e-3, 4, 2, gap=0.0, prefix="patch_")
    block.u.x.array[1::2] = -1e-12  # start touching: a free-floating block has no vertical support
    block.pressure.value = p
    block.solve()
    assert block.force() == pytest.approx(p * w, rel=1e-9)
    pc = contact_pressure(block.tm, block.u, block.floor, KAPPA)
    assert math.sqrt(integrate(block.tm, (pc - p) ** 2, facets=["strip_bottom"]) / w) < 1e-6 * p


@pytest.mark.parametrize("comm", [MPI.COMM_WORLD])
def test_hanging_bar_touches_the_floor_only_beyond_its_sag(comm):
    """A bar of length L hung from its top sags by delta = f L^2 / (2E) under its weight f. A
    floor at gap g0 below: no force if g0 > delta, else R = (delta - g0) E w / L (the penalty's
    penetration R/(w kappa/h) is below 1e-3 of the gap here). Unloading opens the gap again."""
    L, w, f = 1e-3, 0.2e-3, 4e9  # delta = 0.2 um
    delta = f * L**2 / (2 * E)
    for g0, touches in ((0.3e-6, False), (0.1e-6, True)):
        bar = Block(comm, w, L, 2, 20, gap=g0, prefix=f"bar_{g0:g}_", top_fixed=True)
        bar.weight.value = f
        bar.solve()
        expected = max(delta - g0, 0.0) * E * w / L
        if touches:
            assert bar.force() == pytest.approx(expected, rel=2e-3)
        else:
            assert bar.force() == 0.0
            sag = -comm.allreduce(bar.u.x.array[1::2].min(), op=MPI.MIN)
            assert sag == pytest.approx(delta, rel=1e-6)
    bar.weight.value = 0.0  # unload: the bar springs back and leaves the floor
    bar.solve()
    assert bar.force() == 0.0 and comm.allreduce(np.abs(bar.u.x.array).max(), op=MPI.MAX) < 1e-15
