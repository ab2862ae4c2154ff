"""Boundary-condition specifications shared by the mechanics and flow problems.

They name facet groups (never integer tags); each problem turns them into DOLFINx objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import fem, la
from ssbx.fem import kinematics
from ssbx.geometries.tagged_mesh import TaggedMesh


@dataclass(frozen=True)
class FixedComponent:
    """u_i = value on facet groups (i: 0 = r/x, 1 = z/y, ...). ``value`` (SI) is a number, or a
    Constant when it changes between solves (e.g. a prescribed plunger speed)."""

    facets: tuple[str, ...]
    component: int
    value: float | fem.Constant = 0.0


@dataclass(frozen=True)
class NormalPressure:
    """Traction -p n on facet groups; ``pressure`` (Pa) is a Constant so it can change in time."""

    facets: tuple[str, ...]
    pressure: fem.Constant


def measure(tm: TaggedMesh, cells: Sequence[str] = (), facets: Sequence[str] = (), interior: bool = False,
            degree: int | None = None):
    """dx over named cell groups, or ds (dS if ``interior``) over named facet groups. ``degree``
    fixes the quadrature degree (else UFL estimates it per integrand): a residual and the
    integrals that keep its books must use the same rule to balance to round-off."""
    md = {} if degree is None else {"quadrature_degree": degree}
    if cells:
        return ufl.Measure("dx", domain=tm.mesh, subdomain_data=tm.cell_tags,
                           metadata=md)(tuple(tm.cell_tag(c) for c in cells))
    if facets:
        kind = "dS" if interior else "ds"
        return ufl.Measure(kind, domain=tm.mesh, subdomain_data=tm.facet_tags, metadata=md)(tm.facet_tags_of(facets))
    return ufl.Measure("dx", domain=tm.mesh, metadata=md)


def compiled_integral(tm: TaggedMesh, expr, cells: Sequence[str] = (), facets: Sequence[str] = (),
                      interior: bool = False, degree: int | None = None) -> Callable[[], float]:
    """:func:`integrate` compiled once, for integrals evaluated at every step of a time loop:
    call the result to assemble with the current values of the Functions in ``expr``."""
    w = kinematics.volume_weight(tm.mesh, tm.kind)
    form = fem.form(expr * w * measure(tm, cells, facets, interior, degree))
    return lambda: tm.comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM)


def integrate(tm: TaggedMesh, expr, cells: Sequence[str] = (), facets: Sequence[str] = (),
              interior: bool = False) -> float:
    """Integral with true volume/area weighting (2 pi r in axisymmetry), summed over ranks."""
    return compiled_integral(tm, expr, cells, facets, interior)()


def residual_on_facets(tm: TaggedMesh, residual: fem.Form, space, subspace, facets: Sequence[str]) -> float:
    """The assembled ``residual`` (a compiled form on ``space``) tested with the function that is
    1 on the dofs of ``subspace`` (or of each subspace in a sequence: their sum, from one
    assembly) on the facet groups and 0 elsewhere, summed over ranks. At a converged solution this
    is the flux or traction through those facets, exact for the discrete solution (unlike an
    integral of a gradient or of a discontinuous stress on the boundary)."""
    z = fem.Function(space)
    ents = np.unique(np.concatenate([tm.facets(f) for f in facets]))
    for sub in subspace if isinstance(subspace, (list, tuple)) else (subspace,):
        z.x.array[fem.locate_dofs_topological(sub, tm.mesh.topology.dim - 1, ents)] = 1.0
    b = fem.assemble_vector(residual)
    b.scatter_reverse(la.InsertMode.add)
    n = space.dofmap.index_map.size_local * space.dofmap.index_map_bs
    return tm.comm.allreduce(float(np.dot(b.array[:n], z.x.array[:n])), op=MPI.SUM)
