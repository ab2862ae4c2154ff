"""Building blocks shared by the diffuse-interface models (the Li phase field xi and the pore
field rho): the scales they are solved in, the double well g, the interpolation h, and how a
field takes its initial values (:func:`set_values`).

Both order parameters use g(s) = W s^2 (1 - s)^2 and h(s) = s^3 (6 s^2 - 15 s + 10), so a flat
interface has the profile [1 - tanh(x/delta)]/2 with delta = sqrt(2 kappa/W) and the energy
sqrt(2 kappa W)/6 (DESIGN.md B8) whichever of them it belongs to.
"""

import ufl
from dolfinx import fem, la

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


def set_values(f: fem.Function, value, what: str, error: type[Exception] = ValueError) -> None:
    """Fill ``f`` from a number, a callable of x, a UFL expression or a Function. A Function of
    another space (e.g. a DG0 pore marker for a P1 field) is projected with a lumped mass matrix,
    int value phi_i / int phi_i: a volume-weighted average around each node that stays within the
    value's bounds (interpolating it would take whichever cell is evaluated last at a vertex).
    Anything else raises ``error`` naming ``what``."""
    V = f.function_space
    if isinstance(value, (int, float)):
        f.x.array[:] = value
    elif isinstance(value, fem.Function) and value.function_space.ufl_element() != V.ufl_element():
        q = ufl.TestFunction(V)
        weighted, mass = (fem.assemble_vector(fem.form(g * q * ufl.dx)) for g in (value, 1.0))
        for b in (weighted, mass):
            b.scatter_reverse(la.InsertMode.add)
            b.scatter_forward()
        f.x.array[:] = weighted.array / mass.array
    elif isinstance(value, ufl.core.expr.Expr):  # Functions of f's own space included
        f.interpolate(fem.Expression(value, V.element.interpolation_points))
    elif callable(value):
        f.interpolate(value)
    else:
        raise error(f"{what} must be a number, callable, UFL expression or Function, got {type(value).__name__}")


__all__ = ["LENGTH_SCALE", "TIME_SCALE", "double_well", "double_well_slope", "interpolation", "interpolation_slope",
           "set_values"]
