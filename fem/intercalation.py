"""Li+ transport through a solid electrolyte and a Li-storing intercalation host (the MIEC graphite
interlayer), with Li0 surfaces that plate, strip or first have to nucleate.

What is modelled (DESIGN.md section 1 "MIEC graphite interlayer", M3). Li+ arriving from the SE
can (1) intercalate into graphite, (2) travel through the lithiated graphite and plate on Li0 that
is already there (Li foil, Li extruded into pores), or (3) be reduced to new Li0 at a Li-free
surface (the interlayer/SE interface) once the local overpotential has passed the nucleation
barrier. Which path carries how much current follows from one transient problem:

Fields
    phi (V, P1, whole mesh): Li+ potential against Li/Li+ at the electron potential of the
        metals. Li foil, pore Li0 and graphite form one electronic conductor; graphite (>= 1e3 S/m)
        carries 0.2 mA/cm^2 across 30 um with a drop below 1e-7 V, so the electron potential is one
        number, 0 (the Li reference).
    x (DG0, host cells): Li fraction of Li_x C_6.

Host transport. Li moves through graphite by chemical diffusion with Ecker's D(x) (a GITT, i.e.
chemical, diffusivity; :mod:`ssbx.fem.graphite`). Written as Li+ migration in phi, the
conductivity that gives back exactly that Fickian flux when the host is in local equilibrium
(phi = -U(x), so grad phi = -U'(x) grad x) is
    sigma_host(x) = F c_max D(x) / |U'(x)|.
It falls from ~1e-3 S/m on the staging plateaus to ~2e-5 S/m at LiC6 (U' steep, D low): a
saturated graphite layer is a poor Li+ conductor. ``tests/test_intercalation.py`` checks the
equivalence against :class:`ssbx.fem.diffusion.Diffusion` with D(x).

Exchange between mobile Li+ and the host lattice (volumetric, specific area a, Butler-Volmer):
    j = BV(eta),  eta = -phi - U(x),  i0(x) = i0 * 2 sqrt(x (1 - x))
(anodic > 0: Li leaves the lattice). The exchange current vanishes at an empty and a full host
(smoothly, see :meth:`IntercalationHost.exchange_factor`), which keeps x in [0, 1] to < 1 %.

Li0 sites (facet groups): i = BV(-phi) with i0 scaled by a nodal ``coverage`` (where Li0 is;
e.g. the filled part of a pore wall) and, with a :class:`~ssbx.fem.kinetics.NucleationBarrier`, by
a nodal nucleation state that switches on for good where -phi passed -E_n.

Equations (backward Euler in time, one Newton solve per step for (phi, x)):
    -div(sigma grad phi) = a j chi_host   (+ site currents on their facets, + applied Li+ flux)
    c_max F dx/dt = -a j                  in host cells (x is frozen elsewhere)
Regions that conduct no Li+ (metals, empty pores) get a conductivity ``floor`` times the
smallest conductivity so the matrix stays regular; their phi means nothing and
:meth:`ionic_mask` marks them.

Bookkeeping is exact for the discrete solution: per host cell c_max F (x - x_old) |K| equals
-dt times the cell's exchange current, and the Li+ balance holds to the Newton tolerance, so
applied + host + sum(sites) = 0 and the host inventory changes by -dt * host current / F.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from mpi4py import MPI
from petsc4py import PETSc

import basix.ufl
import numpy as np
import ufl
from dolfinx import default_scalar_type, fem
from dolfinx.fem.petsc import NonlinearProblem
from ssbx.fem import graphite, kinematics
from ssbx.fem.boundary import compiled_integral, measure
from ssbx.fem.conduction import ConductionDivergedError, grow_nucleation
from ssbx.fem.kinetics import ButlerVolmer, NucleationBarrier
from ssbx.fem.materials import FARADAY
from ssbx.fem.solvers import keep_factor_options, release, solver_options
from ssbx.geometries.tagged_mesh import TaggedMesh

QUADRATURE_DEGREE = 4  # one rule for the residual and its bookkeeping integrals (exact balance)
SMOOTHING = 1e-3  # width (in x) of the smoothed max(., 0) in the exchange factor


@dataclass(frozen=True)
class IntercalationHost:
    """A Li-storing MIEC region (graphite): cells, exchange kinetics (``exchange_current`` is i0
    at x = 1/2, A/m^2), specific area a (1/m), c_max (mol/m^3), chemical diffusivity D(x)
    (m^2/s), U(x) (V) and dU/dx (V), the last three as functions ``f(x, math)`` with ``math``
    numpy or ufl; dU/dx must stay negative."""

    cells: tuple[str, ...]
    kinetics: ButlerVolmer
    specific_area: float
    capacity: float = graphite.C_MAX
    diffusivity: Callable = graphite.diffusivity
    open_circuit_potential: Callable = graphite.open_circuit_potential
    open_circuit_slope: Callable = graphite.open_circuit_slope

    def __post_init__(self):
        if not self.specific_area > 0:
            raise ValueError(f"host specific_area must be > 0 (1/m), got {self.specific_area}")
        if not self.capacity > 0:
            raise ValueError(f"host capacity must be > 0 (mol/m^3), got {self.capacity}")

    def conductivity(self, x, math=np):
        """Li+ conductivity (S/m) of Li_x C_6 equivalent to chemical diffusion with D(x)."""
        return FARADAY * self.capacity * self.diffusivity(x, math) / abs(self.open_circuit_slope(x, math))

    def exchange_factor(self, x, math=np):
        """i0(x) / i0(1/2) = 2 sqrt(x+ (1 - x)+), with y+ a smoothed max(y, 0) (softplus of width
        1e-3): a kink-free Jacobian for Newton, and the factor falls to ~5e-3 at x = 1.005, so
        graphite that sits at the Li0 potential overfills by well under 1 %."""
        # the floor keeps the derivative finite where the softplus underflows to exactly 0
        return 2.0 * math.sqrt(_positive(x, math) * _positive(1.0 - x, math) + 1e-30)


@dataclass(frozen=True)
class LithiumSite:
    """A surface where Li0 is (or may form): plating/stripping Li+ + e- <-> Li0 at eta = -phi."""

    facets: tuple[str, ...]
    kinetics: ButlerVolmer
    coverage: fem.Function | None = None  # nodal Li0 coverage in [0, 1]; None: all of the face
    nucleation: NucleationBarrier | None = None  # Li-free face: off until -phi passes the barrier


def _positive(y, math=np):
    """Softplus eps ln(1 + exp(y / eps)) in an overflow-free form."""
    if math is np:
        return np.maximum(y, 0.0) + SMOOTHING * np.log1p(np.exp(-np.abs(y) / SMOOTHING))
    return ufl.max_value(y, 0.0) + SMOOTHING * ufl.ln(1.0 + ufl.exp(-abs(y) / SMOOTHING))


class IntercalationConduction:
    """(phi, x) on the whole mesh of ``tm``.

    ``conductivity`` maps electrolyte cell groups to their Li+ conductivity (S/m); ``host`` is the
    intercalation region; cell groups in neither conduct no Li+. ``sites`` are Li0 surfaces by
    name; ``applied`` is (facet groups, Li+ current density entering, A/m^2, a Constant so it can
    be switched); ``initial_fraction`` the starting x of the host.
    """

    def __init__(self, tm: TaggedMesh, conductivity: Mapping[str, float], host: IntercalationHost,
                 sites: Mapping[str, LithiumSite], applied: tuple[Sequence[str], fem.Constant], *,
                 initial_fraction: float = 0.05, floor: float = 1e-6, prefix: str = "intercalation_",
                 solver: str = "newton_direct"):
        if not 0 < initial_fraction < 1:
            raise ValueError(f"initial_fraction must lie in (0, 1), got {initial_fraction}")
        if not 0 < floor < 1:
            raise ValueError(f"floor (conductivity of non-conducting regions / smallest one) must lie in (0, 1), "
                             f"got {floor}")
        for name, s in conductivity.items():
            if not s > 0:
                raise ValueError(f"conductivity of '{name}' must be > 0 S/m, got {s}")
        tm.require(cells=[*conductivity, *host.cells],
                   facets=[f for s in sites.values() for f in s.facets] + list(applied[0]))
        self.tm, self.host, self.sites = tm, host, dict(sites)
        msh = tm.mesh
        cell = msh.basix_cell()
        self.W = fem.functionspace(msh, basix.ufl.mixed_element([basix.ufl.element("Lagrange", cell, 1),
                                                                 basix.ufl.element("DG", cell, 0)]))
        self.w = fem.Function(self.W, name="state")
        self.w_old = fem.Function(self.W)
        self.V, v_dofs = self.W.sub(0).collapse()
        self.Q, q_dofs = self.W.sub(1).collapse()
        self._v_dofs, self._q_dofs = np.asarray(v_dofs), np.asarray(q_dofs)
        self.w.x.array[self._q_dofs] = initial_fraction
        self.w_old.x.array[:] = self.w.x.array
        phi, x = ufl.split(self.w)
        x_old = ufl.split(self.w_old)[1]
        v, q = ufl.TestFunctions(self.W)
        wt = kinematics.volume_weight(msh, tm.kind)
        self.dt = fem.Constant(msh, default_scalar_type(1.0))
        self.applied_current = applied[1]
        # U, D and U' are evaluated at a smoothed max(x, 0): a Newton iterate with x < 0 would
        # overflow exp(-305 x) in U
        xs = _positive(x, ufl)
        self.eta_host = -phi - host.open_circuit_potential(xs, ufl)
        i0 = host.kinetics.exchange_current * host.exchange_factor(x, ufl)
        self.exchange = host.specific_area * host.kinetics.current(self.eta_host, ufl, exchange_current=i0)  # A/m^3
        sigma_host = host.conductivity(np.linspace(0.01, 1.01, 200))  # its range over x
        sigma_min = min([*conductivity.values(), float(sigma_host.min())])
        deg = QUADRATURE_DEGREE
        dx_host = measure(tm, cells=host.cells, degree=deg)
        others = [g for g in tm.cell_groups if g not in host.cells]
        dx_other = measure(tm, cells=others, degree=deg)
        F_phi = host.conductivity(xs, ufl) * ufl.inner(ufl.grad(phi), ufl.grad(v)) * wt * dx_host
        F_phi -= self.exchange * v * wt * dx_host
        for name, s in conductivity.items():
            F_phi += s * ufl.inner(ufl.grad(phi), ufl.grad(v)) * wt * measure(tm, cells=(name,), degree=deg)
        dead = [g for g in others if g not in conductivity]
        if dead:
            dx_dead = measure(tm, cells=dead, degree=deg)
            F_phi += floor * sigma_min * ufl.inner(ufl.grad(phi), ufl.grad(v)) * wt * dx_dead
        self.ionic_groups = (*conductivity, *host.cells)
        F_phi -= self.applied_current * v * wt * measure(tm, facets=tuple(applied[0]), degree=deg)
        self.applied_facets = tuple(applied[0])
        fdim = msh.topology.dim - 1
        msh.topology.create_connectivity(fdim, fdim + 1)
        self.nucleated: dict[str, fem.Function] = {}
        self.site_current_density: dict[str, ufl.core.expr.Expr] = {}
        self._site_measure = {}
        for name, s in self.sites.items():
            i0 = s.kinetics.exchange_current
            if s.coverage is not None:
                i0 = i0 * s.coverage
            if s.nucleation is not None:
                self.nucleated[name] = fem.Function(self.V, name=f"nucleated_{name}")
                i0 = i0 * self.nucleated[name]
            i = s.kinetics.current(-phi, ufl, exchange_current=i0)  # A/m^2, anodic > 0: Li0 -> Li+
            self.site_current_density[name] = i
            interior = self._interior(s.facets)
            ds = measure(tm, facets=s.facets, interior=interior, degree=deg)
            self._site_measure[name] = interior
            F_phi -= (i * v * wt)("+") * ds if interior else i * v * wt * ds
        # scale: a current per thermal voltage over the largest conductance -> O(1) rows; the
        # absolute tolerance 1e-12 then is a current imbalance of ~1e-12 sigma_ref V_T per unit depth
        vt = host.kinetics.vt
        sigma_ref = max([*conductivity.values(), float(sigma_host.max())])
        length = 1e-6  # x rows are volumes; 1 um^2 cells make them O(1) like the phi rows
        scale = 1.0 / (host.capacity * FARADAY * length**2)
        F_x = scale * (host.capacity * FARADAY * (x - x_old) + self.dt * self.exchange) * q * wt * dx_host
        if others:
            F_x += (x - x_old) / length**2 * q * wt * dx_other
        self.F = (1.0 / (sigma_ref * vt)) * F_phi + F_x
        opts = solver_options(solver, {"snes_rtol": 1e-11, "snes_atol": 1e-12, "snes_stol": 0.0, "snes_max_it": 40,
                                       "snes_linesearch_type": "basic"})  # see _solve
        self._prefix, self._opts = prefix, opts
        self._build_problem()
        # per-step bookkeeping, compiled once
        self._host_current = compiled_integral(tm, self.exchange, cells=host.cells, degree=deg)
        self._host_inventory = compiled_integral(tm, host.capacity * x, cells=host.cells, degree=deg)
        self._applied = compiled_integral(tm, self.applied_current, facets=self.applied_facets, degree=deg)
        self._site = {}
        for name, s in self.sites.items():
            interior = self._site_measure[name]
            expr = self.site_current_density[name]
            self._site[name] = compiled_integral(tm, expr("+") if interior else expr, facets=s.facets,
                                                 interior=interior, degree=deg)
        self._eta_expr = fem.Expression(-phi, self.V.element.interpolation_points)
        self._nodal = fem.Function(self.V)
        self._site_dofs = {}
        for name, s in self.sites.items():
            facets = np.concatenate([tm.facets(f) for f in s.facets])
            self._site_dofs[name] = fem.locate_dofs_topological(self.V, fdim, facets)
        self._potential = fem.Function(self.V, name="li_ion_potential")
        self._fraction = fem.Function(self.Q, name="x_LiC6")
        self.counters = {"steps": 0, "newton": 0, "krylov": 0, "rejected": 0, "nucleation_rounds": 0}

    def _interior(self, facets: Sequence[str]) -> bool:
        """True if the facet groups lie inside the mesh (two cells per facet), on every rank."""
        tdim = self.tm.mesh.topology.dim
        f2c = self.tm.mesh.topology.connectivity(tdim - 1, tdim)
        idx = np.concatenate([self.tm.facets(f) for f in facets])
        idx = idx[idx < self.tm.mesh.topology.index_map(tdim - 1).size_local]  # ghosts may lack a cell
        local = [len(f2c.links(f)) for f in idx]
        two = self.tm.comm.allreduce(bool(local) and max(local) == 2, op=MPI.LOR)
        one = self.tm.comm.allreduce(bool(local) and min(local) == 1, op=MPI.LOR)
        if two and one:
            raise ValueError(f"facet groups {facets} mix interior and boundary facets; give them as separate sites")
        return two

    def _build_problem(self):
        if getattr(self, "problem", None) is not None:
            release(self.problem)
        self.problem = NonlinearProblem(self.F, self.w, petsc_options_prefix=self._prefix,
                                        petsc_options=self._opts)
        keep_factor_options(self._prefix, self._opts)

    def close(self) -> None:
        """Free the solver's PETSc objects (collective: call on every rank at the same point)."""
        release(self.problem)

    # -- state --------------------------------------------------------------------------------
    @property
    def potential(self) -> fem.Function:
        """phi (V) as a P1 Function; the same object, refreshed on every access."""
        self._potential.x.array[:] = self.w.x.array[self._v_dofs]
        return self._potential

    @property
    def fraction(self) -> fem.Function:
        """x of Li_x C_6 as a DG0 Function; the same object, refreshed on every access."""
        self._fraction.x.array[:] = self.w.x.array[self._q_dofs]
        return self._fraction

    def output_functions(self) -> list[fem.Function]:
        """[phi, x] refreshed from the current state: the same Function objects on every call, so
        a field writer built on them once writes the current state after each call."""
        return [self.potential, self.fraction]

    def set_fraction(self, values: np.ndarray) -> None:
        """Set x (all cells of this rank, DG0 order of :attr:`Q`) in the current and old state."""
        self.w.x.array[self._q_dofs] = values
        self.w_old.x.array[self._q_dofs] = values

    # -- time stepping ------------------------------------------------------------------------
    def _solve(self) -> int:
        """Newton with full steps; if that fails, again from the same start with backtracking
        (full steps converge where backtracking crawls on the stiff exchange term, but can
        overshoot into exp overflow when the state changes a lot in one step)."""
        start = self.w.x.array.copy()
        try:
            return self._newton()
        except ConductionDivergedError:
            self.w.x.array[:] = start
            self.problem.solver.getLineSearch().setType("bt")
            try:
                return self._newton()
            finally:
                self.problem.solver.getLineSearch().setType("basic")

    def _newton(self) -> int:
        try:
            self.problem.solve()
        except PETSc.Error as exc:  # PETSc errors leave read-locked vectors behind: rebuild
            self._build_problem()
            raise ConductionDivergedError(f"intercalation conduction: {exc}") from exc
        snes = self.problem.solver
        its = snes.getIterationNumber()
        self.counters["newton"] += its
        self.counters["krylov"] += snes.getLinearSolveIterations()
        finite = self.tm.comm.allreduce(bool(np.all(np.isfinite(self.w.x.array))), op=MPI.LAND)
        if snes.getConvergedReason() <= 0 or not finite:
            raise ConductionDivergedError(f"intercalation conduction: Newton failed (SNES reason "
                                          f"{snes.getConvergedReason()})")
        return its

    def step(self, dt: float, max_rounds: int = 50) -> int:
        """One backward-Euler step of length dt (s) from the accepted state; Li0 nucleates where
        the step's overpotential passed the barrier and the step is solved again with those sites
        on, until nothing new nucleates. Returns Newton iterations; raises
        :class:`ConductionDivergedError` (state left for :meth:`reject`)."""
        self.dt.value = dt
        its = 0
        for _ in range(max_rounds):
            its += self._solve()
            if not any([self._nucleate(n) for n in self.nucleated]):  # every site, every round
                return its
            self.counters["nucleation_rounds"] += 1
        raise ConductionDivergedError(f"nucleation did not settle in {max_rounds} rounds")

    def _nucleate(self, name: str) -> bool:
        self._nodal.interpolate(self._eta_expr)
        dofs = self._site_dofs[name]
        return grow_nucleation(self.sites[name].nucleation, self.nucleated[name], dofs, self._nodal.x.array[dofs])

    def accept(self) -> None:
        self.w_old.x.array[:] = self.w.x.array
        self.counters["steps"] += 1

    def reject(self) -> None:
        self.w.x.array[:] = self.w_old.x.array
        self.counters["rejected"] += 1

    # -- bookkeeping (as boundary.integrate: per unit depth in plane, full 2 pi r in axisymmetry) --
    def host_current(self) -> float:
        """Net Li+ produced by the host (A; anodic > 0: deintercalation; < 0: intercalation)."""
        return self._host_current()

    def site_current(self, name: str) -> float:
        """Current from Li0 into Li+ on a site (A; anodic > 0: stripping; < 0: plating)."""
        return self._site[name]()

    def applied(self) -> float:
        """Li+ current entering through the applied-flux facets (A)."""
        return self._applied()

    def host_inventory(self) -> float:
        """Li stored in the host (mol)."""
        return self._host_inventory()

    def charge_balance(self) -> float:
        """applied + host + sites (A): zero for a converged state (Li+ is not stored)."""
        return self.applied() + self.host_current() + sum(self.site_current(n) for n in self.sites)

    def ionic_mask(self) -> fem.Function:
        """DG0 indicator of the cells that conduct Li+ (electrolyte and host)."""
        m = fem.Function(self.Q, name="ionic")
        for g in self.ionic_groups:
            m.x.array[self.cell_dofs(g)] = 1.0
        return m

    def cell_dofs(self, group: str) -> np.ndarray:
        """DG0 dofs of :attr:`Q` (this rank's owned and ghost cells) of a cell group."""
        return self.Q.dofmap.list[self.tm.cells(group)].ravel()


__all__ = ["IntercalationConduction", "IntercalationHost", "LithiumSite"]
