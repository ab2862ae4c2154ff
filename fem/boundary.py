"""Boundary-condition specifications shared by the mechanics and flow problems.

They name facet groups (never integer tags); each problem turns them into DOLFINx objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mpi4py import MPI

import ufl
from dolfinx import fem
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


def measure(tm: TaggedMesh, cells: Sequence[str] = (), facets: Sequence[str] = (), interior: bool = False):
    """dx over named cell groups, or ds (dS if ``interior``) over named facet groups."""
    if cells:
        return ufl.Measure("dx", domain=tm.mesh, subdomain_data=tm.cell_tags)(tuple(tm.cell_tag(c) for c in cells))
    if facets:
        kind = "dS" if interior else "ds"
        return ufl.Measure(kind, domain=tm.mesh, subdomain_data=tm.facet_tags)(tm.facet_tags_of(facets))
    return ufl.Measure("dx", domain=tm.mesh)


def integrate(tm: TaggedMesh, expr, cells: Sequence[str] = (), facets: Sequence[str] = (),
              interior: bool = False) -> float:
    """Integral with true volume/area weighting (2 pi r in axisymmetry), summed over ranks."""
    w = kinematics.volume_weight(tm.mesh, tm.kind)
    form = fem.form(expr * w * measure(tm, cells, facets, interior))
    return tm.comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM)
