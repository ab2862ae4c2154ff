"""Parametric Gmsh builders. Each returns a :class:`TaggedMesh`; no physics lives here."""

from ssbx.geometries.cell import BODY_ORDER, STACK, CellDimensions, CellMeshing, build_cell, disc_thickness
from ssbx.geometries.tagged_mesh import (
    AXISYMMETRIC,
    PLANE,
    SOLID,
    GeometryError,
    MissingGroupError,
    TaggedMesh,
    group_measure,
    group_volume,
)

__all__ = [
    "AXISYMMETRIC",
    "BODY_ORDER",
    "PLANE",
    "SOLID",
    "STACK",
    "CellDimensions",
    "CellMeshing",
    "GeometryError",
    "MissingGroupError",
    "TaggedMesh",
    "build_cell",
    "disc_thickness",
    "group_measure",
    "group_volume",
]
