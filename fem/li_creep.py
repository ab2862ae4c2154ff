"""Li-metal creep and yield: the constitutive laws shared by every Li model in ssbx.

Equivalent (von Mises) creep rate ``rate = B f(sigma_e)`` with ``B = A exp(-Q/RT)``:

* ``norton``:   f = sigma^n                                  (power-law creep, LePage 2019)
* ``garofalo``: f = (sinh(alpha sigma) / alpha)^n            (same low-stress limit as Norton;
  exponential above power-law breakdown sigma ~ 1/alpha, ~2.8 MPa = 1e-3 G for Li)

With a yield stress sigma_y the law becomes Perzyna overstress: ``rate = B f(<sigma_e - sigma_y>)``.
In a flow model that is exactly a Herschel-Bulkley material with flow stress
``sigma_y + f^-1(rate / B)``, which is how :func:`CreepLaw.flow_stress` is written.

The prefactor A is not typed in but fitted (:func:`fit_norton_prefactor`) to Masias' secondary
creep rates, so the fit is reproducible and changes with n, Q and T consistently. Every function
takes a ``math`` backend (numpy or ufl) so the same law serves quadrature-point return mappings
and UFL variational forms.

The size effect (Xu et al. 2017: micrometre Li pillars yield at ~100 MPa, strength ~ d^-0.68 at
room temperature) is :class:`SizeDependentYield`; it is what turns extrusion of Li into
micrometre pores into a threshold phenomenon.
"""

from __future__ import annotations

import math as _math
from dataclasses import dataclass, field, replace

import numpy as np
import ufl
from ssbx.fem.materials import GAS_CONSTANT

MPA = 1e6
ROOM_TEMPERATURE = 298.15  # K (assumed for the room-temperature creep data)

_MASIAS = "Masias et al., J. Mater. Sci. 54 (2019) 2585"
_LEPAGE = "LePage et al., J. Electrochem. Soc. 166 (2019) A89"
_XU = "Xu et al., PNAS 114 (2017) 57 (1.4 um pillar ~100 MPa; exponent -0.68 at room temperature)"

#: Masias 2019 secondary creep rates of bulk Li at room temperature: (stress Pa, rate 1/s).
MASIAS_SECONDARY_CREEP = ((0.2 * MPA, 2.0e-7), (0.6 * MPA, 3.89e-4))

FORMS = ("norton", "garofalo")


class CreepLawError(ValueError):
    """An invalid creep-law parameter; the message names it."""


def fit_norton_prefactor(data, exponent: float, activation_energy: float, temperature: float) -> float:
    """Least-squares (in log space) Norton prefactor A (1/s/Pa^n) for fixed n and Q.

    ``data`` is a sequence of (stress Pa, strain rate 1/s). With n fixed the log-space fit is the
    mean of ln(rate) - n ln(stress), corrected by Q/RT to the reference prefactor."""
    s = np.array([d[0] for d in data], dtype=float)
    r = np.array([d[1] for d in data], dtype=float)
    if np.any(s <= 0) or np.any(r <= 0):
        raise CreepLawError("creep data must have positive stresses and rates")
    ln_b = float(np.mean(np.log(r) - exponent * np.log(s)))
    return _math.exp(ln_b + activation_energy / (GAS_CONSTANT * temperature))


def _numpy(x):
    return isinstance(x, (int, float, np.ndarray, np.floating))


