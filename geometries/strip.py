"""A structured rectangle for verification problems: a slit or tube segment, a bar.

Body ``strip`` spans x in [0, width], y in [0, length]. Facet groups ``strip_bottom`` (y = 0),
``strip_top``, ``strip_right`` (x = width) and ``strip_left``; for ``kind="axisymmetric"`` the
left edge is the symmetry axis and is called ``axis``. No Gmsh: closed-form checks need exactly
controlled, uniformly refined meshes.
"""

from __future__ import annotations

from mpi4py import MPI

import numpy as np
from dolfinx import mesh as dmesh
from ssbx.geometries.tagged_mesh import AXISYMMETRIC, PLANE, GeometryError, TaggedMesh, require_positive


def build_strip(comm: MPI.Comm, width: float, length: float, nx: int, ny: int, kind: str = PLANE,
                diagonal: str = "crossed", x0: float = 0.0) -> TaggedMesh:
    """``x0`` shifts the strip to x in [x0, x0 + width] (e.g. a thick cylinder wall in r, z);
    an axisymmetric strip touches the axis (and names its left edge ``axis``) only for x0 = 0."""
    require_positive(width=width, length=length)
    if kind not in (AXISYMMETRIC, PLANE):
        raise GeometryError(f"geometry parameter 'kind' must be 'axisymmetric' or 'plane', got {kind!r}")
    if not (int(nx) == nx > 0 and int(ny) == ny > 0):
        raise GeometryError(f"geometry parameters 'nx', 'ny' must be positive integers, got {nx}, {ny}")
    if x0 < 0:
        raise GeometryError(f"geometry parameter 'x0' must be >= 0, got {x0}")
    msh = dmesh.create_rectangle(comm, [np.array([x0, 0.0]), np.array([x0 + width, length])], [int(nx), int(ny)],
                                 dmesh.CellType.triangle, ghost_mode=dmesh.GhostMode.shared_facet,
                                 diagonal=dmesh.DiagonalType[diagonal])
    tdim = msh.topology.dim
    ncells = msh.topology.index_map(tdim).size_local + msh.topology.index_map(tdim).num_ghosts
    cell_tags = dmesh.meshtags(msh, tdim, np.arange(ncells, dtype=np.int32), np.ones(ncells, dtype=np.int32))
    tol = 1e-10 * max(x0 + width, length)
    sides = {
        "strip_bottom": lambda x: np.abs(x[1]) < tol,
        "strip_top": lambda x: np.abs(x[1] - length) < tol,
        "strip_right": lambda x: np.abs(x[0] - x0 - width) < tol,
        ("axis" if kind == AXISYMMETRIC and x0 == 0 else "strip_left"): lambda x: np.abs(x[0] - x0) < tol,
    }
    facets, values, groups = [], [], {}
    for tag, (name, where) in enumerate(sides.items(), start=1):
        f = dmesh.locate_entities_boundary(msh, tdim - 1, where)
        facets.append(f)
        values.append(np.full(len(f), tag, dtype=np.int32))
        groups[name] = tag
    facets = np.concatenate(facets)
    order = np.argsort(facets, kind="stable")
    # corner facets do not exist in 2D (a facet is an edge), so each facet has one tag
    facet_tags = dmesh.meshtags(msh, tdim - 1, facets[order], np.concatenate(values)[order])
    msh.topology.create_connectivity(tdim - 1, tdim)
    info = {"builder": "strip", "width": width, "length": length, "nx": nx, "ny": ny, "kind": kind, "x0": x0}
    return TaggedMesh(msh, cell_tags, facet_tags, {"strip": 1}, groups, kind, info)
