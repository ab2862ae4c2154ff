"""Small-strain kinematics written once for plane strain, axisymmetric (r, z) and 3D.

Every strain is returned as a 3x3 UFL tensor, so constitutive laws and energies are written once
in 3D form and serve all three geometry kinds. In axisymmetric forms x[0] = r, x[1] = z, the hoop
strain is u_r/r and volumes carry the weight 2*pi*r (see :func:`volume_weight`).
"""

from __future__ import annotations

import numpy as np
import ufl

AXISYMMETRIC, PLANE, SOLID = "axisymmetric", "plane", "3d"


def strain(u, kind: str, mesh=None):
    """Symmetric small strain of displacement ``u`` as a 3x3 tensor (components r, theta, z for
    axisymmetric; x, y, z with eps_zz = 0 for plane strain). ``mesh`` is needed only when ``u``
    is a UFL expression (e.g. one block of a multi-part field) rather than a Function."""
    if kind == SOLID:
        return ufl.sym(ufl.grad(u))
    g = ufl.grad(u)
    if kind == PLANE:
        return ufl.as_tensor([[g[0, 0], 0.5 * (g[0, 1] + g[1, 0]), 0],
                              [0.5 * (g[0, 1] + g[1, 0]), g[1, 1], 0],
                              [0, 0, 0]])
    if kind == AXISYMMETRIC:
        r = ufl.SpatialCoordinate(mesh if mesh is not None else u.ufl_function_space().mesh)[0]
        # ordering (r, theta, z): in-plane (r, z) components sit at [0,0], [0,2], [2,2]
        return ufl.as_tensor([[g[0, 0], 0, 0.5 * (g[0, 1] + g[1, 0])],
                              [0, u[0] / r, 0],
                              [0.5 * (g[0, 1] + g[1, 0]), 0, g[1, 1]]])
    raise ValueError(f"unknown geometry kind {kind!r}")


def volume_weight(mesh, kind: str):
    """Integrand weight turning ``dx``/``ds`` into true volumes/areas: 2*pi*r in axisymmetry."""
    if kind == AXISYMMETRIC:
        return 2 * np.pi * ufl.SpatialCoordinate(mesh)[0]
    return 1.0


def von_mises(sigma):
    """Von Mises equivalent stress of a 3x3 stress tensor."""
    s = sigma - ufl.tr(sigma) / 3 * ufl.Identity(3)
    return ufl.sqrt(1.5 * ufl.inner(s, s))
