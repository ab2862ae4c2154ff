"""Frictionless unilateral contact of a deformable body against a rigid obstacle (penalty).

The cell-assembly route of DESIGN.md M2: the tube's deformed inner wall is an obstacle surface
r_w(z) for the contents (updated from the tube's own solve in a staggered loop), and the axially
stacked faces are obstacles for each other. Here the building block: a body face ``facets`` may
not pass an obstacle lying at the gap g0(x) ahead of it along a fixed direction d (unit vector
from the body toward the obstacle). With the penetration h = u.d - g0 the contact traction on the
body is -kappa <h>_+ d: it acts only where the face touches (the gap opens freely on unloading),
and the residual term kappa <h>_+ (v.d) is semismooth, so Newton with the derivative of <.>_+
(a step function) converges in a few iterations once the contact set settles.

kappa = ``penalty`` E / h_cell: the penetration under a contact pressure p is p / kappa
(p h / (penalty E), a discretisation-size error that the tests bound); the force balance is
exact for any kappa.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ufl
from ssbx.fem import kinematics
from ssbx.fem.boundary import integrate, measure
from ssbx.geometries.tagged_mesh import TaggedMesh


@dataclass(frozen=True)
class RigidObstacle:
    """The body face ``facets`` against an obstacle at the gap ``gap(x)`` (UFL of the spatial
    coordinate, m) along ``direction``."""

    facets: tuple[str, ...]
    gap: Callable
    direction: tuple[float, ...]

    def __post_init__(self):
        norm = sum(c * c for c in self.direction) ** 0.5
        if abs(norm - 1.0) > 1e-12:
            raise ValueError(f"obstacle direction must be a unit vector, got {self.direction}")


def penetration(tm: TaggedMesh, u, obstacle: RigidObstacle):
    d = ufl.as_vector([float(c) for c in obstacle.direction])
    return ufl.dot(u, d) - obstacle.gap(ufl.SpatialCoordinate(tm.mesh))


def contact_pressure(tm: TaggedMesh, u, obstacle: RigidObstacle, stiffness: float, cell_size=None):
    """Contact pressure (Pa, >= 0) as a UFL expression of the displacement. The normal stiffness
    is ``stiffness / cell_size`` (Pa/m); ``cell_size=None`` uses the cell diameter, a number (m)
    gives a mesh-independent spring (e.g. ``cell_size=1`` and ``stiffness`` in Pa/m)."""
    h = ufl.CellDiameter(tm.mesh) if cell_size is None else cell_size
    return stiffness / h * ufl.max_value(penetration(tm, u, obstacle), 0.0)


def contact_residual(tm: TaggedMesh, u, v, obstacles: Sequence[RigidObstacle], stiffness: float, cell_size=None):
    """Residual term (added to the body's virtual work) of the frictionless unilateral contacts.
    ``stiffness`` = penalty x a modulus of the body (Pa); ``cell_size`` as in :func:`contact_pressure`."""
    wt = kinematics.volume_weight(tm.mesh, tm.kind)
    form = 0
    for ob in obstacles:
        d = ufl.as_vector([float(c) for c in ob.direction])
        form += (contact_pressure(tm, u, ob, stiffness, cell_size) * ufl.dot(v, d) * wt
                 * measure(tm, facets=ob.facets))
    return form


def contact_force(tm: TaggedMesh, u, obstacle: RigidObstacle, stiffness: float, cell_size=None) -> float:
    """Total normal force (N; plane: N/m) the obstacle exerts on the body, over all ranks."""
    return integrate(tm, contact_pressure(tm, u, obstacle, stiffness, cell_size), facets=obstacle.facets)
