"""Interface reaction kinetics: Butler-Volmer, the Li nucleation barrier, the stress shift.

Sign convention (used by every transport form in ssbx): the overpotential of an interface is
eta = phi_s - phi_e - U, with phi_s the electronic (electrode) potential, phi_e the Li+ (SE)
potential and U the equilibrium potential vs Li/Li+ (0 for Li metal). The interface current
density i (A/m^2) is positive anodic (Li -> Li+ + e-, stripping / deintercalation) and negative
cathodic (plating / intercalation).

Every function takes ``math=np`` (numbers, arrays) or ``math=ufl`` (forms), so the laws in the
tests and in the finite-element forms are the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import ufl
from ssbx.fem.materials import FARADAY, GAS_CONSTANT


class KineticsError(ValueError):
    """Invalid kinetic parameter; the message names it."""


def thermal_voltage(temperature: float) -> float:
    """RT/F (V)."""
    return GAS_CONSTANT * temperature / FARADAY


@dataclass(frozen=True)
class ButlerVolmer:
    """i = i0 [exp(alpha_a eta / V_T) - exp(-alpha_c eta / V_T)], V_T = RT/F.

    ``exchange_current`` i0 (A/m^2): 1-5 mA/cm^2 for Li/argyrodite (DESIGN.md M3, assumed 2 mA/cm^2
    = 20 A/m^2 by default)."""

    exchange_current: float = 20.0
    alpha_a: float = 0.5
    alpha_c: float = 0.5
    temperature: float = 298.15

    def __post_init__(self):
        if not self.exchange_current > 0:
            raise KineticsError(f"exchange_current must be positive, got {self.exchange_current}")
        if not (0 < self.alpha_a < 1 and 0 < self.alpha_c < 1):
            raise KineticsError(f"alpha_a and alpha_c must lie in (0, 1), got {self.alpha_a}, {self.alpha_c}")
        if not self.temperature > 0:
            raise KineticsError(f"temperature must be positive (K), got {self.temperature}")

    @property
    def vt(self) -> float:
        return thermal_voltage(self.temperature)

    def current(self, eta, math=np, exchange_current=None):
        """Current density (A/m^2) at overpotential ``eta`` (V); ``exchange_current`` may be a
        field (e.g. scaled by a contact fraction)."""
        i0 = self.exchange_current if exchange_current is None else exchange_current
        exp = np.exp if math is np else ufl.exp
        return i0 * (exp(self.alpha_a * eta / self.vt) - exp(-self.alpha_c * eta / self.vt))

    def slope(self, eta):
        """d current / d eta (numpy)."""
        return self.exchange_current / self.vt * (self.alpha_a * np.exp(self.alpha_a * eta / self.vt)
                                                  + self.alpha_c * np.exp(-self.alpha_c * eta / self.vt))

    def overpotential(self, current):
        """Inverse of :meth:`current` (numpy). Closed form for alpha_a = alpha_c = 1/2:
        eta = 2 V_T asinh(i / (2 i0)); Newton otherwise."""
        i = np.asarray(current, dtype=float)
        if self.alpha_a == self.alpha_c == 0.5:
            return 2 * self.vt * np.arcsinh(i / (2 * self.exchange_current))
        eta = self.vt * np.arcsinh(i / (2 * self.exchange_current))
        for _ in range(60):
            step = (self.current(eta) - i) / self.slope(eta)
            eta = eta - step
            if np.all(np.abs(step) < 1e-15 * self.vt):
                break
        return eta


@dataclass(frozen=True)
class NucleationBarrier:
    """New Li0 on a Li-free surface (graphite, SE): no plating current until the cathodic
    overpotential exceeds ``barrier`` (E_n ~ 20 mV, DESIGN.md M3); after that the site is
    nucleated for good and plates with plain Butler-Volmer (no barrier)."""

    barrier: float = 0.020  # V

    def __post_init__(self):
        if not self.barrier >= 0:
            raise KineticsError(f"nucleation barrier must be >= 0 V, got {self.barrier}")

    def update(self, nucleated: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """Nucleation state after a step with overpotential ``eta`` (plating needs eta < 0): once
        True, stays True."""
        return np.logical_or(nucleated, np.asarray(eta) <= -self.barrier)

    def grow(self, state: np.ndarray, eta: np.ndarray) -> bool:
        """Update a 0/1 state array in place (nodal values of a finite-element field) from the
        overpotential at the same nodes; True if a new point nucleated."""
        before = state > 0.5
        after = self.update(before, eta)
        state[:] = np.where(after, 1.0, state)
        return bool(np.any(after & ~before))


def stress_shift(pressure, molar_volume: float = 13.0e-6):
    """Shift of the Li/Li+ equilibrium potential by a mechanical pressure p on Li metal:
    Omega_Li p / F (V), 0.135 mV/MPa for Omega = 13.0 cm^3/mol (DESIGN.md M3). A compressed Li
    electrode is raised in potential: plating there costs that much more overpotential."""
    return molar_volume * pressure / FARADAY


def plated_thickness(charge_per_area: float, molar_volume: float = 13.0e-6) -> float:
    """Thickness (m) of dense Li from a plated charge per area (C/m^2): Omega q / F
    (1 mAh/cm^2 = 3.6e4 C/m^2 -> 4.85 um, DESIGN.md section 1)."""
    return molar_volume * charge_per_area / FARADAY


def symmetric_cell_voltage(current: float, thickness: float, conductivity: float, kinetics: ButlerVolmer) -> float:
    """DESIGN.md B7: Li | SE | Li at current density i: V = i L / sigma + 2 eta_BV(i), with
    eta_BV = 2 V_T asinh(i / 2 i0) for alpha = 1/2 (one electrode strips, the other plates)."""
    return current * thickness / conductivity + 2 * float(kinetics.overpotential(current))


__all__ = ["ButlerVolmer", "KineticsError", "NucleationBarrier", "plated_thickness", "stress_shift",
           "symmetric_cell_voltage", "thermal_voltage"]
