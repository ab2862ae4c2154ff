"""Steady mixed ionic-electronic conduction: two potentials in one conductor, coupled by a local
Li+/Li0 exchange reaction.

The graphite interlayer (MIEC) and an electronically leaky SE both carry a Li+ potential phi_e
and an electron potential phi_s. Where the solid holds (or may form) Li, a volumetric reaction
Li <-> Li+ + e- with specific area a and Butler-Volmer kinetics moves current between the two:

    -div(sigma_i grad phi_e) =  a j(eta)     (Li+ produced by the anodic reaction)
    -div(sigma_s grad phi_s) = -a j(eta)     (electrons produced with it leave in the electronic path)
    eta = phi_s - phi_e - U,  j anodic > 0 (ssbx.fem.kinetics sign convention).

The total current i_ion + i_s is divergence free, so the boundary currents of a converged solve
sum to zero (tests assert 1e-8). ``activity`` (a UFL expression or Function in [0, 1]) switches
the reaction on where Li0 is present or nucleated; ``specific_area`` is a (m^-1).

Boundaries: ``ionic`` Butler-Volmer electrodes as in :mod:`ssbx.fem.conduction` (Li+ enters from
a Li electrode), ``electronic`` fixed electron potentials (metal contacts: Li foil, current
collector), other faces blocking for both carriers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import basix.ufl
import numpy as np
import ufl
from dolfinx import default_scalar_type, fem
from dolfinx.fem.petsc import NonlinearProblem
from ssbx.fem import kinematics
from ssbx.fem.boundary import integrate, measure, residual_on_facets
from ssbx.fem.conduction import ConductionDivergedError, Electrode, grow_nucleation
from ssbx.fem.kinetics import ButlerVolmer, NucleationBarrier
from ssbx.fem.solvers import keep_factor_options, release, solver_options
from ssbx.geometries.tagged_mesh import TaggedMesh


@dataclass(frozen=True)
class ElectronicContact:
    """phi_s = potential (a Constant, V) on facet groups."""

    facets: tuple[str, ...]
    potential: fem.Constant


class MixedConduction:
    """(phi_e, phi_s) on the whole mesh of ``tm``. ``ionic_conductivity`` and
    ``electronic_conductivity`` may be numbers or UFL expressions (per region);
    ``equilibrium`` U is a number or a UFL expression (e.g. U(x) of graphite); ``source`` is an
    optional pair of UFL expressions added to the two equations (manufactured solutions)."""

    def __init__(self, tm: TaggedMesh, ionic_conductivity, electronic_conductivity, kinetics: ButlerVolmer, *,
                 specific_area: float = 0.0, activity=1.0, equilibrium=0.0,
                 electrodes: Mapping[str, Electrode] = (), contacts: Sequence[ElectronicContact] = (),
                 ionic_fluxes: Sequence[tuple] = (), nucleation: NucleationBarrier | None = None,
                 source=None, prefix: str = "mixed_", solver: str = "newton_direct"):
        if not specific_area >= 0:
            raise ValueError(f"specific_area must be >= 0, got {specific_area}")
        if not contacts:
            raise ValueError("MixedConduction needs at least one electronic contact (the electron potential level)")
        self.tm = tm
        msh = tm.mesh
        p1 = basix.ufl.element("Lagrange", msh.basix_cell(), 1)
        self.W = fem.functionspace(msh, basix.ufl.mixed_element([p1, p1]))
        self.w = fem.Function(self.W, name="potentials")
        phi_e, phi_s = ufl.split(self.w)
        ve, vs = ufl.TestFunctions(self.W)
        wt = kinematics.volume_weight(msh, tm.kind)
        self.electrodes = dict(electrodes)
        self.phi_electrode = {name: fem.Constant(msh, default_scalar_type(0.0)) for name in self.electrodes}
        self.eta = phi_s - phi_e - equilibrium
        self.equilibrium, self.nucleation = equilibrium, nucleation
        # with a barrier the reaction is off until Li0 nucleates there (nodal state, then for good)
        V1 = self.W.sub(0).collapse()[0]
        self.nucleated = fem.Function(V1, name="nucleated")
        self._eta_nodal = fem.Function(V1, name="overpotential")
        self._eta_expr = fem.Expression(self.eta, V1.element.interpolation_points)
        if nucleation is not None:
            activity = activity * self.nucleated
        self.reaction = specific_area * activity * kinetics.current(self.eta, ufl)  # A/m^3, anodic > 0
        F = (ionic_conductivity * ufl.inner(ufl.grad(phi_e), ufl.grad(ve))
             + electronic_conductivity * ufl.inner(ufl.grad(phi_s), ufl.grad(vs))
             - self.reaction * ve + self.reaction * vs) * wt * ufl.dx
        if source is not None:
            F -= (source[0] * ve + source[1] * vs) * wt * ufl.dx
        for facets, current in ionic_fluxes:  # (facet groups, Li+ current density entering, A/m^2)
            F -= current * ve * wt * measure(tm, facets=facets)
        self._electrode_current = {}
        for name, e in self.electrodes.items():
            i = e.kinetics.current(self.phi_electrode[name] - phi_e - e.equilibrium, ufl)
            F -= i * ve * wt * measure(tm, facets=e.facets)
            self._electrode_current[name] = i
        self.F = (1.0 / kinetics.vt) * F
        fdim = msh.topology.dim - 1
        self.bcs = []
        for c in contacts:
            facets = np.concatenate([tm.facets(f) for f in c.facets])
            dofs = fem.locate_dofs_topological(self.W.sub(1), fdim, facets)
            self.bcs.append(fem.dirichletbc(c.potential, dofs, self.W.sub(1)))
        self.contacts = list(contacts)
        opts = solver_options(solver, {"snes_rtol": 1e-12, "snes_atol": 0.0, "snes_stol": 1e-14, "snes_max_it": 50,
                                       "snes_linesearch_type": "basic"})
        self.problem = NonlinearProblem(self.F, self.w, bcs=self.bcs, petsc_options_prefix=prefix, petsc_options=opts)
        keep_factor_options(prefix, opts)
        self._residual = fem.form(F)

    def solve(self) -> int:
        for bc in self.bcs:
            bc.set(self.w.x.array)
        self.w.x.scatter_forward()
        self.problem.solve()
        snes = self.problem.solver
        if snes.getConvergedReason() <= 0 or not np.all(np.isfinite(self.w.x.array)):
            raise ConductionDivergedError(f"mixed conduction: Newton failed (SNES reason {snes.getConvergedReason()})")
        return snes.getIterationNumber()

    def potentials(self):
        return ufl.split(self.w)

    def local_overpotential(self) -> fem.Function:
        """phi_s - phi_e - U of the current state at the P1 nodes (a Function, updated in place)."""
        self._eta_nodal.interpolate(self._eta_expr)
        return self._eta_nodal

    def solve_with_nucleation(self, max_rounds: int = 200) -> int:
        """Solve; switch the reaction on wherever the local overpotential passed the barrier;
        repeat until the nucleated set stops growing. Returns the rounds."""
        if self.nucleation is None:
            self.solve()
            return 1
        every = np.arange(len(self.nucleated.x.array))  # the reaction may nucleate at any node
        for rounds in range(1, max_rounds + 1):
            self.solve()
            if not grow_nucleation(self.nucleation, self.nucleated, every, self.local_overpotential().x.array):
                return rounds
        raise ConductionDivergedError(f"nucleation did not settle in {max_rounds} rounds")

    def electrode_current(self, name: str) -> float:
        """Ionic current (A; plane: A/m) from a Butler-Volmer electrode into the conductor."""
        return integrate(self.tm, self._electrode_current[name], facets=self.electrodes[name].facets)

    def contact_current(self, index: int) -> float:
        """Electronic current (A; plane: A/m) leaving the conductor through contact ``index``
        (electrons entering = positive current leaving)."""
        facets = self.contacts[index].facets
        return -residual_on_facets(self.tm, self._residual, self.W, self.W.sub(1), facets)

    def reaction_current(self) -> float:
        """Total current converted from electronic to ionic inside the conductor (A; anodic > 0)."""
        return integrate(self.tm, self.reaction)

    def close(self) -> None:
        """Free the solver's PETSc objects (collective: call on every rank at the same point)."""
        release(self.problem)


