"""Steady Li+ conduction in a solid electrolyte (t+ = 1) between Butler-Volmer electrodes.

    div(sigma grad phi_e) = 0 in the electrolyte,
    -sigma grad phi_e . n = -i(eta) on each electrode face (n out of the electrolyte),
    eta = phi_s - phi_e - U,  i = Butler-Volmer (anodic > 0: Li+ enters the electrolyte).

Each electrode is an equipotential metal (phi_s a Constant; Li, steel and graphite conduct 1e4-
1e7 times better than the SE) with its own kinetics, equilibrium potential U (0 for Li metal;
U(x) for graphite) and an optional contact fraction field that scales the exchange current
(voids from stripping). Potentiostatic: set the phi_s values and ``solve()``. Galvanostatic:
``galvanostatic(name, current)`` finds phi_s of one electrode such that it passes the given total
current (safeguarded secant on a monotone scalar function), the others held.

Charge conservation is built into the weak form: the electrode currents of a converged solve
sum to zero to the solver tolerance (tests assert 1e-8 relative).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import default_scalar_type, fem
from dolfinx.fem.petsc import NonlinearProblem
from ssbx.fem import kinematics
from ssbx.fem.boundary import integrate, measure
from ssbx.fem.kinetics import ButlerVolmer, NucleationBarrier
from ssbx.fem.solvers import keep_factor_options, release, solver_options
from ssbx.geometries.tagged_mesh import TaggedMesh


class ConductionDivergedError(RuntimeError):
    """Newton (or the galvanostatic outer iteration) did not converge."""


@dataclass(frozen=True)
class Electrode:
    facets: tuple[str, ...]
    kinetics: ButlerVolmer
    equilibrium: float = 0.0  # U (V vs Li/Li+)
    contact: object = None  # None (full contact) or a UFL expression / Function in [0, 1]
    # a Li-free surface (graphite, SE): no current until Li nucleates past the barrier
    nucleation: NucleationBarrier | None = None


def grow_nucleation(barrier: NucleationBarrier, state: fem.Function, dofs: np.ndarray, eta: np.ndarray) -> bool:
    """Switch on the nodal nucleation ``state`` at ``dofs`` where the overpotential ``eta`` (same
    dofs) has passed the barrier; True on every rank if any rank nucleated a new point."""
    face = state.x.array[dofs]
    grew = barrier.grow(face, eta)
    state.x.array[dofs] = face
    state.x.scatter_forward()
    return bool(state.function_space.mesh.comm.allreduce(grew, op=MPI.LOR))


class IonicConduction:
    """phi_e (V) in the electrolyte (the whole mesh of ``tm``).

    Electrodes with a ``nucleation`` barrier carry a nodal nucleation state (0/1) on their face:
    :meth:`solve_with_nucleation` solves, switches on every point whose cathodic overpotential
    went past the barrier, and repeats until nothing new nucleates; a nucleated point stays
    active (it plates and strips without barrier from then on)."""

    def __init__(self, tm: TaggedMesh, conductivity: float, electrodes: Mapping[str, Electrode], *,
                 degree: int = 1, prefix: str = "conduction_", solver: str = "newton_direct"):
        if not conductivity > 0:
            raise ValueError(f"conductivity must be positive, got {conductivity}")
        if not electrodes:
            raise ValueError("IonicConduction needs at least one electrode")
        self.tm, self.sigma, self.electrodes = tm, conductivity, dict(electrodes)
        msh = tm.mesh
        self.V = fem.functionspace(msh, ("Lagrange", degree))
        self.phi = fem.Function(self.V, name="electrolyte_potential")
        self.phi_s = {name: fem.Constant(msh, default_scalar_type(0.0)) for name in self.electrodes}
        self.nucleated = {name: fem.Function(self.V, name=f"nucleated_{name}")
                          for name, e in self.electrodes.items() if e.nucleation is not None}
        v = ufl.TestFunction(self.V)
        wt = kinematics.volume_weight(msh, tm.kind)
        vt = next(iter(self.electrodes.values())).kinetics.vt
        # residual in units of a current per thermal voltage over the conductance: O(1) entries
        F = conductivity * ufl.inner(ufl.grad(self.phi), ufl.grad(v)) * wt * ufl.dx
        self._current_forms = {}
        for name, e in self.electrodes.items():
            i = self.local_current(name)
            F -= i * v * wt * measure(tm, facets=e.facets)
            self._current_forms[name] = i
        self.F = (1.0 / (conductivity * vt)) * F
        opts = solver_options(solver, {"snes_rtol": 1e-12, "snes_atol": 0.0, "snes_stol": 1e-14, "snes_max_it": 50,
                                       "snes_linesearch_type": "basic"})
        self.problem = NonlinearProblem(self.F, self.phi, petsc_options_prefix=prefix, petsc_options=opts)
        keep_factor_options(prefix, opts)
        self.iterations = 0
        self.counters = {"solves": 0, "newton": 0, "krylov": 0}  # totals, for benchmarks and logs

    def overpotential(self, name: str):
        e = self.electrodes[name]
        return self.phi_s[name] - self.phi - e.equilibrium

    def local_current(self, name: str):
        """Current density (A/m^2 of electrode face, anodic > 0) as a UFL expression."""
        e = self.electrodes[name]
        i0 = e.kinetics.exchange_current * (1.0 if e.contact is None else e.contact)
        if name in self.nucleated:
            i0 = i0 * self.nucleated[name]
        return e.kinetics.current(self.overpotential(name), ufl, exchange_current=i0)

    def solve_with_nucleation(self, max_rounds: int = 100) -> int:
        """Solve, nucleate where the overpotential passed the barrier, repeat until the
        nucleated set stops growing (it only grows, so this ends). Returns the rounds."""
        for rounds in range(1, max_rounds + 1):
            self.solve()
            if not any(self._nucleate(name) for name in self.nucleated):
                return rounds
        raise ConductionDivergedError(f"nucleation did not settle in {max_rounds} rounds")

    def _nucleate(self, name: str) -> bool:
        e = self.electrodes[name]
        dofs = self._face_dofs(name)
        eta = float(self.phi_s[name].value) - self.phi.x.array[dofs] - e.equilibrium
        return grow_nucleation(e.nucleation, self.nucleated[name], dofs, eta)

    def _face_dofs(self, name: str) -> np.ndarray:
        facets = np.concatenate([self.tm.facets(f) for f in self.electrodes[name].facets])
        return fem.locate_dofs_topological(self.V, self.tm.mesh.topology.dim - 1, facets)

    def nucleated_fraction(self, name: str) -> float:
        """Nucleated share of the electrode face (area-weighted)."""
        facets = self.electrodes[name].facets
        return integrate(self.tm, self.nucleated[name], facets=facets) / integrate(self.tm, 1.0, facets=facets)

    def solve(self) -> int:
        self.problem.solve()
        snes = self.problem.solver
        self.iterations = snes.getIterationNumber()
        self.counters["solves"] += 1
        self.counters["newton"] += self.iterations
        self.counters["krylov"] += snes.getLinearSolveIterations()
        if snes.getConvergedReason() <= 0 or not np.all(np.isfinite(self.phi.x.array)):
            raise ConductionDivergedError(f"conduction: Newton failed (SNES reason {snes.getConvergedReason()})")
        return self.iterations

    def current(self, name: str) -> float:
        """Total current (A; plane: A/m) leaving electrode ``name`` into the electrolyte."""
        return integrate(self.tm, self._current_forms[name], facets=self.electrodes[name].facets)

    def galvanostatic(self, name: str, current: float, tol: float = 1e-12, max_it: int = 60) -> float:
        """Set phi_s of electrode ``name`` so that it passes ``current`` (A, anodic > 0), others
        held. The electrode current rises monotonically with its phi_s: secant steps kept
        inside a bracket (bisection when a step would leave it). Returns phi_s."""
        ps = self.phi_s[name]

        def residual(value):
            ps.value = value
            self.solve()
            return self.current(name) - current

        vt = self.electrodes[name].kinetics.vt
        a = float(ps.value)
        fa = residual(a)
        step = vt if fa < 0 else -vt
        b = a + step
        fb = residual(b)
        while fa * fb > 0:  # expand until the root is bracketed
            a, fa = b, fb
            step *= 2
            b = a + step
            fb = residual(b)
            if abs(step) > 1e3:
                raise ConductionDivergedError(f"galvanostatic: no potential of '{name}' passes {current:g} A")
        scale = max(abs(current), 1e-300)
        for _ in range(max_it):
            x = b - fb * (b - a) / (fb - fa)
            if not min(a, b) < x < max(a, b):
                x = 0.5 * (a + b)
            fx = residual(x)
            if abs(fx) <= tol * scale:
                return x
            # Illinois variant of regula falsi: keep the bracket and halve the weight of a retained
            # end (plain false position stalls on one side of a curved function)
            if fx * fb < 0:
                a, fa = b, fb
            else:
                fa *= 0.5
            b, fb = x, fx
        raise ConductionDivergedError(f"galvanostatic: '{name}' did not reach {current:g} A in {max_it} iterations")

    def close(self) -> None:
        """Free the solver's PETSc objects (collective: call on every rank at the same point)."""
        release(self.problem)