@dataclass(frozen=True)
class CreepLaw:
    """Creep/viscoplastic law in SI (Pa, 1/s, J/mol, K). ``prefactor`` is A in 1/s/Pa^n."""

    prefactor: float
    exponent: float
    activation_energy: float
    temperature: float = ROOM_TEMPERATURE
    form: str = "norton"
    breakdown_stress: float = 2.8 * MPA  # 1/alpha of the Garofalo form
    yield_stress: float = 0.0  # Perzyna threshold; 0 = pure creep
    sources: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        for name in ("prefactor", "exponent", "activation_energy", "temperature", "breakdown_stress"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and np.isfinite(v) and v > 0):
                raise CreepLawError(f"creep law parameter '{name}' must be a positive number, got {v!r}")
        if self.exponent < 1:
            raise CreepLawError(f"creep law parameter 'exponent' must be >= 1, got {self.exponent}")
        if not (np.isfinite(self.yield_stress) and self.yield_stress >= 0):
            raise CreepLawError(f"creep law parameter 'yield_stress' must be >= 0, got {self.yield_stress}")
        if self.form not in FORMS:
            raise CreepLawError(f"creep law parameter 'form' must be one of {FORMS}, got {self.form!r}")

    @property
    def B(self) -> float:
        """Temperature-compensated prefactor A exp(-Q/RT) (1/s/Pa^n)."""
        return self.prefactor * _math.exp(-self.activation_energy / (GAS_CONSTANT * self.temperature))

    @property
    def shear_rate_factor(self) -> float:
        """c in gamma_dot = c tau^n for simple shear (Norton): c = 3^((n+1)/2) B (DESIGN B5)."""
        return 3 ** ((self.exponent + 1) / 2) * self.B

    def at(self, **changes) -> CreepLaw:
        """A copy with some parameters changed (e.g. ``law.at(temperature=333.15)``)."""
        return replace(self, **changes)

    def strain_rate(self, sigma_e, math=np):
        """Equivalent creep rate for equivalent stress ``sigma_e`` (Perzyna: of the overstress)."""
        over = sigma_e - self.yield_stress
        if math is np:
            over = np.maximum(over, 0.0)
        else:
            over = ufl.max_value(over, 0.0)
        if self.form == "norton":
            return self.B * over**self.exponent
        a = 1.0 / self.breakdown_stress
        sinh = np.sinh if math is np else ufl.sinh
        return self.B * (sinh(a * over) / a) ** self.exponent

    def flow_stress(self, rate, math=np, yield_stress=None):
        """Equivalent stress carried at equivalent strain rate ``rate`` (inverse of strain_rate).

        ``yield_stress`` replaces the law's own threshold, e.g. by a size-dependent field."""
        sy = self.yield_stress if yield_stress is None else yield_stress
        x = (rate / self.B) ** (1.0 / self.exponent)
        if self.form == "norton":
            return sy + x
        a = 1.0 / self.breakdown_stress
        log, sqrt = (np.log, np.sqrt) if math is np else (ufl.ln, ufl.sqrt)
        return sy + log(a * x + sqrt((a * x) ** 2 + 1)) / a  # asinh, written for UFL too

    def flow_stress_slope(self, rate):
        """d(flow_stress)/d(rate) (numpy), for consistent tangents."""
        x = (rate / self.B) ** (1.0 / self.exponent)
        dx = x / (self.exponent * rate)
        if self.form == "norton":
            return dx
        a = 1.0 / self.breakdown_stress
        return dx / np.sqrt((a * x) ** 2 + 1)


@dataclass(frozen=True)
class SizeDependentYield:
    """sigma_y(d) = bulk + (reference - bulk) (d_ref / d)^m: bulk strength for large d, the pillar
    strength at d_ref, power-law size effect in between (d: the size of the deforming region)."""

    bulk: float = 0.8 * MPA
    reference_stress: float = 100 * MPA
    reference_size: float = 1.4e-6
    exponent: float = 0.68
    sources: dict = field(default_factory=lambda: {
        "bulk": _MASIAS + " (0.73-0.81 MPa)", "reference_stress": _XU, "reference_size": _XU, "exponent": _XU,
    }, compare=False)

    def __post_init__(self):
        for name in ("bulk", "reference_stress", "reference_size", "exponent"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and np.isfinite(v) and v > 0):
                raise CreepLawError(f"size-dependent yield parameter '{name}' must be positive, got {v!r}")
        if self.reference_stress < self.bulk:
            raise CreepLawError("size-dependent yield: 'reference_stress' must be >= 'bulk'")

    def __call__(self, size):
        if _numpy(size) and np.any(np.asarray(size) <= 0):
            raise CreepLawError(f"size-dependent yield needs a positive size, got {size!r}")
        return self.bulk + (self.reference_stress - self.bulk) * (self.reference_size / size) ** self.exponent


