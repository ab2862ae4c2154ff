"""Large-strain Li flow: incompressible Perzyna / Herschel-Bulkley-Norton viscoplastic flow.

Formulation and why. In gap flow and pore extrusion Li reaches strains of order 1-100 while its
elastic strains stay small (sigma_y/E ~ 1e-4 in bulk, ~1e-2 even at the 100 MPa micrometre-scale
strength). A Lagrangian F = F_e F_p solid would spend its effort on mesh distortion and remeshing
to resolve an elastic part that does not change the answer. We therefore treat Li as a rigid-
viscoplastic, incompressible fluid on a fixed (Eulerian) mesh.

Mixed stress-velocity-pressure form. Unknowns: deviatoric stress s (discontinuous P(k-1)),
velocity u (P(k)), pressure p (P(k-1), Taylor-Hood). The flow rule is imposed in its *compliance*
direction,

    D(u) = 3/2 rate(sigma_e)/sigma_e s + s/(2 eta_0),   sigma_e = sqrt(3/2 s:s),

with rate() from :mod:`ssbx.fem.li_creep` (Norton, Garofalo, Perzyna overstress = Herschel-Bulkley
when a yield stress is given; the yield stress may be a field, e.g. size-dependent strength). The
primal (velocity-only) form needs the inverse law, stress ~ rate^(1/n) with 1/n = 0.15, whose
Newton iteration oscillates in the near-rigid cores of the flow; in stress space the law is a
smooth convex power and Newton converges in a handful of steps (the stress field hardly changes
with n). Above ``rate_cap`` (1e4 1/s) the law is continued linearly: such rates never matter for
holds of seconds to hours, and the bounded growth keeps wild Newton iterates finite.
eta_0 = S/(3 rigid_rate) keeps "rigid" regions (below yield) solvable: they creep at rates below
rigid_rate (1e-6 1/s at sigma_e = S by default, 2e-4 strain in 3 min).

Free surface. Where Li advances into an empty pore the fixed mesh carries a fill fraction phi
(per cell, 1 = Li): the empty part is a pseudo-fluid of negligible viscosity (a "void" whose
pressure drop is ~1e-4 of the Li stresses) that leaves through the open pore end. The caller moves
the front (:mod:`ssbx.studies.li_extrusion` marches it along the pore centreline by volume
conservation) and re-solves the quasi-steady flow, which is exact for creeping flow without inertia
or elasticity.

Walls. ``no_slip``; ``slip`` (frictionless, u.n = 0 by Nitsche's method so any wall orientation
works and no flux leaks through a loaded wall);
``friction``: u.n = 0 plus a regularised Tresca shear traction tau_i u_t/sqrt(|u_t|^2 + v_r^2)
(v_r = ``slip_speed``, a Constant: callers that sweep speeds over decades set it relative to the
speed, as a fixed tiny v_r makes the friction law a near step that Newton cannot follow).

Scaling. Li stresses are ~1e6-1e8 Pa on micrometre lengths and velocities of um/s: the unknowns are
the dimensionless u/U and p/S (S a stress scale, L a length scale, U = L B S^n) and each equation is
divided by its natural size, so Newton tolerances and the LU pivots see O(1) numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from petsc4py import PETSc

import basix.ufl
import numpy as np
import ufl
from dolfinx import default_scalar_type, fem
from dolfinx.fem.petsc import NonlinearProblem
from ssbx.fem import kinematics
from ssbx.fem.boundary import FixedComponent, NormalPressure, integrate, measure, residual_on_facets
from ssbx.fem.li_creep import CreepLaw
from ssbx.fem.solvers import keep_factor_options, release, solver_options
from ssbx.geometries.tagged_mesh import TaggedMesh

WALL_CONDITIONS = ("no_slip", "slip", "friction")


@dataclass(frozen=True)
class Wall:
    """A wall on facet groups. ``shear_strength`` (Pa) is the Tresca limit of ``friction``."""

    facets: tuple[str, ...]
    condition: str = "no_slip"
    shear_strength: float = 0.0

    def __post_init__(self):
        if self.condition not in WALL_CONDITIONS:
            raise ValueError(f"wall condition must be one of {WALL_CONDITIONS}, got {self.condition!r}")
        if not self.shear_strength >= 0:
            raise ValueError(f"wall 'shear_strength' must be >= 0, got {self.shear_strength}")


class FlowDivergedError(RuntimeError):
    """Newton did not converge for the viscoplastic flow."""


def equivalent_rate(D):
    """Von Mises equivalent strain rate sqrt(2/3 D:D) of a (traceless) 3x3 rate of deformation."""
    return ufl.sqrt(2.0 / 3.0 * ufl.inner(D, D))


def stress_components(kind: str) -> int:
    return 6 if kind == kinematics.SOLID else 4


def stress_tensor(sv, kind: str):
    """3x3 symmetric tensor from its independent components (ordering as in kinematics.strain:
    plane (x, y, z): xx, yy, zz, xy; axisymmetric (r, theta, z): rr, zz, tt, rz; 3D: Voigt)."""
    if kind == kinematics.PLANE:
        return ufl.as_tensor([[sv[0], sv[3], 0], [sv[3], sv[1], 0], [0, 0, sv[2]]])
    if kind == kinematics.AXISYMMETRIC:
        return ufl.as_tensor([[sv[0], 0, sv[3]], [0, sv[2], 0], [sv[3], 0, sv[1]]])
    return ufl.as_tensor([[sv[0], sv[5], sv[4]], [sv[5], sv[1], sv[3]], [sv[4], sv[3], sv[2]]])


def _normal_3x3(n, kind: str):
    """Facet normal in the 3x3 component ordering of :func:`stress_tensor`."""
    if kind == kinematics.PLANE:
        return ufl.as_vector([n[0], n[1], 0])
    if kind == kinematics.AXISYMMETRIC:
        return ufl.as_vector([n[0], 0, n[1]])
    return n


def deviator(t):
    return t - ufl.tr(t) / 3 * ufl.Identity(3)


class ViscoplasticFlow:
    """Quasi-steady incompressible viscoplastic flow on a tagged mesh (plane, axisymmetric, 3D).

    ``yield_stress``: None (the law's own), a number or a UFL expression (Pa). ``fill``: a DG0
    Function with the Li fraction per cell (None: all Li). ``body_force``: a UFL vector (N/m^3).
    Scales: ``length_scale`` L (m) and ``stress_scale`` S (Pa) should be typical of the problem.
    """

    def __init__(self, tm: TaggedMesh, law: CreepLaw, *, yield_stress=None, fill: fem.Function | None = None,
                 walls: Sequence[Wall] = (), fixed: Sequence[FixedComponent] = (),
                 pressures: Sequence[NormalPressure] = (), body_force=None, degree: int = 2,
                 rigid_rate: float = 1e-6, rate_cap: float = 1e4, void_viscosity: float = 1e3,
                 length_scale: float = 1e-6, stress_scale: float = 1e6, penalty: float = 10.0,
                 solver: str = "newton_direct", solver_overrides: dict | None = None, prefix: str = "flow_"):
        if degree < 2:
            raise ValueError("viscoplastic flow needs velocity degree >= 2 (Taylor-Hood)")
        if not rigid_rate > 0:
            raise ValueError(f"'rigid_rate' must be positive, got {rigid_rate}")
        if not rate_cap > 100 * rigid_rate:
            raise ValueError(f"'rate_cap' must exceed 100 x rigid_rate, got {rate_cap}")
        self.rate_cap = rate_cap
        self.tm, self.law, self.kind = tm, law, tm.kind
        msh = tm.mesh
        gdim = msh.geometry.dim
        self.L, self.S = length_scale, stress_scale
        self.U = length_scale * law.B * stress_scale**law.exponent  # velocity scale (m/s)
        cell = msh.basix_cell()
        nsig = stress_components(self.kind)
        self.W = fem.functionspace(msh, basix.ufl.mixed_element([
            basix.ufl.element("DG", cell, degree - 1, shape=(nsig,)),
            basix.ufl.element("Lagrange", cell, degree, shape=(gdim,)),
            basix.ufl.element("Lagrange", cell, degree - 1)]))
        self.w = fem.Function(self.W, name="flow")
        # Tresca regularisation: full shear strength once the wall slip exceeds slip_speed (m/s)
        self.slip_speed = fem.Constant(msh, default_scalar_type(rigid_rate * length_scale))
        self.eta0 = fem.Constant(msh, default_scalar_type(stress_scale / (3 * rigid_rate)))
        self.fill = fill
        self.yield_stress = law.yield_stress if yield_stress is None else yield_stress
        self.void_viscosity = void_viscosity

        sh, uh, ph = ufl.split(self.w)
        t, v, q = ufl.TestFunctions(self.W)
        sig = deviator(stress_tensor(self.S * sh, self.kind))
        tt = stress_tensor(t, self.kind)
        u, p = self.U * uh, self.S * ph
        wt = kinematics.volume_weight(msh, self.kind)
        dim_eff = 2 if self.kind == kinematics.PLANE else 3
        area = self.L ** (dim_eff - 1)
        mom = 1.0 / (self.S * area)  # momentum equations / (stress x area)
        con = 1.0 / (self.U * area)  # continuity and flow rule / (velocity x area)
        D = kinematics.strain(u, self.kind, msh)
        Dv = kinematics.strain(v, self.kind, msh)
        # the power law is not polynomial: fix the rule instead of letting UFL estimate a huge degree
        dxq = ufl.dx(metadata={"quadrature_degree": 2 * degree})
        F = con * ufl.inner(self.compliance(sig) - D, deviator(tt)) * wt * dxq
        F += con * self.U / self.L * ufl.tr(stress_tensor(sh, self.kind)) * ufl.tr(tt) * wt * dxq  # trace := 0
        F += mom * (ufl.inner(sig, Dv) - p * ufl.tr(Dv)) * wt * dxq
        F -= con * q * ufl.tr(D) * wt * dxq
        if body_force is not None:
            F -= mom * ufl.inner(body_force, v) * wt * dxq
        n = ufl.FacetNormal(msh)
        for load in pressures:
            F += mom * load.pressure * ufl.inner(n, v) * wt * measure(tm, facets=load.facets)
        n3 = _normal_3x3(n, self.kind)
        h = ufl.CellDiameter(msh)
        phi = 1.0 if fill is None else fill
        for wall in walls:
            ds = measure(tm, facets=wall.facets)
            if wall.condition == "no_slip":
                continue  # Dirichlet, below
            # u.n = 0 by Nitsche's method: the wall's normal traction is taken from the fields
            # (consistency, so nothing leaks through the wall however large the stresses), and a
            # penalty on the stiffest viscosity present (the rigid-limit dashpot) enforces it
            tn = ufl.dot(n3, ufl.dot(sig - p * ufl.Identity(3), n3))
            F -= mom * tn * ufl.dot(v, n) * wt * ds
            F += mom * penalty * self.eta0 / h * ufl.dot(u, n) * ufl.dot(v, n) * wt * ds
            if wall.condition == "friction" and wall.shear_strength > 0:
                ut = u - ufl.dot(u, n) * n
                tau = phi * wall.shear_strength / ufl.sqrt(ufl.dot(ut, ut) + self.slip_speed**2)
                F += mom * tau * ufl.dot(ut, v) * wt * ds
        self.F = F
        self._residual_form = fem.form(F)
        self._momentum_scale = mom
        self.bcs = self._dirichlet(walls, fixed)
        # Full Newton steps: from a cold start the first step finds the equilibrium stress with
        # rigid-limit velocities and raises the residual; a backtracking line search would stall.
        # The stress block is ~1e-4 of the coupling entries in near-rigid cells: MUMPS gets room
        # for delayed pivots and a small pivot threshold (the system is well posed, see tests).
        opts = solver_options(solver, {"snes_max_it": 60, "snes_rtol": 1e-10, "snes_atol": 1e-12,
                                       "snes_linesearch_type": "basic", "mat_mumps_icntl_14": 1000,
                                       "mat_mumps_cntl_1": 1e-6, **(solver_overrides or {})})
        self._solver_setup = (prefix, opts)
        self._make_problem()
        self.iterations = 0

    def _make_problem(self):
        prefix, opts = self._solver_setup
        if getattr(self, "problem", None) is not None:
            release(self.problem)  # collective, now: not when each rank's garbage collector runs
        self.problem = NonlinearProblem(self.F, self.w, bcs=self.bcs, petsc_options_prefix=prefix,
                                        petsc_options=opts)
        keep_factor_options(prefix, opts)
        # overshoot in rate after the first step is expected (see above), and a warm start makes the
        # initial residual tiny: a divergence test relative to it would reject good solves
        self.problem.solver.setDivergenceTolerance(1e300)

    def close(self) -> None:
        """Free the solver's PETSc objects (collective: call on every rank at the same point)."""
        release(self.problem)

    # -- constitutive ----------------------------------------------------------------------------
    def compliance(self, s):
        """Rate of deformation (1/s) carried by deviatoric stress ``s`` (Pa): creep law plus the
        rigid-limit dashpot, blended with the void by the fill fraction."""
        se = ufl.sqrt(1.5 * ufl.inner(s, s) + (1e-12 * self.S) ** 2)
        law = self.law.at(yield_stress=0.0)
        over = se - self.yield_stress
        # Above rate_cap the law continues linearly (C1): rates beyond it never matter for creep
        # over seconds to hours, and the bounded growth keeps Newton overshoots finite
        over_cap = float(law.flow_stress(self.rate_cap))
        slope = 1.0 / float(law.flow_stress_slope(self.rate_cap))
        rate = ufl.conditional(ufl.lt(over, over_cap), law.strain_rate(over, ufl),
                               self.rate_cap + slope * (over - over_cap))
        d_li = 1.5 * rate / se * s + s / (2 * self.eta0)
        if self.fill is None:
            return d_li
        return self.fill * d_li + (1 - self.fill) * s / (2 * self.void_viscosity)

    def _dirichlet(self, walls, fixed):
        tm, V = self.tm, self.W.sub(1)
        fdim = tm.mesh.topology.dim - 1
        bcs = []
        specs = [(f, c, 0.0) for w in walls if w.condition == "no_slip" for f in w.facets
                 for c in range(tm.mesh.geometry.dim)]
        self._prescribed = []  # (SI Constant, scaled Constant) pairs, synchronised before each solve
        for b in fixed:
            if isinstance(b.value, fem.Constant):
                scaled = fem.Constant(tm.mesh, default_scalar_type(0.0))
                self._prescribed.append((b.value, scaled))
            else:
                scaled = default_scalar_type(b.value / self.U)
            specs += [(f, b.component, scaled) for f in b.facets]
        for group, comp, value in specs:
            sub = V.sub(comp)
            dofs = fem.locate_dofs_topological(sub, fdim, tm.facets(group))
            bcs.append(fem.dirichletbc(value, dofs, sub))
        return bcs

    # -- solve -----------------------------------------------------------------------------------
    def solve(self) -> int:
        """Newton solve from the current state (zero: a cold start). Returns the iterations."""
        snes = self.problem.solver
        for si, scaled in self._prescribed:
            scaled.value = float(si.value) / self.U
        try:
            self.problem.solve()
        except PETSc.Error as e:  # a factorisation of a wild Newton iterate failed inside MUMPS
            # PETSc leaves the factor and the work vectors (read-locked) unusable: start afresh
            self._make_problem()
            raise FlowDivergedError(f"viscoplastic flow: linear solve failed in Newton ({e})") from None
        self.iterations = snes.getIterationNumber()
        if snes.getConvergedReason() <= 0 or not np.all(np.isfinite(self.w.x.array)):
            raise FlowDivergedError(f"viscoplastic flow: Newton failed (SNES reason {snes.getConvergedReason()}, "
                                    f"{self.iterations} iterations)")
        return self.iterations

    def solve_continuation(self, constant: fem.Constant, target: float, first_step: float | None = None,
                           min_fraction: float = 1e-3) -> int:
        """Drive ``constant`` (e.g. the applied pressure) from its current value, at which the
        state is converged, to ``target`` in adaptive steps: a step that fails is halved, one
        that succeeds lets the next grow. Near-rigid viscoplastic problems need this homotopy
        because the rigid first Newton step overshoots stress singularities (sharp corners)."""
        current = float(constant.value)
        span = target - current
        step = span if first_step is None else first_step
        saved = self.w.x.array.copy()
        total = 0
        while abs(target - current) > 1e-14 * max(abs(target), 1.0):
            trial = target if abs(step) >= abs(target - current) else current + step
            constant.value = trial
            try:
                total += self.solve()
            except FlowDivergedError:
                self.w.x.array[:] = saved
                constant.value = current
                step *= 0.5
                if abs(step) < min_fraction * abs(span):
                    raise FlowDivergedError(f"viscoplastic flow: continuation stalled at {current:g} "
                                            f"on the way to {target:g}") from None
                continue
            current = trial
            saved[:] = self.w.x.array
            step *= 1.5
        self.iterations = total
        return total

    # -- output ------------------------------------------------------------------------------------
    def stress(self):
        """Deviatoric stress (Pa) as a 3x3 UFL tensor."""
        return deviator(stress_tensor(self.S * ufl.split(self.w)[0], self.kind))

    def velocity(self):
        return self.U * ufl.split(self.w)[1]

    def pressure(self):
        return self.S * ufl.split(self.w)[2]

    def rate(self):
        return equivalent_rate(kinematics.strain(self.velocity(), self.kind, self.tm.mesh))

    def collapse(self) -> tuple[fem.Function, fem.Function]:
        """Velocity (m/s) and pressure (Pa) as plain Functions (for output)."""
        u = self.w.sub(1).collapse()
        p = self.w.sub(2).collapse()
        u.x.array[:] *= self.U
        p.x.array[:] *= self.S
        u.name, p.name = "velocity", "pressure"
        return u, p

    def reaction(self, facets: Sequence[str], component: int) -> float:
        """Force (N; plane: N/m) that the boundary ``facets`` exert on the Li along ``component``,
        from the residual tested with a function that is 1 on those facets' velocity dofs (exact
        for the discrete solution, unlike a traction integral of the discontinuous stress)."""
        # at the solution the residual tested with 1 on those dofs is the boundary traction's work
        work = residual_on_facets(self.tm, self._residual_form, self.W, self.W.sub(1).sub(component), facets)
        return work / self._momentum_scale

    def flux(self, facets: Sequence[str], direction: Sequence[float], interior: bool = False) -> float:
        """Volume flux (m^3/s; plane: m^2/s) of Li through facet groups along a fixed direction."""
        d = ufl.as_vector([float(c) for c in direction])
        u = self.velocity()
        expr = ufl.dot(u("+") if interior else u, d)
        return integrate(self.tm, expr, facets=facets, interior=interior)
