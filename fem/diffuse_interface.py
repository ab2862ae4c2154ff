"""Building blocks shared by the diffuse-interface models (the Li phase field xi and the pore
field rho): the scales they are solved in, the double well g and the interpolation h.

Both order parameters use g(s) = W s^2 (1 - s)^2 and h(s) = s^3 (6 s^2 - 15 s + 10), so a flat
interface has the profile [1 - tanh(x/delta)]/2 with delta = sqrt(2 kappa/W) and the energy
sqrt(2 kappa W)/6 (DESIGN.md B8) whichever of them it belongs to.
"""

LENGTH_SCALE = 1e-6  # l0 (m)
TIME_SCALE = 1.0  # t0 (s)


def interpolation(s):
    """h(s) = s^3 (6 s^2 - 15 s + 10): h(0) = 0, h(1) = 1, h' = h'' = 0 at both ends."""
    return s**3 * (6 * s**2 - 15 * s + 10)


def interpolation_slope(s):
    """h'(s) = 30 s^2 (1 - s)^2."""
    return 30 * s**2 * (1 - s) ** 2


def double_well(s):
    """g(s)/W = s^2 (1 - s)^2."""
    return s**2 * (1 - s) ** 2


def double_well_slope(s):
    """g'(s)/W = 2 s (1 - s)(1 - 2 s)."""
    return 2 * s * (1 - s) * (1 - 2 * s)


__all__ = ["LENGTH_SCALE", "TIME_SCALE", "double_well", "double_well_slope", "interpolation", "interpolation_slope"]
