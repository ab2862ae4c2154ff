"""Graphite as a Li host (the MIEC interlayer): diffusivity D(x) and open-circuit potential U(x)
of Li_x C_6, x in [0, 1]. Functions take ``math=np`` or ``math=ufl``.

Sources:
* D(x) = 8.4e-13 exp(-11.3 x) + 8.2e-15 m^2/s: Ecker et al., J. Electrochem. Soc. 162 (2015)
  A1836 (fit quoted in DESIGN.md M3); ~1e-9 cm^2/s at Li0.1C6 falling to ~1e-11 cm^2/s at LiC6.
* U(x): Safari & Delacourt, J. Electrochem. Soc. 158 (2011) A562, graphite fit (V vs Li/Li+).
* c_max = 31,000 mol/m^3 (DESIGN.md M3; LiC6 at 2.26 g/cm^3 gives 31.3e3).
"""

from __future__ import annotations

import numpy as np
import ufl

C_MAX = 31_000.0  # mol/m^3, DESIGN.md M3

# Safari & Delacourt 2011: U = a0 + a1 exp(-k x) + sum_j b_j tanh((x - x_j) / w_j)
_SD_CONST, _SD_EXP, _SD_RATE = 0.6379, 0.5416, 305.5309
_SD_TANH = ((-0.044, 0.1958, 0.1088),  # 0.044 tanh(-(x - 0.1958)/0.1088)
            (-0.1978, 1.0571, 0.0854),
            (-0.6875, -0.0117, 0.0529),
            (-0.0175, 0.5692, 0.0875))


def diffusivity(x, math=np):
    """Ecker 2015: D(x) (m^2/s) of Li in Li_x C_6."""
    exp = np.exp if math is np else ufl.exp
    return 8.4e-13 * exp(-11.3 * x) + 8.2e-15


def open_circuit_potential(x, math=np):
    """Safari & Delacourt 2011: U(x) (V vs Li/Li+) of Li_x C_6. Steep at x -> 0, ~0.08-0.2 V on
    the staging plateaus, ~0.01 V near LiC6: graphite intercalates before Li plates (U > 0)
    until nearly full."""
    exp, tanh = (np.exp, np.tanh) if math is np else (ufl.exp, ufl.tanh)
    u = _SD_CONST + _SD_EXP * exp(-_SD_RATE * x)
    for b, x0, w in _SD_TANH:
        u = u + b * tanh((x - x0) / w)
    return u


def open_circuit_slope(x, math=np):
    """dU/dx (V) of :func:`open_circuit_potential`, analytically; negative for all x in
    [0, 1.02] (largest value -0.019 V at x = 0.76, on the stage-2 plateau)."""
    exp, tanh = (np.exp, np.tanh) if math is np else (ufl.exp, ufl.tanh)
    du = -_SD_EXP * _SD_RATE * exp(-_SD_RATE * x)
    for b, x0, w in _SD_TANH:
        du = du + (b / w) * (1.0 - tanh((x - x0) / w) ** 2)
    return du
