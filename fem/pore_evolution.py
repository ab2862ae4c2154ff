"""Pore morphology by Cahn-Hilliard: the solid fraction rho of a porous SE (1 solid, 0 pore) as a
conserved order parameter (DESIGN.md M4: "rho static by default, Cahn-Hilliard optional").

    d rho/dt = div(M m grad mu) + s_rho,
    mu = W g'(rho) - kappa lap(rho) + f_rho + s_mu,

with g = rho^2 (1 - rho)^2 (the double well of the Li phase field), a mobility factor m in
[0, 1] (the phase field passes 1 - h(xi): the SE framework does not move where Li metal is) and
an extra driving force f_rho (J/m^3; the phase field passes the elastic d f_el/d rho, so pores
move into strained regions). Every boundary is closed (zero flux, grad rho . n = 0): without
sources int rho is conserved exactly, i.e. the SE volume; pores move and change shape but neither
close nor open. The flat equilibrium interface has the tanh profile of DESIGN.md B8 with
delta = sqrt(2 kappa/W) and the energy sqrt(2 kappa W)/6.

Linear stability (the verification of the dynamics): about a uniform rho0, a small perturbation
cos(k x) changes at the rate -M k^2 [g''(rho0) + kappa k^2] (g'' = W (2 - 12 rho0 + 12 rho0^2)):
it decays where g'' > 0 (rho0 near 0 or 1) and, inside the spinodal (g'' < 0, rho0 in
(0.21, 0.79)), long waves (k^2 < -g''/kappa) grow.

Scaling (as the Li phase field): l0 = 1 um, t0 = 1 s, mu in units of W; M^ = M W t0/l0^2,
kappa^ = kappa/(W l0^2). Numerics: mixed P1 x P1 (rho, mu), backward Euler, Newton (SNES) over
MUMPS, fixed quadrature degree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from mpi4py import MPI

import basix.ufl
import numpy as np
import ufl
from dolfinx import default_scalar_type, fem
from dolfinx.fem.petsc import NonlinearProblem
from ssbx.fem import kinematics
from ssbx.fem.boundary import compiled_integral
from ssbx.fem.diffuse_interface import LENGTH_SCALE, TIME_SCALE, double_well, double_well_slope, set_values
from ssbx.fem.solvers import keep_factor_options, release, solver_options
from ssbx.geometries.tagged_mesh import TaggedMesh


class PoreEvolutionError(ValueError):
    """An invalid pore-evolution parameter or setting; the message names it."""


class PoreEvolutionDivergedError(RuntimeError):
    """Newton did not converge for a Cahn-Hilliard step."""


@dataclass(frozen=True)
class PoreEvolutionParameters:
    """Cahn-Hilliard parameters of the pore field (SI). There is no measured mobility of the
    Li6PS5Cl framework at room temperature (its P, S and Cl do not diffuse on the time of a
    charge): ``mobility`` has no default, a study states the value it assumes."""

    mobility: float  # M (m^5/(J s))
    # W and kappa of the Li phase field (Chen 2015): pore and Li interfaces share width and energy
    barrier_height: float = 4.45e6  # J/m^3
    gradient_coefficient: float = 1.25e-6  # J/m

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise PoreEvolutionError(f"pore-evolution parameter '{f.name}' must be a positive number, got {v!r}")

    @property
    def interface_width(self) -> float:
        """delta = sqrt(2 kappa/W) (m)."""
        return math.sqrt(2 * self.gradient_coefficient / self.barrier_height)

    @property
    def surface_energy(self) -> float:
        """sqrt(2 kappa W)/6 (J/m^2) of a flat solid|pore interface."""
        return math.sqrt(2 * self.gradient_coefficient * self.barrier_height) / 6

    def growth_rate(self, rho0: float, wavenumber: float) -> float:
        """Rate (1/s) at which a small perturbation cos(k x) of a uniform rho0 grows (> 0) or decays
        (< 0): -M k^2 [g''(rho0) + kappa k^2] (see the module docstring)."""
        g2 = self.barrier_height * (2 - 12 * rho0 + 12 * rho0**2)
        k2 = wavenumber**2
        return -self.mobility * k2 * (g2 + self.gradient_coefficient * k2)


class PoreEvolution:
    """Cahn-Hilliard for the solid fraction rho on the mesh of ``tm`` (plane, axisymmetric or 3D).

    ``initial``: a number, a callable of x, a UFL expression or a Function; a Function of another
    space (e.g. a DG0 pore marker) is projected onto P1 with a lumped mass matrix (a volume-weighted
    average at each vertex: it stays within the marker's bounds). ``mobility_factor`` m and
    ``driving_force`` (J/m^3): UFL expressions, re-evaluated in every solve (they may hold Functions
    of another problem, e.g. the Li phase field's state). ``source`` (1/s, added to d rho/dt) and
    ``potential_source`` (J/m^3, added to mu): UFL expressions, for manufactured solutions.
    Use: ``step(dt)`` then ``accept()`` (or ``reject()``)."""

    def __init__(self, tm: TaggedMesh, params: PoreEvolutionParameters, initial: object = 1.0, *,
                 mobility_factor: object = 1.0, driving_force: object = None, source: object = None,
                 potential_source: object = None, quadrature_degree: int = 4, prefix: str = "pores_",
                 solver: str = "newton_direct", solver_overrides: dict | None = None):
        if not isinstance(params, PoreEvolutionParameters):
            raise PoreEvolutionError(f"params must be PoreEvolutionParameters, got {type(params).__name__}")
        if not (isinstance(quadrature_degree, int) and quadrature_degree >= 2):
            raise PoreEvolutionError(f"quadrature_degree must be an integer >= 2, got {quadrature_degree!r}")
        self.tm, self.params = tm, params
        msh = tm.mesh
        l0, t0, W = LENGTH_SCALE, TIME_SCALE, params.barrier_height
        self._volume_scale = l0 ** (2 if tm.kind == kinematics.PLANE else 3)
        p1 = basix.ufl.element("Lagrange", msh.basix_cell(), 1)
        self.W = fem.functionspace(msh, basix.ufl.mixed_element([p1, p1]))
        self.w = fem.Function(self.W, name="pore_state")
        self.w_old = fem.Function(self.W, name="pore_state_old")
        self.V, maps = self.W.sub(0).collapse()
        self._rho_dofs = np.asarray(maps, dtype=np.int32)
        self.dt = fem.Constant(msh, default_scalar_type(1.0))  # s

        rho, mu = ufl.split(self.w)
        rho_n = ufl.split(self.w_old)[0]
        q, v = ufl.TestFunctions(self.W)
        dx = ufl.Measure("dx", domain=msh, metadata={"quadrature_degree": quadrature_degree})
        jac = kinematics.volume_weight(msh, tm.kind) / self._volume_scale

        def grad(f):  # gradient in units of 1/l0
            return l0 * ufl.grad(f)

        k = {name: fem.Constant(msh, default_scalar_type(value)) for name, value in (
            ("mobility", params.mobility * W * t0 / l0**2), ("gradient", params.gradient_coefficient / (W * l0**2)))}
        F_rho = ((rho - rho_n) / (self.dt / t0) * q
                 + k["mobility"] * mobility_factor * ufl.inner(grad(mu), grad(q))) * jac * dx
        F_mu = ((mu - double_well_slope(rho)) * v - k["gradient"] * ufl.inner(grad(rho), grad(v))) * jac * dx
        if driving_force is not None:
            F_mu -= driving_force / W * v * jac * dx
        if source is not None:
            F_rho -= source * t0 * q * jac * dx
        if potential_source is not None:
            F_mu -= potential_source / W * v * jac * dx
        self.F = F_rho + F_mu

        self._set_rho(initial)
        self.w_old.x.array[:] = self.w.x.array
        self._opts = solver_options(solver, {"snes_rtol": 1e-10, "snes_atol": 1e-12, "snes_stol": 1e-14,
                                             "snes_max_it": 25, **(solver_overrides or {})})
        self._prefix = prefix
        self.problem = self._new_problem()
        self.iterations = 0
        self.counters = {"steps": 0, "newton": 0}  # solves (accepted or not) and their Newton iterations
        self._solid = {"new": compiled_integral(tm, rho, degree=quadrature_degree),
                       "old": compiled_integral(tm, rho_n, degree=quadrature_degree)}
        self._energy = compiled_integral(
            tm, W * double_well(rho) + 0.5 * params.gradient_coefficient * ufl.inner(ufl.grad(rho), ufl.grad(rho)),
            degree=quadrature_degree)
        self._rho_out = None

    def _new_problem(self) -> NonlinearProblem:
        prob = NonlinearProblem(self.F, self.w, petsc_options_prefix=self._prefix, petsc_options=self._opts)
        keep_factor_options(self._prefix, self._opts)
        return prob

    def _set_rho(self, value) -> None:
        f = fem.Function(self.V)
        set_values(f, value, "initial rho", PoreEvolutionError)
        self.w.x.array[self._rho_dofs] = f.x.array
        self.w.x.scatter_forward()

    # -- time stepping -----------------------------------------------------------------------------
    def step(self, dt: float) -> int:
        """Advance from the accepted state by ``dt`` (s); returns the Newton iterations. Raises
        :class:`PoreEvolutionDivergedError` (the state is then undefined: call :meth:`reject`)."""
        if not dt > 0:
            raise PoreEvolutionError(f"time step must be positive, got {dt}")
        from petsc4py import PETSc

        self.dt.value = dt
        try:
            self.problem.solve()
        except PETSc.Error as e:  # vectors stay read-locked after an error inside SNES: start afresh
            release(self.problem)  # collective, now
            self.problem = self._new_problem()
            raise PoreEvolutionDivergedError(f"pore evolution: PETSc error in the solve (dt = {dt:.3g} s): {e}") from e
        snes = self.problem.solver
        self.iterations = snes.getIterationNumber()
        self.counters["steps"] += 1
        self.counters["newton"] += self.iterations
        finite = self.tm.comm.allreduce(bool(np.all(np.isfinite(self.w.x.array))), op=MPI.LAND)
        if snes.getConvergedReason() <= 0 or not finite:
            raise PoreEvolutionDivergedError(f"pore evolution: Newton failed (dt = {dt:.3g} s, SNES reason "
                                             f"{snes.getConvergedReason()}, {self.iterations} iterations)")
        return self.iterations

    def accept(self) -> None:
        self.w_old.x.array[:] = self.w.x.array

    def reject(self) -> None:
        self.w.x.array[:] = self.w_old.x.array

    def close(self) -> None:
        """Free the solver's PETSc objects (collective: call on every rank at the same point)."""
        release(self.problem)

    # -- state and diagnostics (SI; plane: per metre of depth) -------------------------------------
    def solid_fraction(self, which: str = "old"):
        """rho as a UFL expression of the accepted ("old") or the last solved ("new") state: hand
        the accepted one to a problem that is solved before this one in each step."""
        return ufl.split(self.w_old if which == "old" else self.w)[0]

    def rho(self) -> fem.Function:
        """A P1 Function of the last solved rho (the same object, refreshed on every call)."""
        if self._rho_out is None:
            self._rho_out = fem.Function(self.V, name="solid_fraction")
        self._rho_out.x.array[:] = self.w.x.array[self._rho_dofs]
        return self._rho_out

    def solid_volume(self, which: str = "new") -> float:
        """int rho dV (m^3; plane m^2): the SE volume, conserved by the closed boundaries."""
        return self._solid[which]()

    def free_energy(self) -> float:
        """int W g(rho) + kappa/2 |grad rho|^2 dV (J; plane J/m) of the last solved state (without
        the driving force's energy): it falls at every step of a free relaxation."""
        return self._energy()


__all__ = ["PoreEvolution", "PoreEvolutionDivergedError", "PoreEvolutionError", "PoreEvolutionParameters"]
