"""Phase-field electrodeposition of Li in a (porous) solid electrolyte, with mechanics.

What is solved (DESIGN.md M4; Chen et al., J. Power Sources 300 (2015) 376, "Modulation of
dendritic patterns during electrodeposition: a nonlinear phase-field model"). Fields: the Li
order parameter xi (1 in Li metal, 0 in the electrolyte), the normalised Li+ concentration
c~ = c/c0, one electric potential phi (V) and the displacement u (m); the solid fraction rho
(1 in the SE, 0 in pores) is given, static, or evolves by Cahn-Hilliard (``pore_evolution``,
below). With h(xi) = xi^3 (6 xi^2 - 15 xi + 10) and g(xi) = W xi^2 (1 - xi)^2:

    d xi/dt = -L_sigma [g'(xi) - kappa lap(xi) + d f_el/d xi]
              - L_eta h'(xi) {exp[(1 - alpha) F eta/RT] - c~ exp[-alpha F eta/RT]}
    d c~/dt = div[D_eff (grad c~ + c~ F/RT grad phi)] - (C_s/c0) d xi/dt
    div(sigma_eff grad phi) = F C_s d xi/dt
    div sigma = 0,   sigma = C(xi, rho) : (eps(u) - eps*),   eps* = (1 - r) eps0 [h(xi) - h(xi_ref)] I,
    f_el = 1/2 (eps - eps*) : C : (eps - eps*),
    d f_el/d xi = 1/2 (eps - eps*) : C'(xi) : (eps - eps*) - eps0 h'(xi) tr(sigma).

xi_ref (``stress_free_xi``, 0 by default) is the phase distribution in the stress-free state: only
Li deposited since then carries the misfit (an initial Li anode is not prestressed by it).
r (``misfit_relaxation``, 0 by default) is the part of the misfit that Li creep relaxes: it
stresses nothing, but the deposit still works against the local stress with the full eps0 (for
r > 0 the last term is then not the derivative of f_el).

f (``curvature_fraction``, 1 by default = Chen 2015) is the share of the mean-curvature flow that
the kappa lap(xi) term drives: lap(xi) = d^2 xi/dn^2 + |grad xi| div(n), n = grad xi/|grad xi|, and
(1 - f) L_sigma kappa |grad xi| div(n) is added back (:func:`curvature_term`). A flat interface is
unchanged (profile, energy, front speed); a Li disc loses area at 2 pi f L_sigma kappa instead of
2 pi L_sigma kappa.

Every transport/elastic property P is interpolated as P = h P_Li + (1 - h) [rho + (1 - rho) delta]
P_SE: the non-Li phase is SE where rho = 1 and an almost empty pore (fraction delta of the SE value,
assumed: ``pore_fraction`` for the stiffness, ``pore_transport_fraction`` for conductivity and
diffusivity) where rho = 0, so Li may grow into pores.

Potential convention (the one of Chen 2015, made explicit). phi is one potential field: the
electron potential in the Li metal, the Li+ (electrolyte) potential in the SE, both measured
against a Li/Li+ reference placed at the counter electrode, where phi = 0. The anode current
collector is held at ``voltage`` V (applied cell voltage, anode vs counter). The activation
overpotential of the diffuse interface is eta = phi - E_eq with E_eq the Li/Li+ equilibrium
potential against that reference (0 by default), so a NEGATIVE applied voltage gives eta < 0 in
the interface and the bracket above becomes negative when c~ exp(-alpha F eta/RT) >
exp((1-alpha) F eta/RT): Li grows (xi increases). The bracket vanishes at the Nernst potential
eta = (RT/F) ln c~: no reaction there. As in Chen 2015, eta uses the local phi, which inside the
interface is practically the metal potential (sigma_Li >> sigma_SE): the ohmic drop in the
electrolyte does not reduce eta, and transport limits growth through c~ instead.

Single-ion electrolyte (``electrolyte="single_ion"``; a sulfide SE conducts only Li+, at a fixed
concentration, transference number 1). c~ = 1 everywhere and two potentials replace c~ and phi:
the electron potential phi_e (field "electronic_potential") and the Li+ potential phi (field
"potential"), both against the Li/Li+ reference at the counter electrode, with

    d xi/dt = -L_sigma [...] - L_eta h'(xi) {exp[(1 - alpha) F eta/RT] - exp[-alpha F eta/RT]},
    eta = phi_e - phi - E_eq,
    div(sigma_e grad phi_e) = -F C_s d xi/dt,   sigma_e = h^n sigma_Li + (1 - h^n) [rho + (1 - rho) delta] sigma_e,SE
    div(sigma_i grad phi)   =  F C_s d xi/dt,   sigma_i = h sigma_i,Li + (1 - h) [rho + (1 - rho) delta] sigma_SE

(sigma_e,SE: the SE's measured electronic conductivity; sigma_i,Li = F^2 D_Li c0/RT only keeps phi
defined inside the metal). The anode collector fixes phi_e = voltage (it blocks Li+); the counter
electrode fixes phi = 0 and phi_e = 0 (it takes Li+ and electrons). eta now includes the ohmic
drop in the SE: growth is limited by the Li+ current the SE can carry, there is no c~ to pile up,
and a kinetic penalty (the elastic driving force) holds the front back until eta grows, which at a
fixed cell voltage means less current. The current at the counter electrode splits into Li+ and
electrons; the electron part (:meth:`PhaseFieldDendrite.electronic_current`) is the leakage: the
SE's own electronic conduction (sigma_e,SE V/l, l the SE ahead of the metal's diffuse tail) until
Li bridges the cell. The Newton solve uses a backtracking line search here (see below).

Charge bookkeeping (Nernst-Planck electrolyte). Integrating the charge equation: the current entering through all
boundaries equals F C_s d/dt int(xi) (the Li amount is C_s int xi). In this single-potential
model the electrons for the reduction reach the interface through the metal from the anode
collector, so the current INTO the domain at the counter electrode is the ionic current drawn
from it; after a short (a Li path between the electrodes) it is dominated by the electronic
current sigma_Li grad phi through the dendrite: :meth:`PhaseFieldDendrite.leakage_current`, of
which :meth:`PhaseFieldDendrite.electronic_current` is the part the Li phase carries (the h(xi)
sigma_Li share of the conduction residual). Where the reaction is held back (e.g. by the elastic
driving force) the single potential lets ionic current pass into the metal without plating: the
counter current then exceeds the plating current although no Li path exists, which is why a short
is judged by the electronic part, not by that excess.

Nondimensionalisation (inside this module only; the public API is SI). Length l0 = 1 um, time
t0 = 1 s, energy density W, potential V_T = RT/F, concentration c0; xi, c~ are already
dimensionless, u^ = u/l0 and the potential unknown is psi = (phi - V_anode)/V_T (shifted so that
the metal attached to the anode sits at psi ~ 0: round-off in psi times sigma_Li^ would otherwise
put a floor of ~1e-7 under the Newton residual). Gradients become l0 grad, volumes are divided
by l0^2 (plane, per unit depth) or l0^3 (axisymmetric, 3D). The groups are

    L_sigma^ = L_sigma W t0,  kappa^ = kappa/(W l0^2),  L_eta^ = L_eta t0,
    D^ = D t0/l0^2,  sigma^ = sigma V_T t0/(F C_s l0^2),  E^ = E/W,  p^ = p/W,

and each equation is scaled so that its terms are O(1): Allen-Cahn and ion transport by t0, the
charge equation by t0/(F C_s), mechanics by l0/W. With the defaults L_sigma^ = 11.1,
kappa^ = 0.28, L_eta^ = 1.8e-3, D^ = 320 (SE) / 0.75 (Li), sigma^ = 0.70 (SE) / 3.5e7 (Li),
E^ = 4900 (SE) / 1760 (Li). The groups are Constants: one compiled form serves every parameter set.

A property of the model worth knowing: the Nernst-Planck migration of Li+ and the conduction
equation are independent laws here (as in Chen 2015). With D_l = 3.2e-10 m^2/s and c0 = 1e3
mol/m^3 migration alone would carry the current of sigma = F^2 D_l c0/RT = 1.2 S/m, six times the
SE conductivity, so under a potential drop across the SE Li+ piles up at the interface (c~ of
tens within 0.1 s at -0.2 V over 4.5 um of SE) until plating consumes it; in a porous cell at
-0.35 V the plating current then runs away to 10x the ionic current and the step collapses
within ~1 s. D_l = sigma_SE RT/(F^2 c0) (:meth:`PhaseFieldParameters.with_consistent_transport`)
makes the two consistent, and the same cell runs smoothly (plating ~ leakage current).
C_s/c0 = 76 also lets c~ go negative where xi grows faster than diffusion resupplies the
interface (in pores, where D is tiny, c~ reached -6 in that run); the cathodic term then changes
sign and limits itself. Resolve the interface with h <= delta/3.

Numerics. One monolithic P1 mixed space (xi, c~, psi[, u^]), single ion (xi, psi_e, psi[, u^]) with
psi_e = (phi_e - V_anode)/V_T, and backward Euler; Newton (SNES newtonls, full steps; single ion:
backtracking) over MUMPS through ``dolfinx.fem.petsc.NonlinearProblem``; volume
integrals with a fixed quadrature degree (4; UFL would estimate 15). Adaptive steps through
:func:`ssbx.fem.timestepping.run_adaptive` (:meth:`PhaseFieldDendrite.run`); a step also fails
when xi changes by more than ``max_xi_change`` anywhere (the front may not jump). Boundary
conditions: ``anode`` facets phi = voltage; ``counter`` facets phi = 0 and c~ = 1 (reservoir);
other facets blocking for ions and charge, natural (zero flux) for xi; any field may be fixed
elsewhere by :class:`FixedField`. Mechanics (optional) takes the
:class:`ssbx.fem.boundary.FixedComponent` / :class:`ssbx.fem.boundary.NormalPressure` specs.
Dead Li and shorts: :meth:`PhaseFieldDendrite.connectivity` (:mod:`ssbx.fem.connectivity`).

Evolving pores (``pore_evolution``: :class:`ssbx.fem.pore_evolution.PoreEvolutionParameters`; static
rho by default). rho then follows Cahn-Hilliard (:mod:`ssbx.fem.pore_evolution`), conserving the SE
volume, with the mobility factor 1 - h(xi) (the framework does not move under Li metal) and, with
mechanics, the elastic driving force d f_el/d rho (:func:`pore_driving_force`): pores move into
strained regions. Staggered: after the coupled step, rho is advanced with the new xi and u; the
next step's forms see it (clipped to [0, 1]: Cahn-Hilliard overshoots slightly). A rejected step
resets both; checkpoints hold both.

Series resistance (``series_resistance`` R_s, ohm m^2, 0 by default). The source applies
``voltage`` through R_s (leads, collector contact): on the anode facets the inward current is
(V - phi_e)/R_s (single ion; phi in the one-potential model) instead of phi_e = V. Until a short it
costs i R_s of the cell voltage (~10 mV at 1000 A/m^2 for 0.1 ohm cm^2); once Li bridges the cell
it is what limits the current, to ~V/R_s (the bridge itself has ~1e-12 ohm m^2), so the run can
go on past the short and show whether the bridge holds. With an ideal collector the bridge current
is bounded by nothing and the step collapses. The metal then floats away from V (to ~0 V after a
short): the potential unknowns are re-referenced to the collector potential after every accepted
step, and a step that stalls at the residual's round-off floor (~50 eps sigma_Li^ |psi_e|) is
accepted.

Counter-electrode contact (``counter_contact_resistance`` r_c, ohm m^2, 0 by default; single ion).
By default the counter electrode fixes phi_e = 0 on its whole facet, so a Li tip's diffuse tail
(sigma_Li h(xi) ~ 1e4 S/m at xi ~ 0.05) hands it electrons from a few interface widths away. With
r_c > 0 electrons cross from Li only where it touches the facet: the outward current is
[h(xi)/r_c + (1 - h(xi)) sigma_e,SE/l0] phi_e (the second term lets the SE's own electrons out, as
through 1 um of SE), the contact conductance grows with the Li brought to the facet, and a short's
current is bounded by r_c over the contact's extent as well as by R_s.

Stall law. A flat front doing the work w = -eps0 tr(sigma) per volume of new Li stands still at
the overpotential eta* with L_eta B(eta*) = -L_sigma w (:meth:`PhaseFieldParameters.stall_overpotential`;
the travelling-wave identity of :meth:`PhaseFieldParameters.planar_front_speed`): the elastic driving
force enters with L_sigma, not as the thermodynamic shift w/(F C_s) (40 uV at 10 MPa), and stalls Li
at |eta| ~ 0.1 V. Behind R_s this sets the level a short settles at (studies/dendrite_pressure.py).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from mpi4py import MPI

import basix.ufl
import numpy as np
import ufl
from dolfinx import default_scalar_type, fem
from dolfinx.fem.petsc import NonlinearProblem
from ssbx.fem import kinematics
from ssbx.fem.boundary import FixedComponent, NormalPressure, compiled_integral, integrate, measure, residual_on_facets
from ssbx.fem.connectivity import LiConnectivity, cell_volumes, li_connectivity
from ssbx.fem.diffuse_interface import (
    LENGTH_SCALE,
    TIME_SCALE,
    double_well_slope,
    interpolation,
    interpolation_slope,
    set_values,
)
from ssbx.fem.elasticity import IsotropicElastic, stress
from ssbx.fem.materials import FARADAY, GAS_CONSTANT, LIBRARY
from ssbx.fem.pore_evolution import PoreEvolution, PoreEvolutionDivergedError, PoreEvolutionParameters
from ssbx.fem.solvers import keep_factor_options, release, solver_options
from ssbx.fem.timestepping import StepControl, run_adaptive
from ssbx.geometries.tagged_mesh import TaggedMesh

from ssbx.log import get_logger

log = get_logger(__name__)

FIELDS = ("xi", "concentration", "potential", "displacement")
# single-ion conductor: the second slot holds the electron potential instead of c~ (see the docstring)
SINGLE_ION_FIELDS = ("xi", "electronic_potential", "potential", "displacement")
ELECTROLYTES = ("nernst_planck", "single_ion")

_LI, _SE = LIBRARY["li"], LIBRARY["li6ps5cl"]


class PhaseFieldError(ValueError):
    """An invalid phase-field parameter or setting; the message names it."""


class PhaseFieldDivergedError(RuntimeError):
    """Newton did not converge for a phase-field step (or the step changed xi too much)."""


@dataclass(frozen=True)
class PhaseFieldParameters:
    """Parameters in SI. Defaults: Chen et al. 2015 (J. Power Sources 300, 376) unless
    stated; DESIGN.md M4 gives the alternatives W = 6e6 J/m^3, kappa = 7.5e-7 J/m, L_eta = 1e-3 1/s."""

    barrier_height: float = 4.45e6  # W (J/m^3), Chen 2015
    gradient_coefficient: float = 1.25e-6  # kappa_0 (J/m), Chen 2015 (isotropic: no anisotropy term)
    interface_mobility: float = 2.5e-6  # L_sigma (m^3/(J s)), Chen 2015
    reaction_constant: float = 1.81e-3  # L_eta (1/s), Chen 2015; 0 switches the reaction off
    transfer_coefficient: float = 0.5  # alpha (-), Chen 2015
    site_density: float = 7.64e4  # C_s (mol/m^3), Li metal site density, Chen 2015 (1/C_s = 13.1 cm^3/mol)
    bulk_concentration: float = 1.0e3  # c0 (mol/m^3), Chen 2015
    li_conductivity: float = 1.0e7  # sigma_Li (S/m), Chen 2015 (CRC: 1.1e7)
    electrolyte_conductivity: float = _SE.ionic_conductivity  # sigma_SE (S/m), Li6PS5Cl, ssbx materials (M3)
    # electronic conductivity of the SE (S/m), Li6PS5Cl, ssbx materials (measured 3.2e-9 S/cm, DESIGN.md);
    # used by the single-ion electrolyte only
    electrolyte_electronic_conductivity: float = _SE.electronic_conductivity
    li_diffusivity: float = 7.5e-13  # D of Li+ in the electrode phase (m^2/s), Chen 2015
    electrolyte_diffusivity: float = 3.2e-10  # D_l (m^2/s), Chen 2015
    temperature: float = 298.15  # T (K)
    equilibrium_potential: float = 0.0  # E_eq (V) of Li/Li+ against the counter-electrode reference
    li_youngs_modulus: float = _LI.youngs_modulus  # Pa, Masias 2019 (DESIGN.md: 7.8 GPa)
    li_poisson_ratio: float = _LI.poisson_ratio  # -, Masias 2019
    se_youngs_modulus: float = _SE.youngs_modulus  # Pa, DESIGN.md (22 GPa)
    se_poisson_ratio: float = _SE.poisson_ratio  # -, DESIGN.md
    # Linear deposition eigenstrain eps0 (volumetric 3 eps0): the misfit of new Li where the model
    # keeps the SE host in place (assumed: no value in Chen 2015). 1e-3 makes the work of 10 MPa,
    # 3 eps0 p = 3e4 J/m^3, outweigh the stiffness-contrast term (~p^2/2E ~ 6e3 J/m^3) while the
    # self-stress of a constrained Li layer (~E_Li eps0 ~ 10 MPa) stays far below W.
    deposition_strain: float = 1e-3
    # Fraction of that misfit which does NOT stress the solids (assumed, 0 by default): Li creep
    # relaxes it. The deposited Li still works against the local stress with the full eps0 (the
    # -eps0 h' tr(sigma) driving force); only the self-stress of new Li is cut to (1 - r) eps0.
    misfit_relaxation: float = 0.0
    # Pores keep this fraction of the SE stiffness (assumed: "near zero" without making the
    # Jacobian singular) ...
    pore_fraction: float = 1e-4
    # ... and this fraction of its Li+ conductivity and diffusivity (assumed; the same by default).
    # A larger value lets Li+ reach Li that grows into a pore along the SE pore walls.
    pore_transport_fraction: float = 1e-4
    # The conductivity uses h(xi)**n: n > 1 keeps a diffuse Li neck (xi < 1/2) from conducting
    # like a metal (assumed; 1 = Chen 2015)
    conduction_exponent: float = 1.0
    # ... and h((xi - c)/(1 - c)) in place of h(xi) above xi = c, nothing below (c = 0: Chen 2015). The
    # tanh profile's tail (xi ~ exp(-2x/delta)) never vanishes, and h(xi) sigma_Li makes even
    # xi ~ 0.05 conduct like a metal (1e4 S/m): a dendrite "touches" the counter electrode from
    # ~4 delta away, and a pinched neck still conducts. c > 0 cuts that tail off (assumed value;
    # C^2-smooth at xi = c since h' = h'' = 0 at 0)
    conduction_threshold: float = 0.0
    # Fraction f of the Allen-Cahn mean-curvature flow kept (1 = Chen 2015). Chen's L_sigma kappa
    # moves a Li surface of radius R at L_sigma kappa/R ~ 1 um/s for R = 3 um: a kinetic property
    # of the diffuse interface, not Li's Gibbs-Thomson shift (gamma Omega/(F R) ~ 20 uV at 3 um,
    # nothing against the ~0.1 V that drive plating). Where the SE's ohmic resistance caps the front
    # speed at ~0.1 um/s it flattens every protrusion smaller than ~100 um. f < 1 removes (1 - f)
    # of the curvature term while the 1D tanh profile, its energy and the front speed stay exact
    # (assumed value; the study sets it).
    curvature_fraction: float = 1.0

    def __post_init__(self):
        positive = ("barrier_height", "gradient_coefficient", "interface_mobility", "site_density",
                    "bulk_concentration", "li_conductivity", "electrolyte_conductivity",
                    "electrolyte_electronic_conductivity", "li_diffusivity", "electrolyte_diffusivity",
                    "temperature", "li_youngs_modulus", "se_youngs_modulus")
        for f in fields(self):
            v = getattr(self, f.name)
            if not (isinstance(v, (int, float)) and math.isfinite(v)):
                raise PhaseFieldError(f"phase-field parameter '{f.name}' must be a finite number, got {v!r}")
            if f.name in positive and not v > 0:
                raise PhaseFieldError(f"phase-field parameter '{f.name}' must be positive, got {v!r}")
        if self.reaction_constant < 0:
            raise PhaseFieldError(f"phase-field parameter 'reaction_constant' must be >= 0, "
                                  f"got {self.reaction_constant}")
        if not 0 < self.transfer_coefficient < 1:
            raise PhaseFieldError(f"phase-field parameter 'transfer_coefficient' must lie in (0, 1), "
                                  f"got {self.transfer_coefficient}")
        for name in ("li_poisson_ratio", "se_poisson_ratio"):
            if not -1 < getattr(self, name) < 0.5:
                raise PhaseFieldError(f"phase-field parameter '{name}' must lie in (-1, 0.5), "
                                      f"got {getattr(self, name)}")
        if not 0 <= self.conduction_threshold < 0.5:
            raise PhaseFieldError(f"phase-field parameter 'conduction_threshold' must lie in [0, 0.5), "
                                  f"got {self.conduction_threshold}")
        if not self.conduction_exponent >= 1:
            raise PhaseFieldError(f"phase-field parameter 'conduction_exponent' must be >= 1, "
                                  f"got {self.conduction_exponent}")
        if not 0 <= self.misfit_relaxation <= 1:
            raise PhaseFieldError(f"phase-field parameter 'misfit_relaxation' must lie in [0, 1], "
                                  f"got {self.misfit_relaxation}")
        if not 0 <= self.curvature_fraction <= 1:
            raise PhaseFieldError(f"phase-field parameter 'curvature_fraction' must lie in [0, 1], "
                                  f"got {self.curvature_fraction}")
        for name in ("pore_fraction", "pore_transport_fraction"):
            if not 0 < getattr(self, name) <= 1:
                raise PhaseFieldError(f"phase-field parameter '{name}' must lie in (0, 1], got {getattr(self, name)}")

    @property
    def thermal_voltage(self) -> float:
        """RT/F (V)."""
        return GAS_CONSTANT * self.temperature / FARADAY

    @property
    def interface_width(self) -> float:
        """delta = sqrt(2 kappa/W) (m): xi = [1 - tanh(x/delta)]/2 at equilibrium (DESIGN.md B8);
        the 10-90 % width is 2.2 delta (0.75 um and 1.6 um with the defaults)."""
        return math.sqrt(2 * self.gradient_coefficient / self.barrier_height)

    @property
    def surface_energy(self) -> float:
        """gamma = sqrt(2 kappa W)/6 (J/m^2) of the flat equilibrium interface (DESIGN.md B8)."""
        return math.sqrt(2 * self.gradient_coefficient * self.barrier_height) / 6

    @property
    def molar_volume(self) -> float:
        """1/C_s (m^3/mol): the Li volume per mole in this model, 13.1 cm^3/mol with the defaults
        (DESIGN.md quotes Omega_Li = 13.0 cm^3/mol, i.e. 4.85 um per mAh/cm^2; 1/C_s gives 4.88 um)."""
        return 1.0 / self.site_density

    @property
    def migration_conductivity(self) -> float:
        """F^2 D_l c0/(RT) (S/m): the Li+ conductivity the Nernst-Planck equation implies in the
        electrolyte. Chen 2015's liquid (D_l = 3.2e-10, c0 = 1e3, sigma = 1 S/m) is consistent
        (1.2 S/m); with an SE conductivity of 0.2 S/m it is not (see the module docstring)."""
        return self._migration(self.electrolyte_diffusivity)

    def _migration(self, diffusivity: float) -> float:
        """F^2 D c0/(RT) (S/m): the conductivity of Li+ at c0 moving with diffusivity D."""
        return FARADAY * diffusivity * self.bulk_concentration / self.thermal_voltage

    @property
    def li_ionic_conductivity(self) -> float:
        """F^2 D_Li c0/(RT) (S/m): the Li+ conductivity of the electrode phase in the single-ion
        electrolyte, the one Chen 2015's Li-phase diffusivity implies (2.8e-3 S/m with the defaults;
        it only keeps the ionic potential defined inside the metal)."""
        return self._migration(self.li_diffusivity)

    def conducting_xi(self) -> float:
        """xi at which the Li share of the conductivity, h(xi)**n sigma_Li (xi rescaled above the
        conduction threshold), equals sigma_SE: above it the diffuse phase conducts electrons
        better than the SE conducts ions (1.3e-3 for n = 1 with the defaults)."""
        target = (self.electrolyte_conductivity / self.li_conductivity) ** (1 / self.conduction_exponent)
        lo, hi = 0.0, 1.0
        for _ in range(60):  # h is monotonic on [0, 1]
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if interpolation(mid) < target else (lo, mid)
        c = self.conduction_threshold
        return c + (1 - c) * 0.5 * (lo + hi)

    def with_consistent_transport(self) -> PhaseFieldParameters:
        """A copy with D_l = sigma_SE RT/(F^2 c0), so that migration carries exactly the current of
        the conduction equation (5.3e-11 m^2/s for 0.2 S/m and c0 = 1e3 mol/m^3)."""
        d = self.electrolyte_conductivity * self.thermal_voltage / (FARADAY * self.bulk_concentration)
        return dataclasses.replace(self, electrolyte_diffusivity=d)

    def reaction_rate(self, eta, c=1.0):
        """The Butler-Volmer bracket of the Allen-Cahn equation, exp[(1-alpha) eta/V_T] -
        c~ exp[-alpha eta/V_T] (negative: deposition), at overpotential ``eta`` (V, numbers/arrays)."""
        a, vt = self.transfer_coefficient, self.thermal_voltage
        return np.exp((1 - a) * np.asarray(eta) / vt) - c * np.exp(-a * np.asarray(eta) / vt)

    @property
    def exchange_current_density(self) -> float:
        """i0 = F C_s L_eta kappa/gamma = 3 F C_s L_eta delta (A/m^2): the current density of a flat
        front per unit Butler-Volmer bracket (:meth:`planar_front_speed` times F C_s). 30 A/m^2
        (3 mA/cm^2) with the defaults; it grows with the interface width delta."""
        return FARADAY * self.site_density * self.reaction_constant * self.gradient_coefficient / self.surface_energy

    def planar_front_speed(self, eta: float, c: float = 1.0, work: float = 0.0) -> float:
        """Speed (m/s, positive = Li grows) of a flat front with uniform eta and c~ when the profile
        stays at its equilibrium shape: v = -(L_eta B + L_sigma w) kappa/gamma (from integrating the
        Allen-Cahn equation times d xi/dx across a travelling wave: v int xi'^2 dx = -L_eta B - L_sigma w,
        and int xi'^2 dx = gamma/kappa for the tanh profile; exact for any h with h(1) - h(0) = 1).
        ``work`` w (J/m^3): what each volume of new Li does against the stress, -eps0 tr(sigma) for a
        uniform stress (3 eps0 p under a hydrostatic pressure p); it enters the Allen-Cahn equation
        as the L_sigma w h'(xi) of the elastic driving force."""
        rate = self.reaction_constant * self.reaction_rate(eta, c) + self.interface_mobility * work
        return -rate * self.gradient_coefficient / self.surface_energy

    def stall_overpotential(self, work: float, c: float = 1.0) -> float:
        """eta* (V; <= 0 for c~ <= 1): the overpotential at which a flat front doing the ``work`` w (J/m^3, see
        :meth:`planar_front_speed`) stands still, L_eta B(eta*) = -L_sigma w; Li grows only where
        eta < eta*. For alpha = 1/2 and c~ = 1, eta* = -2 (RT/F) asinh(L_sigma w/(2 L_eta)): 0.135 V
        for 3 eps0 p at 10 MPa with eps0 = 1e-2 and L_eta = 0.054 1/s. Behind a series resistance a
        short settles where the collector's overpotential has fallen to the eta* of the Li's mean
        pressure (the study's stall law)."""
        if not work >= 0:
            raise PhaseFieldError(f"stall_overpotential: work must be >= 0, got {work}")
        if self.reaction_constant == 0:
            raise PhaseFieldError("stall_overpotential: no reaction (reaction_constant = 0), no stall")
        target = -self.interface_mobility * work / self.reaction_constant
        lo, hi = -self.thermal_voltage, 0.0
        if self.reaction_rate(hi, c) <= target:  # c~ < 1: the bracket is negative already at eta = 0
            hi = self.thermal_voltage
            while self.reaction_rate(hi, c) <= target:
                hi *= 2
        while self.reaction_rate(lo, c) > target:  # B rises with eta: bracket the root
            lo *= 2
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if self.reaction_rate(mid, c) < target else (lo, mid)
            if hi - lo < 1e-15:
                break
        return 0.5 * (lo + hi)


@dataclass(frozen=True)
class FixedField:
    """Dirichlet value of one field on facet groups, in SI: ``field`` is "xi", "concentration"
    (c~, -; Nernst-Planck electrolyte), "electronic_potential" (V; single-ion electrolyte),
    "potential" (V) or "displacement" (m; then ``component`` selects x/r, y/z, z).
    ``value``: a number, a Constant or a UFL expression (of x and of :attr:`PhaseFieldDendrite.time`),
    re-evaluated before every solve."""

    field: str
    facets: tuple[str, ...]
    value: object = 0.0
    component: int | None = None

    def __post_init__(self):
        names = FIELDS + SINGLE_ION_FIELDS[1:2]
        if self.field not in names:
            raise PhaseFieldError(f"FixedField.field must be one of {names}, got {self.field!r}")
        if (self.field == "displacement") != (self.component is not None):
            raise PhaseFieldError("FixedField.component is needed for (and only for) field 'displacement'")


@dataclass(frozen=True)
class Sources:
    """Volumetric sources (SI) added to the equations, for manufactured solutions: ``xi`` (1/s,
    added to d xi/dt), ``concentration`` (1/s, added to d c~/dt), ``charge`` (A/m^3, on the
    right of -div(sigma grad phi) + F C_s d xi/dt = s), ``electronic_charge`` (A/m^3, single-ion
    electrolyte: on the right of -div(sigma_e grad phi_e) - F C_s d xi/dt = s) and ``body_force``
    (N/m^3). UFL expressions of x and of :attr:`PhaseFieldDendrite.time`."""

    xi: object = None
    concentration: object = None
    charge: object = None
    electronic_charge: object = None
    body_force: object = None


# ------------------------------------------------------------------------------------------------
# Pure UFL building blocks of the forms
# ------------------------------------------------------------------------------------------------


def curvature_term(xi, v, grad, width):
    """Weak form of |grad xi| div(n) v, n = grad xi/|grad xi|: the mean-curvature part of lap(xi)
    (lap xi = d^2 xi/dn^2 + |grad xi| div n). |grad xi| is taken from the equilibrium profile,
    2 xi (1 - xi)/delta, so that integrating by parts needs no second derivative of a P1 field;
    n is regularised where xi is flat (there xi (1 - xi) ~ 0 anyway). The boundary term is dropped:
    at the natural (zero-flux) faces of xi, n is tangential. ``grad``: the (scaled) gradient."""
    g = grad(xi)
    floor = 1e-2 / width  # 2 % of the profile's peak slope 1/(2 delta)
    n = g / ufl.sqrt(ufl.inner(g, g) + floor**2)
    return -ufl.inner(n, grad(2 * xi * (1 - xi) / width * v))


def phase_property(xi, li_value, se_value, solid_fraction, pore_fraction, exponent=1, threshold=0.0):
    """h P_Li + (1 - h) [rho + (1 - rho) delta] P_SE: Li, SE, or a nearly empty pore (h**exponent
    in place of h, if given; h((xi - c)/(1 - c)), 0 below xi = c, for a ``threshold`` c > 0)."""
    if threshold:
        xi = ufl.max_value((xi - threshold) / (1 - threshold), 0.0)
    h = interpolation(xi) if exponent == 1 else interpolation(xi) ** exponent
    return h * li_value + (1 - h) * (solid_fraction + (1 - solid_fraction) * pore_fraction) * se_value


def lame(youngs_modulus, poisson_ratio):
    """(lambda, mu) of an isotropic material (3D/plane-strain constants)."""
    m = IsotropicElastic(youngs_modulus, poisson_ratio)
    return m.lmbda, m.mu


def elastic_terms(eps, xi, solid_fraction, li: tuple, se: tuple, eigenstrain, pore_fraction, stress_free_xi=0.0,
                  relaxation=0.0):
    """Stress and d f_el/d xi for the 3x3 total strain ``eps``, with ``li`` = (lambda, mu) of Li,
    ``se`` = (lambda, mu) of the SE (any consistent unit: Pa, or units of W) and the linear
    deposition eigenstrain eps0 [h(xi) - h(xi_ref)] I of the Li deposited since the stress-free
    state ``stress_free_xi`` = xi_ref (0: all Li carries it), of which the fraction ``relaxation``
    r stresses nothing (the stress sees (1 - r) eps0; the work term -eps0 h' tr(sigma) keeps eps0;
    r = 0 is the exact derivative of f_el). Returns (sigma, d f_el/d xi) in the unit of the moduli."""
    other = solid_fraction + (1 - solid_fraction) * pore_fraction  # SE, or a nearly empty pore
    h, hp = interpolation(xi), interpolation_slope(xi)
    lam = h * li[0] + (1 - h) * other * se[0]
    mu = h * li[1] + (1 - h) * other * se[1]
    dlam, dmu = hp * (li[0] - other * se[0]), hp * (li[1] - other * se[1])
    e = _elastic_strain(eps, xi, eigenstrain, stress_free_xi, relaxation)
    sigma = stress(e, lam, mu)
    drive = 0.5 * dlam * ufl.tr(e) ** 2 + dmu * ufl.inner(e, e) - eigenstrain * hp * ufl.tr(sigma)
    return sigma, drive


def _elastic_strain(eps, xi, eigenstrain, stress_free_xi, relaxation):
    """eps - (1 - r) eps0 [h(xi) - h(xi_ref)] I: the strain the stiffness acts on."""
    return eps - (1 - relaxation) * eigenstrain * (interpolation(xi) - interpolation(stress_free_xi)) * ufl.Identity(3)


def pore_driving_force(eps, xi, se: tuple, eigenstrain, pore_fraction, stress_free_xi=0.0, relaxation=0.0):
    """d f_el/d rho at fixed strain, (1 - h)(1 - delta) [lambda_SE tr(e)^2/2 + mu_SE e : e] >= 0 (the
    stiffness is h C_Li + (1 - h) [rho + (1 - rho) delta] C_SE; arguments as in
    :func:`elastic_terms`): the elastic part of the pore field's chemical potential. For a body in
    equilibrium under fixed loads it is the change of the potential energy per unit rho; solid
    leaves strained regions, pores move into them (stress-driven pore migration)."""
    e = _elastic_strain(eps, xi, eigenstrain, stress_free_xi, relaxation)
    return (1 - interpolation(xi)) * (1 - pore_fraction) * (0.5 * se[0] * ufl.tr(e) ** 2 + se[1] * ufl.inner(e, e))


def scaled_groups(p: PhaseFieldParameters) -> dict[str, float]:
    """The dimensionless groups of the forms (see the module docstring)."""
    l0, t0, W, vt = LENGTH_SCALE, TIME_SCALE, p.barrier_height, p.thermal_voltage
    lam_li, mu_li = lame(p.li_youngs_modulus / W, p.li_poisson_ratio)
    lam_se, mu_se = lame(p.se_youngs_modulus / W, p.se_poisson_ratio)
    charge = vt * t0 / (FARADAY * p.site_density * l0**2)
    return {
        "mobility": p.interface_mobility * W * t0,  # L_sigma^
        "gradient": p.gradient_coefficient / (W * l0**2),  # kappa^
        "reaction": p.reaction_constant * t0,  # L_eta^
        "alpha": p.transfer_coefficient,
        "equilibrium": p.equilibrium_potential / vt,  # E_eq/V_T
        "inverse_thermal_voltage": 1.0 / vt,  # 1/V_T (1/V)
        "sites": p.site_density / p.bulk_concentration,  # C_s/c0
        "d_li": p.li_diffusivity * t0 / l0**2,
        "d_se": p.electrolyte_diffusivity * t0 / l0**2,
        "sigma_li": p.li_conductivity * charge,
        "sigma_se": p.electrolyte_conductivity * charge,
        "sigma_li_ion": p.li_ionic_conductivity * charge,  # single-ion electrolyte only
        "sigma_se_electron": p.electrolyte_electronic_conductivity * charge,  # single-ion electrolyte only
        "pore": p.pore_fraction,
        "pore_transport": p.pore_transport_fraction,
        "lambda_li": lam_li, "mu_li": mu_li, "lambda_se": lam_se, "mu_se": mu_se,
        "eigenstrain": p.deposition_strain,
        "relaxation": p.misfit_relaxation,
        "curvature_removed": 1.0 - p.curvature_fraction,
        "width": p.interface_width / l0,  # delta^
    }


# ------------------------------------------------------------------------------------------------
# The problem
# ------------------------------------------------------------------------------------------------


#: file names of the checkpoints: the prefix, then the time in s
CHECKPOINT_PREFIX = "phase_field_t"


class PhaseFieldDendrite:
    """Li electrodeposition by phase field on the mesh of ``tm`` (plane strain, axisymmetric or 3D).

    ``anode``: facet groups of the Li current collector (phi = ``voltage``, V; a number or a
    Constant that may change between steps); ``counter``: facet groups of the counter electrode
    (phi = 0, c~ = 1). ``initial_xi`` and ``initial_concentration``: numbers, callables of x or
    UFL expressions (Functions included); ``initial_potential`` (V, a number or UFL expression;
    default: the anode voltage) is only the first Newton guess (single ion: give one, e.g. the anode
    voltage in the Li and linear across the SE to 0 at the counter electrode; from the anode voltage
    everywhere, or from 0 everywhere, the first Newton step stalls in one cell or the other).
    ``solid_fraction`` rho: None (all solid), a number, a UFL expression or a Function (e.g. DG0 from
    :func:`ssbx.fem.elasticity.cellwise` with 0 in the "pore" cells); with ``pore_evolution`` it is
    the initial rho (a DG0 marker is averaged onto the vertices) and :attr:`pores` evolves it.
    ``mechanics``: solve for u (then ``fixed_displacements`` and ``pressures`` apply);
    ``stress_free_xi``: xi of the stress-free state (number, callable or UFL expression, frozen at
    construction), e.g. the initial xi so that only newly deposited Li carries the deposition
    eigenstrain. ``time``: the clock (a Constant, s) to share with time-dependent boundary values
    and sources.
    ``quadrature_degree`` of the volume integrals (4 integrates the double-well and P1 products
    exactly; the tests converge at the P1 rate with it).

    Use: ``step(dt)`` then ``accept()`` (or ``reject()``), or ``run(t_end, StepControl(...))``.
    Diagnostics that read the step's residual (:meth:`current`, :meth:`ion_supply`,
    :meth:`plating_current`) refer to the last step only between ``step`` and ``accept``;
    ``accept`` books them in :attr:`history`.
    """

    def __init__(self, tm: TaggedMesh, params: PhaseFieldParameters = PhaseFieldParameters(), *,
                 anode: Sequence[str] = (), counter: Sequence[str] = (), voltage: float | fem.Constant = 0.0,
                 initial_xi: object = 0.0, initial_concentration: object = 1.0, initial_potential: object = None,
                 solid_fraction: object = None, mechanics: bool = False, stress_free_xi: object = 0.0,
                 fixed_displacements: Sequence[FixedComponent] = (),
                 pressures: Sequence[NormalPressure] = (), fixed: Sequence[FixedField] = (),
                 sources: Sources = Sources(), max_xi_change: float = 0.5, prefix: str = "phase_field_",
                 solver: str = "newton_direct", solver_overrides: dict | None = None,
                 time: fem.Constant | None = None, quadrature_degree: int = 4, electrolyte: str = "nernst_planck",
                 series_resistance: float = 0.0, pore_evolution: PoreEvolutionParameters | None = None,
                 counter_contact_resistance: float = 0.0):
        if electrolyte not in ELECTROLYTES:
            raise PhaseFieldError(f"electrolyte must be one of {ELECTROLYTES}, got {electrolyte!r}")
        self.electrolyte = electrolyte
        self.single_ion = electrolyte == "single_ion"
        self.fields = SINGLE_ION_FIELDS if self.single_ion else FIELDS
        for b in fixed:
            if b.field not in self.fields:
                raise PhaseFieldError(f"FixedField.field {b.field!r} does not exist with electrolyte {electrolyte!r} "
                                      f"(fields: {self.fields})")
        uniform = isinstance(initial_concentration, (int, float)) and initial_concentration == 1.0
        if self.single_ion and (sources.concentration is not None or not uniform):
            raise PhaseFieldError("the single-ion electrolyte has no concentration field: "
                                  "initial_concentration/Sources.concentration are for 'nernst_planck'")
        if not self.single_ion and sources.electronic_charge is not None:
            raise PhaseFieldError("Sources.electronic_charge needs electrolyte='single_ion'")
        tm.require(facets=[*anode, *counter, *(f for b in fixed for f in b.facets),
                           *(f for b in fixed_displacements for f in b.facets),
                           *(f for b in pressures for f in b.facets)])
        if (fixed_displacements or pressures) and not mechanics:
            raise PhaseFieldError("fixed_displacements/pressures given but mechanics=False")
        if any(f.field == "displacement" for f in fixed) and not mechanics:
            raise PhaseFieldError("FixedField on 'displacement' needs mechanics=True")
        if not (counter or any(f.field == "potential" for f in fixed) or (anode and not self.single_ion)):
            raise PhaseFieldError("the potential needs a fixed value somewhere: give anode, counter or a "
                                  "FixedField('potential', ...) (single ion: counter or the FixedField)")
        if self.single_ion and not (anode or counter or any(f.field == "electronic_potential" for f in fixed)):
            raise PhaseFieldError("the electron potential needs a fixed value somewhere: give anode, counter or "
                                  "a FixedField('electronic_potential', ...)")
        if not max_xi_change > 0:
            raise PhaseFieldError(f"max_xi_change must be positive, got {max_xi_change}")
        if not (math.isfinite(series_resistance) and series_resistance >= 0):
            raise PhaseFieldError(f"series_resistance must be >= 0 (ohm m^2), got {series_resistance}")
        if series_resistance > 0 and not anode:
            raise PhaseFieldError("series_resistance needs anode facets (it sits between them and the source)")
        self.series_resistance = series_resistance
        if not (math.isfinite(counter_contact_resistance) and counter_contact_resistance >= 0):
            raise PhaseFieldError("counter_contact_resistance must be >= 0 (ohm m^2), "
                                  f"got {counter_contact_resistance}")
        if counter_contact_resistance > 0 and not (counter and electrolyte == "single_ion"):
            raise PhaseFieldError("counter_contact_resistance needs counter facets and electrolyte='single_ion' "
                                  "(it acts on the electron potential there)")
        self.counter_contact_resistance = counter_contact_resistance
        mismatch = params.migration_conductivity / params.electrolyte_conductivity
        if not self.single_ion and not 0.5 < mismatch < 2:
            log.warning("Nernst-Planck migration carries %.2g x the current of the SE conductivity "
                        "(%.3g vs %.3g S/m): Li+ will pile up at (or drain from) the interface; "
                        "PhaseFieldParameters.with_consistent_transport() makes them agree",
                        mismatch, params.migration_conductivity, params.electrolyte_conductivity)
        self.tm, self.params, self.mechanics = tm, params, mechanics
        self.anode, self.counter = tuple(anode), tuple(counter)
        self.max_xi_change = max_xi_change
        msh = tm.mesh
        tdim, gdim = msh.topology.dim, msh.geometry.dim
        p = params
        l0, t0, W, vt = LENGTH_SCALE, TIME_SCALE, p.barrier_height, p.thermal_voltage
        self._vt = vt
        # volumes and areas in units of l0 (plane: per unit depth)
        self._volume_scale = l0 ** (2 if tm.kind == kinematics.PLANE else 3)
        self._area_scale = self._volume_scale / l0

        p1 = basix.ufl.element("Lagrange", msh.basix_cell(), 1)
        parts = [p1, p1, p1]
        if mechanics:
            parts.append(basix.ufl.element("Lagrange", msh.basix_cell(), 1, shape=(gdim,)))
        self.W = fem.functionspace(msh, basix.ufl.mixed_element(parts))
        self.w = fem.Function(self.W, name="phase_field_state")
        self.w_old = fem.Function(self.W, name="phase_field_state_old")
        # s, at the end of the step being solved; may be shared with time-dependent BCs and sources
        self.time = time if time is not None else fem.Constant(msh, default_scalar_type(0.0))
        self.dt = fem.Constant(msh, default_scalar_type(1.0))  # s
        self.t = float(self.time.value)
        self.voltage = voltage if isinstance(voltage, fem.Constant) else fem.Constant(msh, default_scalar_type(voltage))
        # The potential unknown is psi = (phi - phi_ref)/V_T with phi_ref the anode voltage: the
        # metal attached to the anode then sits at psi ~ 0, where round-off in psi times the huge
        # sigma_Li^ (3.5e7) does not put a floor of ~1e-7 under the Newton residual.
        # With a series resistance the metal floats away from the applied voltage (to ~0 V after a
        # short): phi_ref then follows the collector potential from step to step (accept()).
        if self.anode and series_resistance > 0:
            self._phi_ref = fem.Constant(msh, default_scalar_type(float(self.voltage.value)))
        else:
            self._phi_ref = self.voltage if self.anode else fem.Constant(msh, default_scalar_type(0.0))
        self._spaces = []  # (V_i, dofs of W holding V_i's dofs, block-expanded), per field
        for i in range(len(parts)):
            V, maps = self.W.sub(i).collapse()
            self._spaces.append((V, np.asarray(maps[0] if isinstance(maps, list) else maps, dtype=np.int32)))

        # c: c~ (Nernst-Planck) or the scaled electron potential psi_e (single ion)
        xi, c, phi = ufl.split(self.w)[:3]
        xi_n, c_n = ufl.split(self.w_old)[:2]
        tests = ufl.TestFunctions(self.W)
        v, r, q = tests[:3]
        wt = kinematics.volume_weight(msh, tm.kind)
        # UFL estimates degree 15 for these integrands (quintic h, exponentials): far more points
        # than P1 accuracy needs and ~10x the assembly time
        if not (isinstance(quadrature_degree, int) and quadrature_degree >= 2):
            raise PhaseFieldError(f"quadrature_degree must be an integer >= 2, got {quadrature_degree!r}")
        dx = ufl.Measure("dx", domain=msh, metadata={"quadrature_degree": quadrature_degree})
        jac = wt / self._volume_scale  # dV in units of l0^3 (plane: l0^2)

        def grad(f):  # gradient in units of 1/l0
            return l0 * ufl.grad(f)

        # every group is a Constant: one compiled form serves all parameter sets and meshes
        k = {name: fem.Constant(msh, default_scalar_type(v)) for name, v in scaled_groups(p).items()}
        self._groups = k
        dt = self.dt / t0
        xi_rate = (xi - xi_n) / dt
        if self.single_ion:  # eta^ = (phi_e - phi - E_eq)/V_T; both potentials carry the same shift
            eta = c - phi - k["equilibrium"]
            bracket = ufl.exp((1 - k["alpha"]) * eta) - ufl.exp(-k["alpha"] * eta)
        else:  # Allen-Cahn with Butler-Volmer, eta^ = (phi - E_eq)/V_T = psi + (phi_ref - E_eq)/V_T
            eta = phi + self._phi_ref * k["inverse_thermal_voltage"] - k["equilibrium"]
            bracket = ufl.exp((1 - k["alpha"]) * eta) - c * ufl.exp(-k["alpha"] * eta)
        drive = double_well_slope(xi)
        self._stress = None
        if mechanics:
            u = ufl.split(self.w)[3]
            vu = tests[3]
            eps = kinematics.strain(l0 * u, tm.kind, msh)  # u^ = u/l0; the SI gradient makes it a strain
            if isinstance(stress_free_xi, (int, float)):
                xi_ref = stress_free_xi
            else:  # frozen into a P1 Function: the reference must not follow the state
                V0 = self._spaces[0][0]
                self.stress_free_xi = xi_ref = fem.Function(V0, name="stress_free_xi")
                set_values(xi_ref, stress_free_xi, "stress_free_xi", PhaseFieldError)
        rho = 1.0 if solid_fraction is None else solid_fraction
        self.pores = None
        if pore_evolution is not None:
            # staggered: this step's xi and u drive rho, which the next step's forms see
            pore_drive = W * pore_driving_force(eps, xi, (k["lambda_se"], k["mu_se"]), k["eigenstrain"], k["pore"],
                                                xi_ref, k["relaxation"]) if mechanics else None
            self.pores = PoreEvolution(tm, pore_evolution, rho, mobility_factor=1 - interpolation(xi),
                                       driving_force=pore_drive, quadrature_degree=quadrature_degree,
                                       prefix=f"{prefix}pores_")
            # Cahn-Hilliard overshoots [0, 1] slightly; a negative stiffness or conductivity must not follow
            rho = ufl.min_value(ufl.max_value(self.pores.solid_fraction("old"), 0.0), 1.0)
        self.solid_fraction = rho
        if mechanics:
            sigma, f_el = elastic_terms(eps, xi, rho, (k["lambda_li"], k["mu_li"]), (k["lambda_se"], k["mu_se"]),
                                        k["eigenstrain"], k["pore"], xi_ref, k["relaxation"])
            self._stress = sigma  # units of W
            drive = drive + f_el
        F_xi = (xi_rate + k["mobility"] * drive + k["reaction"] * interpolation_slope(xi) * bracket) * v * jac * dx \
            + k["mobility"] * k["gradient"] * ufl.inner(grad(xi), grad(v)) * jac * dx
        if p.curvature_fraction < 1:  # take (1 - f) of the curvature flow back out of lap(xi)
            F_xi += k["mobility"] * k["gradient"] * k["curvature_removed"] \
                * curvature_term(xi, v, grad, k["width"]) * jac * dx
        n_e, c_e = p.conduction_exponent, p.conduction_threshold
        if self.single_ion:
            # electrons (current in units F C_s l0/t0): conducted by the Li phase, released by the deposit
            sig_e = phase_property(xi, k["sigma_li"], k["sigma_se_electron"], rho, k["pore_transport"], n_e, c_e)
            F_c = sig_e * ufl.inner(grad(c), grad(r)) * jac * dx - xi_rate * r * jac * dx
            # Li+ (fixed concentration, migration only), consumed by the deposit
            sig = phase_property(xi, k["sigma_li_ion"], k["sigma_se"], rho, k["pore_transport"])
            self._electronic_residual = None  # the electron current is the residual of its own equation
            self._electron_flux = -sig_e * grad(c)  # conventional current, units F C_s l0/t0 per l0
        else:
            # Nernst-Planck (flux in units c0 l0/t0) with the Li consumed by the deposit
            D = phase_property(xi, k["d_li"], k["d_se"], rho, k["pore_transport"])
            F_c = ((c - c_n) / dt + k["sites"] * xi_rate) * r * jac * dx \
                + D * ufl.inner(grad(c) + c * grad(phi), grad(r)) * jac * dx
            # one potential: Li+ in the electrolyte, electrons in the Li phase
            sig = phase_property(xi, k["sigma_li"], k["sigma_se"], rho, k["pore_transport"], n_e, c_e)
            # the part of the conduction term carried by the Li phase (electrons): see electronic_current
            sig_li = phase_property(xi, k["sigma_li"], 0.0, rho, k["pore_transport"], n_e, c_e)
            self._electronic_residual = fem.form(sig_li * ufl.inner(grad(phi), grad(q)) * jac * dx)
            self._electron_flux = -sig_li * grad(phi)
        # charge (current in units F C_s l0/t0)
        F_phi = sig * ufl.inner(grad(phi), grad(q)) * jac * dx + xi_rate * q * jac * dx
        charge_scale = t0 / (FARADAY * p.site_density)
        if sources.xi is not None:
            F_xi -= sources.xi * t0 * v * jac * dx
        if sources.concentration is not None:
            F_c -= sources.concentration * t0 * r * jac * dx
        if sources.electronic_charge is not None:
            F_c -= sources.electronic_charge * charge_scale * r * jac * dx
        if sources.charge is not None:
            F_phi -= sources.charge * charge_scale * q * jac * dx
        self._series = None
        if series_resistance > 0:
            # the collector feeds the metal through R_s: inward current (V - phi_e)/R_s on the anode
            # facets instead of phi_e = V there, with phi_e = phi_ref + V_T psi_e
            k["contact"] = fem.Constant(msh, default_scalar_type(
                vt * t0 / (FARADAY * p.site_density * l0 * series_resistance)))
            carrier, test = (c, r) if self.single_ion else (phi, q)
            drop = (self.voltage - self._phi_ref) * k["inverse_thermal_voltage"] - carrier  # (V - phi_e)/V_T
            robin = -k["contact"] * drop * test * (wt / self._area_scale) \
                * measure(tm, facets=self.anode, degree=quadrature_degree)
            if self.single_ion:
                F_c += robin
            else:
                F_phi += robin
            # current (A; plane A/m) into the metal through R_s
            self._series = compiled_integral(tm, vt * drop / series_resistance, facets=self.anode,
                                             degree=quadrature_degree)
            self._anode_area = integrate(tm, fem.Constant(msh, default_scalar_type(1.0)), facets=self.anode)
        self._counter_contact = None
        if counter_contact_resistance > 0:
            # electrons pass from the Li phase into the counter electrode (0 V) through the contact
            # resistance r_c where Li touches it, on the share h(xi) of the facet: outward current
            # g phi_e with g = h(xi)/r_c + (1 - h(xi)) sigma_e,SE/l0 instead of phi_e = 0 on the whole
            # facet. A tip's diffuse tail then passes electrons in proportion to the Li it brings, not
            # through sigma_Li h(xi). The SE's own electrons cross as from a 1 um layer of SE (assumed):
            # that pins its electron potential near 0 V as before (a few mV for its ~2e-3 A/m^2), and
            # without it the SE would sit at the anode's potential, a plating drive of |V| everywhere.
            share = ufl.max_value(interpolation(xi), 0.0)
            g = share / counter_contact_resistance + (1 - share) * p.electrolyte_electronic_conductivity / l0
            level = c + self._phi_ref * k["inverse_thermal_voltage"]  # phi_e/V_T
            F_c += vt * t0 / (FARADAY * p.site_density * l0) * g * level * r * (wt / self._area_scale) \
                * measure(tm, facets=self.counter, degree=quadrature_degree)
            # conventional current (A; plane A/m) into the domain there
            self._counter_contact = compiled_integral(tm, -g * vt * level, facets=self.counter,
                                                      degree=quadrature_degree)
        F = F_xi + F_c + F_phi
        if mechanics:
            F += ufl.inner(sigma, kinematics.strain(l0 * vu, tm.kind, msh)) * jac * dx
            for pr in pressures:  # traction -p n (Pa) on the facets
                n = ufl.FacetNormal(msh)
                F += pr.pressure / W * ufl.dot(n, vu) * (wt / self._area_scale) * measure(tm, facets=pr.facets)
            if sources.body_force is not None:
                F -= ufl.dot(sources.body_force * l0 / W, vu) * jac * dx
        self.F = F
        self._residual = fem.form(F)

        # Dirichlet conditions: SI values, scaled and re-interpolated before every solve
        if self.single_ion:  # electrons from the collector; the counter electrode takes both Li+ and electrons
            specs = [FixedField("electronic_potential", self.anode, self.voltage)] if self._ideal_anode() else []
            if self.counter:
                specs += [FixedField("potential", self.counter, 0.0)]
                if self._counter_contact is None:
                    specs += [FixedField("electronic_potential", self.counter, 0.0)]
        else:
            specs = [FixedField("potential", self.anode, self.voltage)] if self._ideal_anode() else []
            if self.counter:
                specs += [FixedField("potential", self.counter, 0.0), FixedField("concentration", self.counter, 1.0)]
        specs += list(fixed)
        specs += [FixedField("displacement", b.facets, b.value, b.component) for b in fixed_displacements]
        self.bcs, self._bc_updates = [], []
        fdim = tdim - 1
        for s in specs:
            sub, scale = self._subspace(s)
            Vs = sub.collapse()[0]
            g = fem.Function(Vs)
            facets = np.unique(np.concatenate([tm.facets(f) for f in s.facets])) if s.facets else np.zeros(0, np.int32)
            dofs = fem.locate_dofs_topological((sub, Vs), fdim, facets)
            self.bcs.append(fem.dirichletbc(g, dofs, sub))
            value = s.value
            if s.field in ("potential", "electronic_potential"):
                value = ufl.as_ufl(value) - self._phi_ref
            if isinstance(value, (int, float)):
                g.x.array[:] = value / scale
            else:
                expr = fem.Expression(ufl.as_ufl(value) / scale, Vs.element.interpolation_points)
                self._bc_updates.append((g, expr))

        # initial state
        self._set_initial(0, initial_xi)
        # single ion: psi_e = 0, the anode voltage everywhere (a Newton guess, like phi)
        self._set_initial(1, 0.0 if self.single_ion else initial_concentration)
        if initial_potential is not None:  # only a Newton guess: no time derivative acts on phi
            self._set_initial(2, (ufl.as_ufl(initial_potential) - self._phi_ref) / vt)
        self._update_bcs()
        for bc in self.bcs:
            bc.set(self.w.x.array)
        self.w.x.scatter_forward()
        self.w_old.x.array[:] = self.w.x.array

        # Converged on a relative decrease, an absolute floor of the O(1)-scaled residual, or a
        # vanishing step. Full Newton steps: the residual norm often rises in the first iteration
        # (the Butler-Volmer exponentials) before quadratic convergence, and a backtracking search
        # then crawls; a failed step is cut by the time stepping instead. The single-ion system
        # needs backtracking: where one carrier barely conducts (the Li+ potential inside the metal,
        # the electron potential in the interface tail) the linearised Butler-Volmer term sets eta,
        # and a full first step overshoots it by ~100 V_T.
        self._opts = solver_options(solver, {"snes_rtol": 1e-10, "snes_atol": 1e-11, "snes_stol": 1e-14,
                                             "snes_max_it": 25,
                                             "snes_linesearch_type": "bt" if self.single_ion else "basic",
                                             **(solver_overrides or {})})
        self._prefix = prefix
        self.problem = self._new_problem()
        self.iterations = 0
        self.counters = {"steps": 0, "newton": 0, "krylov": 0, "rejected": 0}
        self.history: list[dict] = []
        self._plated_charge = 0.0
        self._counter_charge = 0.0
        self._li = {"new": compiled_integral(tm, xi), "old": compiled_integral(tm, xi_n)}
        self._li_h = compiled_integral(tm, interpolation(xi))
        self._ions = None if self.single_ion else compiled_integral(tm, c)  # c is psi_e with a single ion
        self._dg0 = fem.functionspace(msh, ("DG", 0))
        self._xi_cell = fem.Function(self._dg0)
        self._xi_cell_expr = fem.Expression(xi, self._dg0.element.interpolation_points)
        self._nodal = {}
        self._cell_volumes = None

    # -- set-up helpers --------------------------------------------------------------------------------
    def _ideal_anode(self) -> bool:
        """The anode facets carry the collector voltage itself (no series resistance)."""
        return bool(self.anode) and self.series_resistance == 0

    def _subspace(self, s: FixedField):
        """(subspace of W, SI -> internal scale) of a fixed field."""
        if s.field == "xi":
            return self.W.sub(0), 1.0
        if s.field == "concentration":
            return self.W.sub(1), 1.0
        if s.field == "electronic_potential":
            return self.W.sub(1), self._vt
        if s.field == "potential":
            return self.W.sub(2), self._vt
        gdim = self.tm.mesh.geometry.dim
        if not 0 <= s.component < gdim:
            raise PhaseFieldError(f"displacement component {s.component} out of range for a {gdim}D mesh")
        return self.W.sub(3).sub(s.component), LENGTH_SCALE

    def _set_initial(self, index: int, value) -> None:
        V, dofs = self._spaces[index]
        f = fem.Function(V)
        set_values(f, value, f"initial value of field {self.fields[index]!r}", PhaseFieldError)
        self.w.x.array[dofs] = f.x.array

    def _update_bcs(self) -> None:
        for g, expr in self._bc_updates:
            g.interpolate(expr)

    def _new_problem(self) -> NonlinearProblem:
        prob = NonlinearProblem(self.F, self.w, bcs=self.bcs, petsc_options_prefix=self._prefix,
                                petsc_options=self._opts)
        self._factor_options(keep=False)  # (DOLFINx 0.11.0 leaves its options in the database)
        self._factor_options_pending = True
        return prob

    def _factor_options(self, keep: bool) -> None:
        """MUMPS reads its options when the factor is first created (see keep_factor_options); put
        them in the database just before the solve and take them out once used, so a problem that
        never factors (converged on its first residual) leaves no unused options behind."""
        if keep:
            keep_factor_options(self._prefix, self._opts)
        else:
            from petsc4py import PETSc

            db = PETSc.Options()
            for key in self._opts:
                if key.startswith("mat_mumps_"):
                    db.delValue(f"{self._prefix}{key}")

    def close(self) -> None:
        """Free the solver's PETSc objects (collective: call on every rank at the same point)."""
        release(self.problem)
        if self.pores is not None:
            self.pores.close()

    # -- time stepping ---------------------------------------------------------------------------------
    def step(self, dt: float) -> int:
        """Advance from the accepted state by ``dt`` (s). Returns the Newton iterations; raises
        :class:`PhaseFieldDivergedError` if Newton fails or xi changes by more than
        ``max_xi_change`` (the state is then undefined: call :meth:`reject`)."""
        from petsc4py import PETSc

        if not dt > 0:
            raise PhaseFieldError(f"time step must be positive, got {dt}")
        self.dt.value = dt
        self.time.value = self.t + dt
        self._update_bcs()
        # start on the prescribed values, so the boundary rows do not dominate the first residual
        for bc in self.bcs:
            bc.set(self.w.x.array)
        self.w.x.scatter_forward()
        if self._factor_options_pending:
            self._factor_options(keep=True)
        try:
            self.problem.solve()
        except PETSc.Error as e:  # vectors stay read-locked after an error inside SNES: start afresh
            self._factor_options(keep=False)
            release(self.problem)  # collective, now: not whenever each rank's collector runs
            self.problem = self._new_problem()
            raise PhaseFieldDivergedError(f"phase field: PETSc error in the solve at t = {self.t + dt:.6g} s "
                                          f"(dt = {dt:.3g} s): {e}") from e
        snes = self.problem.solver
        if self._factor_options_pending:
            self._factor_options(keep=False)
            self._factor_options_pending = snes.getLinearSolveIterations() == 0  # not factored yet
        self.iterations = snes.getIterationNumber()
        self.counters["newton"] += self.iterations
        self.counters["krylov"] += snes.getLinearSolveIterations()
        reason = snes.getConvergedReason()
        if reason < 0 and self._series is not None and snes.getFunctionNorm() < self._round_off_floor():
            reason = 1  # at the round-off floor: neither the line search nor more iterations lower it
        finite = self.tm.comm.allreduce(bool(np.all(np.isfinite(self.w.x.array))), op=MPI.LAND)
        if reason <= 0 or not finite:
            raise PhaseFieldDivergedError(f"phase field: Newton failed at t = {self.t + dt:.6g} s (dt = {dt:.3g} s, "
                                          f"SNES reason {reason}, {self.iterations} iterations)")
        change = self.max_change("xi")
        if change > self.max_xi_change:
            raise PhaseFieldDivergedError(f"phase field: xi changed by {change:.3g} > max_xi_change "
                                          f"{self.max_xi_change} at t = {self.t + dt:.6g} s (dt = {dt:.3g} s)")
        if self.pores is not None:
            try:
                self.pores.step(dt)
            except PoreEvolutionDivergedError as e:
                raise PhaseFieldDivergedError(f"phase field: {e} at t = {self.t + dt:.6g} s") from e
        return self.iterations

    def accept(self) -> dict:
        """Make the solved state the accepted one; book the step and return its diagnostics."""
        dt = float(self.dt.value)
        row = {"t": self.t + dt, "dt": dt, "newton": self.iterations, "xi_change": self.max_change("xi")}
        row["plating_current"] = self.plating_current()
        self._plated_charge += row["plating_current"] * dt
        if self.counter:
            row["leakage_current"] = self.leakage_current()
            row["electronic_current"] = self.electronic_current(self.counter)
            self._counter_charge += row["leakage_current"] * dt
        if self.anode:
            row["anode_current"] = self.anode_current()
            row["anode_potential"] = self._collector_potential(row["anode_current"])
        row["li_volume"] = self.li_volume()
        if self.pores is not None:
            row["solid_volume"] = self.pores.solid_volume()
            self.pores.accept()
        row["plated_charge"] = self._plated_charge
        row["counter_charge"] = self._counter_charge
        self.t += dt
        if self._series is not None:
            self._follow_collector(row["anode_potential"])
        self.w_old.x.array[:] = self.w.x.array
        self.counters["steps"] += 1
        self.history.append(row)
        return row

    def _round_off_floor(self) -> float:
        """The residual a converged step cannot go below: ~50 machine epsilons of the metal's
        conduction term sigma_Li^ |psi_e| (psi_e at the nodes with xi > 1/2). Behind a series
        resistance the metal's potential floats: its constant mode is held only by the weak Robin
        term against sigma_Li^ ~ 3.5e7, and where a Li bridge carries the cell's current |psi_e|
        reaches ~10 along it. In units of F C_s l0^2/t0 = 7e-3 A/m the floor is ~1e-7 to 1e-5 of a
        plating current."""
        # the electron potential at the metal's nodes (the P1 subspaces share one node numbering)
        metal = self.w.x.array[self._spaces[0][1]] > 0.5
        electrons = self._spaces[1 if self.single_ion else 2][1]
        local = float(np.max(np.abs(self.w.x.array[electrons][metal]), initial=0.0))
        psi = self.tm.comm.allreduce(local, op=MPI.MAX)
        return 50 * np.finfo(float).eps * float(self._groups["sigma_li"].value) * max(1.0, psi)

    def _follow_collector(self, potential: float) -> None:
        """Re-reference the potential unknowns to the collector's electron potential (series
        resistance only): the metal stays at psi ~ 0 however far it floats from the applied voltage
        (see the round-off note on psi in the constructor)."""
        shift = (float(self._phi_ref.value) - potential) / self._vt
        for index in (1, 2) if self.single_ion else (2,):
            dofs = self._spaces[index][1]
            self.w.x.array[dofs] += shift
        self._phi_ref.value = potential

    def reject(self) -> None:
        """Return to the accepted state."""
        self.w.x.array[:] = self.w_old.x.array
        if self.pores is not None:
            self.pores.reject()
        self.counters["rejected"] += 1

    def run(self, t_end: float, control: StepControl, *, on_step: Callable[[dict], None] | None = None,
            stop: Callable[[], bool] = lambda: False, checkpoint_dir: str | Path | None = None,
            checkpoint_every: float = 0.0, checkpoint_extra: Callable[[], dict] | None = None,
            dt_start: float | None = None) -> dict:
        """Integrate to ``t_end`` (s) with adaptive steps; ``on_step(row)`` after each accepted step,
        ``stop()`` ends the run early (e.g. on a short). Raises
        :class:`ssbx.fem.timestepping.SolveDivergedError` (after saving a checkpoint to
        ``checkpoint_dir``, if given) when the step cannot be cut further. With a ``checkpoint_dir``
        and ``checkpoint_every`` > 0 (s) it also saves one each time t passes a multiple of it, and
        one at the end; those hold the step to try next (``dt_next``, for ``dt_start`` on a
        restart). ``checkpoint_extra()`` returns the meta a caller adds to each (JSON)."""
        periodic = checkpoint_dir is not None and checkpoint_every > 0
        due = [(math.floor(self.t / checkpoint_every) + 1) * checkpoint_every if periodic else math.inf]
        saved_at = [self.t]  # a restart's start needs no checkpoint of its own

        def save(dt_next: float | None) -> str:
            meta = checkpoint_extra() if checkpoint_extra is not None else {}
            if dt_next is not None:
                meta = {**meta, "dt_next": dt_next}
            saved_at[0] = self.t
            return self.checkpoint(checkpoint_dir, meta)

        def advance(t, dt):
            try:
                self.step(dt)
            except PhaseFieldDivergedError as e:
                log.info("%s", e)
                return False
            return True

        def accept(t):
            row = self.accept()
            if on_step is not None:
                on_step(row)

        def after_step(t, dt_next):
            if t >= due[0] * (1 - 1e-12):
                save(dt_next)
                due[0] = (math.floor(t / checkpoint_every * (1 + 1e-12)) + 1) * checkpoint_every

        stats = run_adaptive(self.t, t_end, control, advance, accept, self.reject, lambda t: save(None),
                             iterations=lambda: self.iterations, stop=stop, after_step=after_step, dt_start=dt_start)
        if periodic and saved_at[0] != self.t:  # the end, unless just saved
            save(stats["final_dt"])
        return stats

    def checkpoint(self, directory: str | Path | None, meta: dict | None = None) -> str:
        """Save the accepted state (any-rank restart with :meth:`restore`), with a caller's
        ``meta`` (JSON)."""
        if directory is None:
            return "(no checkpoint directory)"
        from ssbx.fem.io import save_checkpoint

        path = Path(directory) / f"{CHECKPOINT_PREFIX}{self.t:.6g}.npz"
        own = {"t": self.t, "counters": self.counters,
               "plated_charge": self._plated_charge, "counter_charge": self._counter_charge,
               "potential_reference": float(self._phi_ref.value)}
        save_checkpoint(path, self._checkpointed(), {**(meta or {}), **own})
        return str(path)

    def restore(self, path: str | Path) -> dict:
        """Load a :meth:`checkpoint` (written on any number of ranks) as the accepted state."""
        from ssbx.fem.io import load_checkpoint

        meta = load_checkpoint(Path(path), self._checkpointed())
        self.w.x.array[:] = self.w_old.x.array
        if self.pores is not None:
            self.pores.reject()  # its accepted state is the checkpoint's
        self.t = float(meta["t"])
        self.time.value = self.t
        # running totals continue where the checkpointed run stopped
        self.counters.update(meta.get("counters", {}))
        self._plated_charge = float(meta.get("plated_charge", 0.0))
        self._counter_charge = float(meta.get("counter_charge", 0.0))
        if self._series is not None:  # the psi unknowns are relative to it
            self._phi_ref.value = float(meta.get("potential_reference", self.voltage.value))
        return meta

    def _checkpointed(self) -> dict[str, fem.Function]:
        states = {"state": self.w_old}
        if self.pores is not None:
            states["pores"] = self.pores.w_old
        return states

    # -- fields (SI) ----------------------------------------------------------------------------------
    def _collapsed(self, index: int, which: str = "new") -> tuple[fem.FunctionSpace, np.ndarray]:
        V, dofs = self._spaces[index]
        src = self.w if which == "new" else self.w_old
        return V, src.x.array[dofs]

    def _index(self, name: str) -> int:
        if name not in self.fields:
            raise PhaseFieldError(f"no field {name!r} with electrolyte {self.electrolyte!r} (fields: {self.fields})")
        return self.fields.index(name)

    def field(self, name: str) -> fem.Function:
        """A P1 Function of the current state in SI: "xi", "concentration" (c~) or
        "electronic_potential" (V), "potential" (V), "displacement" (m). The same object is
        refreshed on every call."""
        index = self._index(name)
        if index == 3 and not self.mechanics:
            raise PhaseFieldError("no displacement: the problem was built with mechanics=False")
        V, vals = self._collapsed(index)
        f = self._nodal.get(name)
        if f is None:
            f = self._nodal[name] = fem.Function(V, name=name)
        if index == 2 or (index == 1 and self.single_ion):
            f.x.array[:] = vals * self._vt + float(self._phi_ref.value)
        else:
            f.x.array[:] = vals * (LENGTH_SCALE if index == 3 else 1.0)
        return f

    def output_functions(self) -> list[fem.Function]:
        """P1 fields in SI (xi, concentration or electronic_potential, potential[, displacement][,
        solid_fraction: with pore evolution]) and, with mechanics, the DG0 hydrostatic pressure (Pa),
        refreshed from the current state: hand them to a VTXWriter once and call this again before
        every write."""
        out = [self.field(name) for name in self.fields[: 4 if self.mechanics else 3]]
        if self.pores is not None:
            out.append(self.pores.rho())
        if self.mechanics:
            if "pressure" not in self._nodal:
                self._nodal["pressure"] = fem.Function(self._dg0, name="pressure")
                points = self._dg0.element.interpolation_points
                self._pressure_expr = fem.Expression(self.hydrostatic_pressure(), points)
            self._nodal["pressure"].interpolate(self._pressure_expr)
            out.append(self._nodal["pressure"])
        return out

    def max_change(self, name: str = "xi") -> float:
        """max |new - accepted| of a field over the mesh (internal units), the same on all ranks."""
        dofs = self._spaces[self._index(name)][1]
        local = float(np.max(np.abs(self.w.x.array[dofs] - self.w_old.x.array[dofs]), initial=0.0))
        return self.tm.comm.allreduce(local, op=MPI.MAX)

    def stress(self):
        """Cauchy stress (Pa) as a 3x3 UFL tensor (mechanics only)."""
        if self._stress is None:
            raise PhaseFieldError("no stress: the problem was built with mechanics=False")
        return self.params.barrier_height * self._stress

    def hydrostatic_pressure(self):
        """-tr(sigma)/3 (Pa), UFL (positive in compression)."""
        return -ufl.tr(self.stress()) / 3

    # -- diagnostics (allreduced, SI; plane: per metre of depth) ---------------------------------------
    def li_volume(self, which: str = "new") -> float:
        """int xi dV (m^3; plane m^2): the Li volume of this model (its amount is C_s times it)."""
        return self._li[which]()

    def li_amount(self, which: str = "new") -> float:
        """C_s int xi dV (mol; plane mol/m)."""
        return self.params.site_density * self.li_volume(which)

    def li_volume_interpolated(self) -> float:
        """int h(xi) dV (m^3; plane m^2): the volume the material properties see."""
        return self._li_h()

    def ion_amount(self) -> float:
        """c0 int c~ dV (mol; plane mol/m): Li+ in the electrolyte (Nernst-Planck only)."""
        self._index("concentration")
        return self.params.bulk_concentration * self._ions()

    def plating_current(self) -> float:
        """F C_s d/dt int xi of the last step (A; plane A/m; > 0 while Li grows)."""
        return FARADAY * (self.li_amount("new") - self.li_amount("old")) / float(self.dt.value)

    def current(self, facets: Sequence[str]) -> float:
        """Conventional current (A; plane A/m) INTO the domain through facet groups with a fixed
        potential, from the assembled charge residual (exact for the discrete solution); single
        ion: Li+ and electrons together."""
        carriers = (self.W.sub(1), self.W.sub(2)) if self.single_ion else self.W.sub(2)
        return self._residual_current(self._residual, carriers, facets)

    def _residual_current(self, form, carriers, facets: Sequence[str]) -> float:
        """Current (A; plane A/m) into the domain through ``facets``: the residual of ``form`` on
        the dofs of ``carriers`` there, whose rows are charge in units of F C_s l0/t0."""
        r = residual_on_facets(self.tm, form, self.W, carriers, facets)
        return r * FARADAY * self.params.site_density * self._volume_scale / TIME_SCALE

    def anode_current(self) -> float:
        """Current (A; plane A/m) into the domain at the anode collector: from the residual with an
        ideal collector, (V - phi_e)/R_s integrated over the facets with a series resistance."""
        return self._series() if self._series is not None else self.current(self.anode)

    def anode_potential(self) -> float:
        """The electron potential of the metal at the collector (V; its facet mean): the applied
        voltage with an ideal collector; with a series resistance, less the drop across it (after
        a short most of the applied voltage drops there)."""
        return self._collector_potential(self.anode_current())

    def _collector_potential(self, current: float) -> float:
        """:meth:`anode_potential` given the :meth:`anode_current` (A; plane A/m)."""
        if self._series is None:
            return float(self.voltage.value)
        return float(self.voltage.value) - current * self.series_resistance / self._anode_area

    def leakage_current(self) -> float:
        """Current entering at the counter electrode (A; plane A/m): the ionic current drawn from it
        while Li plates, jumping by orders of magnitude once a Li path (sigma_Li) bridges the cell."""
        if not self.counter:
            raise PhaseFieldError("no counter electrode facets were given")
        if self._counter_contact is None:
            return self.current(self.counter)
        return self._residual_current(self._residual, self.W.sub(2), self.counter) + self._counter_contact()

    def electronic_current(self, facets: Sequence[str]) -> float:
        """The part of :meth:`current` through ``facets`` that the Li phase carries (the h(xi)
        sigma_Li share of the conductivity; A, plane A/m): electrons. ~0 while only the SE touches
        the facets, the whole current once Li bridges to them (the diffuse tail conducts first:
        xi ~ 1e-3 already matches the SE conductivity). Single ion: the current of the electron
        equation (through the Li phase and the SE's own electronic conductivity); through the counter
        electrode's contact resistance, if any, the current across it."""
        if self._counter_contact is not None and set(facets) == set(self.counter):
            return self._counter_contact()
        if self.single_ion:
            return self._residual_current(self._residual, self.W.sub(1), facets)
        return self._residual_current(self._electronic_residual, self.W.sub(2), facets)

    def electronic_current_density(self):
        """The electron (conventional) current density carried by the Li phase and, single ion,
        the SE's own electronic conduction: -sigma_e grad phi_e (UFL vector, A/m^2). Its flux
        through a plane between the electrodes tells an electronic short (electrons from the
        anode to the counter electrode) from Li that touches the counter electrode alone."""
        return FARADAY * self.params.site_density * LENGTH_SCALE / TIME_SCALE * self._electron_flux

    def ion_supply(self, facets: Sequence[str]) -> float:
        """Li+ entering through facet groups with a fixed concentration (mol/s; plane mol/(m s));
        Nernst-Planck only."""
        self._index("concentration")
        r = residual_on_facets(self.tm, self._residual, self.W, self.W.sub(1), facets)
        return r * self.params.bulk_concentration * self._volume_scale / TIME_SCALE

    def connectivity(self, threshold: float = 0.5, through: float | None = None) -> LiConnectivity:
        """Clusters of Li (cells with xi > ``threshold`` at the midpoint): dead Li (clusters not
        touching the anode facets) and shorts (a cluster touching anode and counter facets).
        ``through``: build the clusters from the cells with xi > ``through`` instead (e.g.
        :meth:`PhaseFieldParameters.conducting_xi`, the electron-conducting cells) while the volumes
        still count only cells with xi > ``threshold``: dead volume is then Li cut off from the
        anode's electrons, not merely separated by diffuse (xi < threshold) Li."""
        self._xi_cell.interpolate(self._xi_cell_expr)
        n_own = self.tm.mesh.topology.index_map(self.tm.mesh.topology.dim).size_local
        xi = self._xi_cell.x.array[:n_own]
        li = xi > threshold
        anode = np.concatenate([self.tm.facets(f) for f in self.anode]) if self.anode else np.zeros(0, np.int32)
        counter = np.concatenate([self.tm.facets(f) for f in self.counter]) if self.counter else np.zeros(0, np.int32)
        if self._cell_volumes is None:
            self._cell_volumes = cell_volumes(self.tm)
        marked, volumes = (li, self._cell_volumes) if through is None else \
            (xi > through, np.where(li, self._cell_volumes, 0.0))
        return li_connectivity(self.tm, marked, anode, counter, volumes)


__all__ = ["ELECTROLYTES", "FIELDS", "LENGTH_SCALE", "SINGLE_ION_FIELDS", "TIME_SCALE", "FixedField",
           "PhaseFieldDendrite", "PhaseFieldDivergedError",
           "PhaseFieldError", "PhaseFieldParameters", "Sources", "curvature_term", "double_well_slope", "elastic_terms",
           "interpolation", "interpolation_slope", "lame", "phase_property", "pore_driving_force", "scaled_groups"]
