"""Parametric Gmsh builders. Each returns a :class:`TaggedMesh`; no physics lives here."""

from ssbx.geometries.cell import BODY_ORDER, STACK, CellDimensions, CellMeshing, build_cell, disc_thickness
from ssbx.geometries.interlayer import INTERLAYER_BODY_ORDER, Interlayer, build_interlayer
from ssbx.geometries.pore_channel import PORE_CHANNEL_BODY_ORDER, PoreChannel, build_pore_channel
from ssbx.geometries.porous import POROUS_BODY_ORDER, PorousSE, build_porous_se
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
    "CellDimensions",
    "CellMeshing",
    "GeometryError",
    "INTERLAYER_BODY_ORDER",
    "Interlayer",
    "MissingGroupError",
    "PLANE",
    "PORE_CHANNEL_BODY_ORDER",
    "POROUS_BODY_ORDER",
    "PoreChannel",
    "PorousSE",
    "SOLID",
    "STACK",
    "TaggedMesh",
    "build_cell",
    "build_interlayer",
    "build_pore_channel",
    "build_porous_se",
    "disc_thickness",
    "group_measure",
    "group_volume",
]