def li_creep(temperature: float = ROOM_TEMPERATURE, form: str = "norton", yield_stress: float = 0.0) -> CreepLaw:
    """Bulk Li: n = 6.6, Q = 37 kJ/mol (LePage 2019), A fitted to Masias' two secondary rates."""
    n, q = 6.6, 37e3
    a = fit_norton_prefactor(MASIAS_SECONDARY_CREEP, n, q, ROOM_TEMPERATURE)
    return CreepLaw(a, n, q, temperature, form, yield_stress=yield_stress, sources={
        "exponent": _LEPAGE, "activation_energy": _LEPAGE,
        "prefactor": f"fitted to {_MASIAS} secondary creep rates 2.0e-7 1/s at 0.2 MPa, 3.89e-4 1/s at 0.6 MPa",
        "breakdown_stress": "sigma/G ~ 1e-3 (power-law breakdown), ssbx DESIGN.md M1",
    })


def li_mg10_creep(temperature: float = ROOM_TEMPERATURE, form: str = "norton", yield_stress: float = 0.0) -> CreepLaw:
    """Li-Mg (10 at.% Mg): solid-solution strengthened Li; Li's n and Q with the creep rate at a
    given stress 10x lower (assumed: no secondary-creep data for this alloy in our sources)."""
    law = li_creep(temperature, form, yield_stress)
    return replace(law, prefactor=law.prefactor / 10, sources={
        **law.sources, "prefactor": "Li fit / 10 (assumed, solid-solution strengthening)"})


#: name -> (creep law factory, bulk yield strength Pa, source of that yield)
CREEP_MATERIALS = {
    "li": (li_creep, 0.8 * MPA, _MASIAS),
    "li_mg10": (li_mg10_creep, 1.6 * MPA, "2x Li (assumed)"),
}


def creep_law_for(material: str, temperature: float = ROOM_TEMPERATURE, form: str = "norton",
                  yield_stress: float = 0.0, where: str = "material") -> CreepLaw:
    key = str(material).lower()
    if key not in CREEP_MATERIALS:
        raise CreepLawError(f"{where}: no creep law for material {material!r}; known: {sorted(CREEP_MATERIALS)}")
    return CREEP_MATERIALS[key][0](temperature, form, yield_stress)


def radial_return(sigma_trial, shear_modulus: float, dt: float, law: CreepLaw, yield_stress=None, tol=1e-12):
    """Backward-Euler J2 return for a rate-dependent law, vectorised over points.

    Solves sigma_trial - 3 G dp = flow_stress(dp/dt) for the equivalent plastic/creep strain
    increment dp >= 0 (0 where sigma_trial is at or below the yield). Returns (dp, slope) with
    slope = d(flow_stress)/d(dp) at the solution, for the consistent tangent. Bracketed Newton on
    g(dp) = sigma_trial - 3 G dp - flow_stress(dp/dt), monotone decreasing in dp."""
    st = np.asarray(sigma_trial, dtype=float)
    sy = law.yield_stress if yield_stress is None else np.broadcast_to(yield_stress, st.shape)
    active = st > sy * (1 + 1e-14)
    dp = np.zeros_like(st)
    slope = np.zeros_like(st)
    if not np.any(active):
        return dp, slope
    s_a = st[active]
    sy_a = sy[active] if np.ndim(sy) else sy
    three_g = 3 * shear_modulus
    lo = np.zeros_like(s_a)
    hi = (s_a - sy_a) / three_g  # dp at which the elastic predictor is fully relaxed to the yield
    # start from the creep rate at the trial overstress, capped inside the bracket
    x = np.minimum(dt * law.at(yield_stress=0.0).strain_rate(s_a - sy_a, np), 0.5 * hi)
    x = np.maximum(x, 1e-20 * hi)
    for _ in range(200):
        g = s_a - three_g * x - law.flow_stress(x / dt, np, sy_a)
        dg = -three_g - law.flow_stress_slope(x / dt) / dt
        lo = np.where(g > 0, x, lo)
        hi = np.where(g < 0, x, hi)
        x_new = x - g / dg
        bad = (x_new <= lo) | (x_new >= hi) | ~np.isfinite(x_new)
        # bisect in log space when Newton leaves the bracket (rates span many decades)
        x_new = np.where(bad, np.sqrt(np.maximum(lo, 1e-20 * hi) * hi), x_new)
        done = np.abs(x_new - x) <= tol * np.maximum(x, 1e-300)
        x = x_new
        if np.all(done):
            break
    dp[active] = x
    slope[active] = law.flow_stress_slope(x / dt) / dt
    return dp, slope
