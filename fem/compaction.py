"""Cold compaction of the argyrodite SE powder: Shima-Oyane plasticity with the relative density as
hardening variable, porous elastic moduli E(rho), return mapping at quadrature points.

Why Shima-Oyane (and not modified Cam-Clay or Drucker-Prager Cap)
------------------------------------------------------------------
* One smooth ellipsoidal yield surface in (p, q), so the implicit return mapping is a 2x2 Newton
  per point (multiplier and density) and the consistent tangent has no corners. The Cap model
  has a shear line, a cap and a transition surface (corner return mappings) and needs triaxial
  data (cohesion, friction angle, cap eccentricity, hardening table) we do not have for
  argyrodite powders; Cam-Clay softens on the dry side of critical state and hardens on
  ln p, a soil law that does not turn into the incompressible dense solid.
* The only state variable is the relative density rho, the quantity the experiments report
  (83 % after pressing). As rho -> 1 the pressure term vanishes and the surface becomes von
  Mises with yield stress sigma_M: the dense SE is a plastically incompressible solid.
* Closed forms exist for the two paths used to calibrate and verify it: closed-die (uniaxial
  strain) compaction in the rigid-plastic limit and isostatic compaction (exact with elasticity).
Its limitation: the surface is symmetric in p, so the model gives the powder a tensile strength
equal to its compressive one (cohesionless loose powder has none). The cell-assembly load path
is compressive; points in tension are reported by a positive mean stress, not cut off.

Equations (SI; sigma in Pa, p = tr(sigma)/3 < 0 in compression, q von Mises)
--------------------------------------------------------------------------
    yield      Phi = q^2 + c(rho)^2 p^2 - rho^(2n) sigma_M^2 <= 0,   c(rho) = alpha (1 - rho)^gamma
    flow       d eps^p = d lambda dPhi/dsigma = d lambda (3 s + (2/3) c^2 p 1)          (associated)
    density    rho (1 + tr eps^p) = rho_0                      (mass in the small-strain volume)
    elasticity sigma = C(rho) : (eps - eps^p),  E(rho) = E_dense rho^k,  nu constant

The density law is exact mass conservation for the small-strain kinematics the finite elements
use (volume J = 1 + tr eps), so an unloaded die-compacted pellet has the thickness
h0 (1 + eps_z) = h0 rho_0 / rho that its mass demands. ``relative_density`` is the density of the
*unloaded* material (the one measured on an ejected pellet); under load the elastic volume change
tr(eps - eps^p) compresses it further. The elastic law is secant (stress is a function of the
elastic strain and rho), so unloading is linear with the current E(rho) and the spring-back of a
point is exactly C(rho)^-1 sigma. Hardening comes only from densification (rho^2n grows, c falls):
the matrix (dense-particle) yield stress sigma_M is constant.

Backward-Euler return mapping: with the trial elastic strain e_tr = C(rho_n)^-1 sigma_n + d eps
(deviator e_d, volume e_v, omega^2 = 3/2 e_d.e_d) and Lambda = d lambda sigma_M, the update is
radial in the deviator and closed in p:
    s = 2G(rho) e_d / (1 + 6 G(rho) Lambda / sigma_M),   p = K(rho) e_v / (1 + 2 K(rho) c^2 Lambda / sigma_M)
leaving two scalar equations (yield and density) in (Lambda, rho) solved by Newton per point,
vectorised over points. The consistent tangent follows by implicit differentiation of the two
equations (verified against finite differences in tests/test_compaction.py).

Closed forms
------------
* Closed die, rigid-plastic limit (E -> inf, plastic strain purely axial): the normal must have
  no lateral component, 3 s_r + (2/3) c^2 p = 0, so q = (2/3) c^2 |p| and on the surface
      |p| = rho^n sigma_M / (c sqrt(1 + 4c^2/9)),  sigma_z = p (1 + 4c^2/9),  sigma_r = p (1 - 2c^2/9),
      eps_z = rho_0/rho - 1.
  The backward-Euler update reproduces this exactly for any step size when E -> inf.
  Lateral stress is compressive only while c^2 < 9/2 (checked for the fill density).
* Isostatic compaction (exact, any E): s = 0, so c |p| = rho^n sigma_M and
      p(rho) = -rho^n sigma_M / c(rho),   tr eps = rho_0/rho - 1 + p(rho) / K(rho).

Calibration (argyrodite, defaults of :class:`PowderCompaction`)
---------------------------------------------------------------
* Dense moduli: E = 22 GPa, nu = 0.37 (DESIGN.md M2, ``materials.LIBRARY["li6ps5cl"]``); nu held
  constant over rho (assumed).
* E(rho) = E_dense rho^3 (assumed; the power-law porosity dependence of pressed and porous
  ceramics, k ~ 2-4 -- ~ Rice's E_0 exp(-b P) with b ~ 3-4 over P < 0.3): 12.6 GPa at rho = 0.83.
* alpha = 2.49, gamma = 0.514: Shima & Oyane's fit for sintered copper (Int. J. Mech. Sci. 18
  (1976) 285) as commonly quoted, kept for the shape of the surface (assumed for argyrodite). It
  gives closed-die lateral/axial stress ratios 0.18 (rho = 0.55) to 0.54 (rho = 0.83), the
  range of powders in dies.
* n = 5 (assumed, the order of Shima & Oyane's density exponent): loose fill starts to densify at
  ~30 MPa in the die.
* rho_0 = 0.55: tap/fill density of the loose powder (assumed; 0.5-0.6 for fine powders).
* sigma_M: from the closed-die closed form so that 300 MPa gives rho = 0.83, the density of the
  60 mg, 1.39 mm pellet of the experiment (DESIGN.md section 1 and geometries/cell.py).
  :meth:`PowderCompaction.calibrated` reproduces it: sigma_M = 634.35 MPa. Singh 2022 report
  ~83 % after 362 MPa, where this calibration gives 0.853; the pellet the cell geometry is built
  from sets the target, and ``PowderCompaction.calibrated(0.83, 362e6)`` is the alternative.
* Resulting closed-die curve: 0.61 at 50 MPa, 0.69 at 100 MPa, 0.78 at 200 MPa, 0.83 at 300 MPa,
  0.89 at 500 MPa, 0.95 at 1 GPa, 0.992 at 3 GPa; initial die yield 28.7 MPa. With the real
  (finite) elasticity the die path reaches 0.8301 at 300 MPa (elastic strains barely change the
  plastic flow direction), and the pellet springs back by 300 MPa / (K + 4G/3) = 1.4 % axially.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from ssbx.fem.materials import Material
from ssbx.fem.plasticity import P_DEV, M, equivalent_stress, isotropic_matrix, mean_stress

_DESIGN = "DESIGN.md M2 (dense argyrodite)"
_SHIMA = "Shima & Oyane, Int. J. Mech. Sci. 18 (1976) 285 (sintered Cu fit, assumed for argyrodite)"


@dataclass(frozen=True)
class PowderCompaction:
    """Shima-Oyane compaction law with porous elasticity for a powder of relative density rho.

    A :class:`ssbx.fem.plasticity.ConstitutiveLaw`: internal variables per quadrature point are
    the plastic strain (Mandel, 4), the relative density of the unloaded material and the
    accumulated plastic strain sqrt(2/3)|eps^p| (sum of increments). Defaults: argyrodite
    Li6PS5Cl powder calibrated to 0.83 at 300 MPa closed-die pressing (see the module docstring).
    """

    dense_youngs_modulus: float = 22e9  # Pa, E of the dense solid (DESIGN.md M2)
    poisson_ratio: float = 0.37  # -, dense value held constant (DESIGN.md M2; constancy assumed)
    modulus_exponent: float = 3.0  # -, E(rho) = E_dense rho^k (assumed, porous ceramics k ~ 2-4)
    matrix_yield_stress: float = 634.35e6  # Pa, sigma_M; calibrated: 0.83 at 300 MPa closed die
    shape_coefficient: float = 2.49  # -, alpha in c = alpha (1 - rho)^gamma (Shima & Oyane 1976)
    shape_exponent: float = 0.514  # -, gamma (Shima & Oyane 1976)
    density_exponent: float = 5.0  # -, n in rho^(2n) sigma_M^2 (assumed)
    initial_density: float = 0.55  # -, tap/fill density of the loose powder (assumed)
    sources: tuple[tuple[str, str], ...] = (
        ("dense_youngs_modulus", _DESIGN), ("poisson_ratio", _DESIGN + "; constant over rho (assumed)"),
        ("modulus_exponent", "power-law porosity dependence of pressed ceramics, k ~ 2-4 (assumed)"),
        ("matrix_yield_stress", "calibrated: closed-die 300 MPa -> 0.83 (DESIGN.md section 1 pellet)"),
        ("shape_coefficient", _SHIMA), ("shape_exponent", _SHIMA),
        ("density_exponent", "(assumed) loose fill starts densifying at ~30 MPa in a die"),
        ("initial_density", "tap density of fine powders 0.5-0.6 (assumed)"),
    )

    state_names: ClassVar[tuple[str, ...]] = (
        "plastic_strain_0", "plastic_strain_1", "plastic_strain_2", "plastic_strain_3",
        "relative_density", "equivalent_plastic_strain",
    )

    #: local solve: tolerance on the normalised yield and mass residuals
    tolerance: ClassVar[float] = 1e-12

    def __post_init__(self):
        def bad(name: str, rule: str):
            raise ValueError(f"PowderCompaction.{name} must be {rule}, got {getattr(self, name)!r}")

        for name in ("dense_youngs_modulus", "matrix_yield_stress", "shape_coefficient", "shape_exponent",
                     "density_exponent"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                bad(name, "a positive finite number")
        if not (isinstance(self.modulus_exponent, (int, float)) and 0 <= self.modulus_exponent < 20):
            bad("modulus_exponent", "in [0, 20)")
        if not (isinstance(self.poisson_ratio, (int, float)) and -1 < self.poisson_ratio < 0.5):
            bad("poisson_ratio", "in (-1, 0.5)")
        if not (isinstance(self.initial_density, (int, float)) and 0 < self.initial_density < 1):
            bad("initial_density", "a relative density in (0, 1)")
        c0 = self.shape_coefficient * (1 - self.initial_density) ** self.shape_exponent
        if c0**2 >= 4.5:
            raise ValueError(
                f"PowderCompaction.shape_coefficient: alpha (1 - rho_0)^gamma = {c0:.3g} >= 3/sqrt(2) makes the "
                "closed-die lateral stress tensile at the fill density; lower shape_coefficient or raise "
                "initial_density")

    # -- construction -----------------------------------------------------------------------------
    @classmethod
    def from_material(cls, dense: Material, **fields) -> PowderCompaction:
        """The law with the dense moduli of a library material (e.g. ``get_material("li6ps5cl")``)."""
        dense.require("youngs_modulus", "poisson_ratio")
        return cls(dense_youngs_modulus=dense.youngs_modulus, poisson_ratio=dense.poisson_ratio, **fields)

    @classmethod
    def calibrated(cls, density: float, axial_stress: float, **fields) -> PowderCompaction:
        """The law whose closed-die (rigid-plastic) path reaches ``density`` at the axial
        compressive stress ``axial_stress`` (Pa, > 0); sigma_M follows in closed form because the
        die stress is proportional to it."""
        unit = cls(**{**fields, "matrix_yield_stress": 1.0})
        if not unit.initial_density < density < 1:
            raise ValueError(f"calibration density must lie in (initial_density, 1), got {density}")
        if not axial_stress > 0:
            raise ValueError(f"calibration axial_stress must be a positive compressive stress (Pa), got {axial_stress}")
        per_unit = -unit.die_compaction_stresses(density)[0]
        return dataclasses.replace(unit, matrix_yield_stress=float(axial_stress / per_unit))

    # -- material functions of rho -------------------------------------------------------------------
    def youngs_modulus(self, rho):
        """E(rho) = E_dense rho^k (Pa)."""
        return self.dense_youngs_modulus * np.asarray(rho, dtype=float) ** self.modulus_exponent

    def shear(self, rho):
        return self.youngs_modulus(rho) / (2 * (1 + self.poisson_ratio))

    def bulk(self, rho):
        return self.youngs_modulus(rho) / (3 * (1 - 2 * self.poisson_ratio))

    def constrained_modulus(self, rho):
        """Oedometric modulus K + 4G/3 (Pa): axial unloading stiffness of a pellet held in a die."""
        return self.bulk(rho) + 4 * self.shear(rho) / 3

    def pressure_coefficient(self, rho):
        """c(rho) = alpha (1 - rho)^gamma, weight of the mean stress in the yield function."""
        return self.shape_coefficient * (1 - np.asarray(rho, dtype=float)) ** self.shape_exponent

    def yield_function(self, sig: np.ndarray, rho) -> np.ndarray:
        """Phi / (rho^n sigma_M)^2 for rows of Mandel stresses: 0 on the surface, < 0 inside."""
        y = np.asarray(rho, dtype=float) ** self.density_exponent * self.matrix_yield_stress
        return (equivalent_stress(sig) ** 2 + (self.pressure_coefficient(rho) * mean_stress(sig)) ** 2) / y**2 - 1

    # -- closed forms --------------------------------------------------------------------------------
    def die_compaction_stresses(self, rho):
        """(axial, lateral) stress (Pa, negative) of rigid-plastic closed-die compaction at density rho."""
        c = self.pressure_coefficient(rho)
        p = -np.asarray(rho, dtype=float) ** self.density_exponent * self.matrix_yield_stress / (
            c * np.sqrt(1 + 4 * c**2 / 9))
        return p * (1 + 4 * c**2 / 9), p * (1 - 2 * c**2 / 9)

    def die_compaction_strain(self, rho):
        """Axial strain (negative) of rigid-plastic closed-die compaction to density rho."""
        return self.initial_density / np.asarray(rho, dtype=float) - 1

    def die_compaction_density(self, axial_stress: float) -> float:
        """Density reached by rigid-plastic closed-die compaction under ``axial_stress`` (Pa, > 0
        in compression); the fill density below the initial yield stress. Bisection on the
        monotonic closed form."""
        lo, hi = self.initial_density, 1 - 1e-15
        if -self.die_compaction_stresses(lo)[0] >= axial_stress:
            return lo
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if -self.die_compaction_stresses(mid)[0] < axial_stress else (lo, mid)
        return 0.5 * (lo + hi)

    def hydrostatic_pressure(self, rho):
        """Mean stress p (Pa, negative) of isostatic compaction at density rho (exact)."""
        return -np.asarray(rho, dtype=float) ** self.density_exponent * self.matrix_yield_stress / (
            self.pressure_coefficient(rho))

    def hydrostatic_volumetric_strain(self, rho):
        """Total volumetric strain tr(eps) of isostatic compaction at density rho (exact, elastic
        part included)."""
        return self.initial_density / np.asarray(rho, dtype=float) - 1 + self.hydrostatic_pressure(rho) / self.bulk(rho)

    # -- ConstitutiveLaw ----------------------------------------------------------------------------------
    def initial_state(self, n: int) -> np.ndarray:
        state = np.zeros((n, 6))
        state[:, 4] = self.initial_density
        return state

    def elastic_matrix(self, state: np.ndarray | None = None) -> np.ndarray:
        rho = self.initial_density if state is None else state[:, 4]
        return isotropic_matrix(self.bulk(rho), self.shear(rho))

    def update(self, sig_old: np.ndarray, state_old: np.ndarray, deps: np.ndarray):
        """Backward-Euler return mapping (module docstring) for rows of Mandel vectors.

        Local solve: 2x2 Newton in (Lambda, rho) with rho kept inside its physical bracket
        (between rho_n and the density reached if the whole trial volume strain were plastic, and
        below 1); points it leaves unconverged (very large increments) go through a safeguarded
        Newton-bisection on the yield residual along the mass constraint, then a 2x2 polish.
        Points that still fail get NaN stresses (the solid reports that on every rank)."""
        eps_p, rho_n, acc = state_old[:, :4], state_old[:, 4], state_old[:, 5]
        K_n, G_n = self.bulk(rho_n), self.shear(rho_n)
        p_n = mean_stress(sig_old)
        # secant elasticity: the elastic strain of the accepted state is C(rho_n)^-1 sigma_n
        e_tr = (sig_old @ P_DEV) / (2 * G_n[:, None]) + (p_n / (3 * K_n))[:, None] * M + deps
        C_n = isotropic_matrix(K_n, G_n)
        sig = np.einsum("nij,nj->ni", C_n, e_tr)
        state = state_old.copy()
        tangent = C_n
        plastic = self.yield_function(sig, rho_n) > self.tolerance
        if np.any(plastic):
            # iterates of points that have converged or are being bracketed may divide by zero;
            # they are masked, and a point that ends non-finite is reported as failed
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                s_pl, st_pl, t_pl = self._plastic(e_tr[plastic], eps_p[plastic], rho_n[plastic], acc[plastic])
            sig[plastic], state[plastic], tangent[plastic] = s_pl, st_pl, t_pl
        return sig, state, tangent

    def _plastic(self, e_tr, eps_p, rho_n, acc):
        """Return mapping of the points whose trial state lies outside the surface."""
        sm, k, n2 = self.matrix_yield_stress, self.modulus_exponent, 2 * self.density_exponent
        alpha, gam, tol = self.shape_coefficient, self.shape_exponent, self.tolerance
        e_d = e_tr @ P_DEV
        e_v = e_tr @ M
        w2 = 1.5 * np.einsum("ni,ni->n", e_d, e_d)
        J_n = 1 + eps_p @ M
        m_n = rho_n * J_n  # conserved: rho (1 + tr eps^p)
        Gd = self.dense_youngs_modulus / (2 * (1 + self.poisson_ratio)) / sm  # stresses in units of sigma_M
        Kd = self.dense_youngs_modulus / (3 * (1 - 2 * self.poisson_ratio)) / sm

        def terms(lam, rho):
            """Residuals (yield, mass) and their Jacobian in (Lambda, rho)."""
            G, K = Gd * rho**k, Kd * rho**k
            c = alpha * (1 - rho) ** gam
            dc = -gam * c / (1 - rho)
            a = 2 * G / (1 + 6 * G * lam)  # s = a e_d
            b = K / (1 + 2 * K * c**2 * lam)  # p = b e_v
            a_l, a_r = -3 * a**2, a**2 * k / (2 * G * rho)
            b_l, b_r = -2 * c**2 * b**2, b**2 * (k / (K * rho) - 4 * c * dc * lam)
            p = b * e_v
            R = np.stack([a**2 * w2 + (c * p) ** 2 - rho**n2,
                          rho * (J_n + 2 * lam * c**2 * p) / m_n - 1])
            Jac = np.empty((2, 2, len(rho)))
            Jac[0, 0] = 2 * a * w2 * a_l + 2 * c**2 * p * e_v * b_l
            Jac[0, 1] = 2 * a * w2 * a_r + 2 * c * dc * p**2 + 2 * c**2 * p * e_v * b_r - n2 * rho ** (n2 - 1)
            Jac[1, 0] = rho / m_n * (2 * c**2 * p + 2 * lam * c**2 * e_v * b_l)
            Jac[1, 1] = (J_n + 2 * lam * c**2 * p + rho * 2 * lam * e_v * (2 * c * dc * b + c**2 * b_r)) / m_n
            return R, Jac, (a, b, c, p, a_l, a_r, b_l, b_r)

        def converged(R, rho):
            return (np.abs(R[0]) <= tol * rho**n2) & (np.abs(R[1]) <= tol)

        # The density is bracketed: it moves from rho_n toward the value at which the whole trial
        # volume strain would be plastic (and stays below 1); the yield residual is > 0 at rho_n.
        rho_all_plastic = np.where(J_n + e_v > 0, m_n / (J_n + e_v), np.inf)
        far = np.clip(rho_all_plastic, 1e-300, 1.0)  # the end of the bracket where yield is < 0

        def inside(rho, new):
            """Newton iterate if it lies strictly between rho_n and ``far``, else halfway to the bound."""
            lo, hi = np.minimum(rho_n, far), np.maximum(rho_n, far)
            bound = np.where(new >= hi, hi, lo)
            return np.where((new > lo) & (new < hi), new, 0.5 * (rho + bound))

        def newton(lam, rho, iterations):
            done = np.zeros(len(rho), dtype=bool)
            for _ in range(iterations):
                R, Jac, _ = terms(lam, rho)
                done = converged(R, rho)
                if done.all():
                    break
                det = Jac[0, 0] * Jac[1, 1] - Jac[0, 1] * Jac[1, 0]
                lam_new = lam - (Jac[1, 1] * R[0] - Jac[0, 1] * R[1]) / det
                rho_new = rho - (Jac[0, 0] * R[1] - Jac[1, 0] * R[0]) / det
                lam = np.where(done, lam, np.where(lam_new < 0, 0.5 * lam, lam_new))
                rho = np.where(done, rho, inside(rho, rho_new))
            return lam, rho, done

        def lam_of_rho(rho):
            """Multiplier that satisfies the mass equation exactly at density rho (closed form)."""
            T = m_n / rho - J_n  # plastic volume change needed to reach rho
            X = T / (Kd * rho**k * (e_v - T))  # = 2 c^2 Lambda
            return np.where(T == 0, 0.0, X / (2 * alpha**2 * (1 - rho) ** (2 * gam)))

        lam, rho, done = newton(np.zeros(len(rho_n)), rho_n.copy(), 25)
        if not done.all():
            # Large increments (e.g. a plunger jump to GPa): 2x2 Newton may wander. Safeguarded
            # Newton on the scalar yield residual along the mass constraint, keeping a sign
            # bracket [pos (yield > 0), neg], then a 2x2 polish for the consistent tangent.
            pos, neg = rho_n.copy(), far.copy()
            r = np.where(done, rho, 0.5 * (rho_n + far))
            for _ in range(200):
                R, Jac, _ = terms(lam_of_rho(r), r)
                ok = done | (np.abs(R[0]) <= tol * r**n2) | (np.abs(pos - neg) <= 4e-16 * r)
                if ok.all():
                    break
                pos, neg = np.where(R[0] > 0, r, pos), np.where(R[0] > 0, neg, r)
                slope = -(Jac[0, 0] * Jac[1, 1] - Jac[0, 1] * Jac[1, 0]) / Jac[1, 0]  # d R1/d rho on R2 = 0
                new = r - R[0] / slope
                between = (new - pos) * (new - neg) < 0
                r = np.where(ok, r, np.where(between, new, 0.5 * (pos + neg)))
            lam, rho = np.where(done, lam, lam_of_rho(r)), np.where(done, rho, r)
            lam, rho, done = newton(lam, rho, 10)
        R, Jac, (a, b, c, p, a_l, a_r, b_l, b_r) = terms(lam, rho)
        done = (np.abs(R[0]) <= 10 * tol * rho**n2) & (np.abs(R[1]) <= 10 * tol)
        s = a[:, None] * e_d
        sig = sm * (s + p[:, None] * M)
        d_eps_p = lam[:, None] * (3 * s + (2 / 3) * (c**2 * p)[:, None] * M)
        state = np.column_stack([eps_p + d_eps_p, rho,
                                 acc + np.sqrt(2 / 3) * np.linalg.norm(d_eps_p, axis=1)])
        # consistent tangent: d sigma/d eps at fixed (lam, rho), plus the change of (lam, rho)
        # through the two local equations (implicit function theorem)
        dsig_dx = np.stack([a_l[:, None] * e_d + (b_l * e_v)[:, None] * M,
                            a_r[:, None] * e_d + (b_r * e_v)[:, None] * M], axis=2)  # (n, 4, 2)
        dR_de = np.stack([3 * a[:, None] ** 2 * e_d + (2 * c**2 * b * p)[:, None] * M,
                          (rho / m_n * 2 * lam * c**2 * b)[:, None] * M], axis=1)  # (n, 2, 4)
        dx_de = -np.linalg.solve(np.moveaxis(Jac, 2, 0), dR_de)
        tangent = sm * (a[:, None, None] * P_DEV + b[:, None, None] * np.outer(M, M)
                        + np.einsum("nik,nkj->nij", dsig_dx, dx_de))
        bad = ~done | ~np.isfinite(lam) | ~np.isfinite(rho)
        sig[bad] = np.nan
        return sig, state, tangent
