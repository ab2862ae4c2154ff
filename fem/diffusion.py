"""Transient diffusion of one species with a concentration-dependent diffusivity.

Serves Li intercalation in graphite (c = x c_max, D(x) from :mod:`ssbx.fem.graphite`) and
vacancy diffusion in a stripping Li electrode (D constant). Plane, axisymmetric (weighted by
2 pi r) or 3D, P1 or P2 Lagrange, theta time stepping (1 = backward Euler, robust; 1/2 =
Crank-Nicolson, second order for the verification of closed forms), Newton through SNES.

    (c - c_old)/dt v + theta [D(c) grad c . grad v - N v]_new + (1 - theta) [...]_old = 0

``Flux(facets, value)``: the molar flux N (mol/m^2/s) INTO the domain through facet groups, a
number, a Constant, a UFL expression, or a callable of the concentration (e.g. a Butler-Volmer
current / F that depends on the surface state); ``fixed``: (facet
groups, value) pairs of prescribed concentration. Other boundaries are sealed.

Inventory bookkeeping: ``inventory()`` = integral of c; ``boundary_supply(dt)`` = the flux
integrated over the step with the same theta weights, so that inventory(t_n+1) - inventory(t_n)
= supply to round-off (conservation is exact for the discrete scheme without fixed values).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import ufl
from dolfinx import default_scalar_type, fem
from dolfinx.fem.petsc import NonlinearProblem
from ssbx.fem import kinematics
from ssbx.fem.boundary import compiled_integral, integrate, measure
from ssbx.fem.solvers import keep_factor_options, release, solver_options
from ssbx.geometries.tagged_mesh import TaggedMesh


class DiffusionDivergedError(RuntimeError):
    """Newton did not converge for the diffusion step."""


@dataclass(frozen=True)
class Flux:
    """Molar flux INTO the domain (mol/m^2/s) on facet groups."""

    facets: tuple[str, ...]
    value: object  # number | Constant | UFL expression | callable c -> UFL expression


class Diffusion:
    """c_t = div(D(c) grad c) + source on a tagged mesh.

    ``diffusivity``: a number (m^2/s) or a callable c -> UFL expression (used with the unknown
    and with the previous state). ``source`` (mol/m^3/s): None, a UFL expression or a callable
    of c. The unknown is scaled by ``scale`` (a typical concentration) so Newton
    tolerances are relative."""

    def __init__(self, tm: TaggedMesh, diffusivity: float | Callable, *, initial: float | Callable = 0.0,
                 fluxes: Sequence[Flux] = (), fixed: Sequence[tuple] = (), source=None, degree: int = 1,
                 theta: float = 1.0, scale: float = 1.0, solver: str = "newton_direct",
                 solver_overrides: dict | None = None, prefix: str = "diffusion_"):
        if not 0.5 <= theta <= 1.0:
            raise ValueError(f"theta must lie in [0.5, 1], got {theta}")
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale}")
        self.tm, self.theta = tm, theta
        msh = tm.mesh
        self.V = fem.functionspace(msh, ("Lagrange", degree))
        self.c = fem.Function(self.V, name="concentration")
        self.c_old = fem.Function(self.V, name="concentration_old")
        if callable(initial):
            self.c.interpolate(initial)
        else:
            self.c.x.array[:] = initial
        self.c_old.x.array[:] = self.c.x.array
        self.dt = fem.Constant(msh, default_scalar_type(1.0))
        self.fluxes = tuple(fluxes)  # fixed once the forms are built
        self._diffusivity = diffusivity if callable(diffusivity) else (lambda c, d=float(diffusivity): d)
        self.source = source
        v = ufl.TestFunction(self.V)
        wt = kinematics.volume_weight(msh, tm.kind)
        th = self.theta

        def rate_terms(c):
            r = self._diffusivity(c) * ufl.inner(ufl.grad(c), ufl.grad(v)) * wt * ufl.dx
            if source is not None:
                r -= _value(source, c) * v * wt * ufl.dx
            for f in self.fluxes:
                r -= _value(f.value, c) * v * wt * measure(tm, facets=f.facets)
            return r

        F = (self.c - self.c_old) / self.dt * v * wt * ufl.dx + th * rate_terms(self.c)
        if th < 1.0:
            F += (1 - th) * rate_terms(self.c_old)
        self.F = (1.0 / scale) * F
        self._steady_F = (1.0 / scale) * rate_terms(self.c)
        self.bcs = []
        fdim = msh.topology.dim - 1
        for facets, value in fixed:  # (facet groups, number or callable x -> value)
            g = fem.Function(self.V)
            if callable(value):
                g.interpolate(value)
            else:
                g.x.array[:] = value
            dofs = fem.locate_dofs_topological(self.V, fdim, np.concatenate([tm.facets(f) for f in facets]))
            self.bcs.append(fem.dirichletbc(g, dofs))
        # no absolute tolerance: residual sizes follow the mesh and the step; a relative decrease
        # (or a vanishing Newton step) decides
        opts = solver_options(solver, {"snes_rtol": 1e-10, "snes_atol": 0.0, "snes_stol": 1e-12, "snes_max_it": 30,
                                       **(solver_overrides or {})})
        self._opts, self._prefix = opts, prefix
        # evaluated at every step by callers that keep the books: compiled once
        self._inventory = {"new": compiled_integral(tm, self.c), "old": compiled_integral(tm, self.c_old)}
        self.problem = None  # created on first use (a steady-only user never builds it)
        self._steady = None
        self.iterations = 0

    def _problem(self, F, prefix):
        prob = NonlinearProblem(F, self.c, bcs=self.bcs, petsc_options_prefix=prefix, petsc_options=self._opts)
        keep_factor_options(prefix, self._opts)
        return prob

    def _run(self, problem) -> int:
        # start on the prescribed values: otherwise the boundary rows dominate the initial
        # residual and the relative tolerance stops Newton before the interior has converged
        for bc in self.bcs:
            bc.set(self.c.x.array)
        self.c.x.scatter_forward()
        problem.solve()
        snes = problem.solver
        self.iterations = snes.getIterationNumber()
        if snes.getConvergedReason() <= 0 or not np.all(np.isfinite(self.c.x.array)):
            raise DiffusionDivergedError(f"diffusion: Newton failed (SNES reason {snes.getConvergedReason()}, "
                                         f"{self.iterations} iterations)")
        return self.iterations

    def step(self, dt: float) -> int:
        """Advance by ``dt`` (s) from c_old (the state is left at the new time; call
        :meth:`accept` to make it the old state, or :meth:`reject` to go back)."""
        self.dt.value = dt
        if self.problem is None:
            self.problem = self._problem(self.F, self._prefix)
        return self._run(self.problem)

    def accept(self) -> None:
        self.c_old.x.array[:] = self.c.x.array

    def reject(self) -> None:
        self.c.x.array[:] = self.c_old.x.array

    def solve_steady(self) -> int:
        """The steady state (time derivative dropped), for manufactured-solution checks; needs
        a flux or source that makes it well posed."""
        if self._steady is None:
            self._steady = self._problem(self._steady_F, self._prefix + "steady_")
        return self._run(self._steady)

    # -- bookkeeping ---------------------------------------------------------------------------------
    def inventory(self, which: str = "new") -> float:
        """Amount of the species (mol; plane: mol/m)."""
        return self._inventory[which]()

    def boundary_supply(self, dt: float) -> float:
        """Amount supplied through the flux boundaries (and the source) over a step of ``dt``,
        with the step's theta weights: equals inventory(new) - inventory(old)."""
        th = self.theta
        total = 0.0
        terms = [(f.value, f.facets) for f in self.fluxes]
        if self.source is not None:
            terms.append((self.source, ()))
        for value, facets in terms:
            new = integrate(self.tm, _value(value, self.c), facets=facets)
            old = integrate(self.tm, _value(value, self.c_old), facets=facets) if th < 1 else 0.0
            total += th * new + (1 - th) * old
        return dt * total

    def close(self) -> None:
        """Free the solvers' PETSc objects (collective: call on every rank at the same point)."""
        for problem in (self.problem, self._steady):
            if problem is not None:
                release(problem)


def _value(value, c):
    """A flux or source: a number/Constant/UFL expression, or a callable of the concentration."""
    if isinstance(value, ufl.core.expr.Expr) or not callable(value):  # UFL expressions are callable too
        return value
    return value(c)
