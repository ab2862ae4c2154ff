"""The container every builder returns, and the one Gmsh -> DOLFINx conversion they share.

Physical groups are addressed by *name* everywhere in ssbx. Names follow one scheme:

* a body (cell group): ``"li"``, ``"se"``, ``"ptfe"``, ``"rod_top"``, ``"pore"``, ...
* an interface between bodies ``a`` and ``b`` (``a`` before ``b`` in the builder's body order):
  ``"a_b_interface"``, e.g. ``"li_se_interface"``;
* an exterior boundary piece of body ``a``: ``"a_top"``, ``"a_bottom"``, ``"a_outer"``,
  ``"a_inner"``, ``"a_left"``, ``"a_right"``; the symmetry axis of an axisymmetric mesh is ``"axis"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from mpi4py import MPI

import gmsh
import numpy as np
from dolfinx import graph
from dolfinx import mesh as dmesh
from dolfinx.io import gmsh as dgmsh

AXISYMMETRIC = "axisymmetric"
PLANE = "plane"
SOLID = "3d"
GEOMETRY_KINDS = (AXISYMMETRIC, PLANE, SOLID)


class GeometryError(ValueError):
    """A geometric parameter is invalid; the message names it."""


class MissingGroupError(KeyError):
    """A physics asked for a physical group the mesh does not have."""

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0])


@dataclass(frozen=True)
class TaggedMesh:
    """A DOLFINx mesh with cell/facet tags and the name -> tag map of its physical groups.

    ``kind`` is ``"axisymmetric"`` (x[0] = r, x[1] = z), ``"plane"`` or ``"3d"``.
    ``info`` carries the builder's resolved dimensions (SI) for output metadata and checks.
    """

    mesh: dmesh.Mesh
    cell_tags: dmesh.MeshTags
    facet_tags: dmesh.MeshTags
    cell_groups: dict[str, int]
    facet_groups: dict[str, int]
    kind: str
    info: dict = field(default_factory=dict)

    @property
    def comm(self) -> MPI.Comm:
        return self.mesh.comm

    def cell_tag(self, name: str) -> int:
        return _lookup(self.cell_groups, name, "cell")

    def facet_tag(self, name: str) -> int:
        return _lookup(self.facet_groups, name, "facet")

    def facet_tags_of(self, names: Iterable[str]) -> tuple[int, ...]:
        """Tags of several facet groups, e.g. for ``ds(tags)``."""
        return tuple(self.facet_tag(n) for n in names)

    def require(self, cells: Iterable[str] = (), facets: Iterable[str] = ()) -> None:
        """Raise :class:`MissingGroupError` naming every group a physics needs but the mesh lacks."""
        missing = [f"cell group '{n}'" for n in cells if n not in self.cell_groups]
        missing += [f"facet group '{n}'" for n in facets if n not in self.facet_groups]
        if missing:
            raise MissingGroupError(
                f"mesh is missing {', '.join(missing)}; it has cell groups {sorted(self.cell_groups)} "
                f"and facet groups {sorted(self.facet_groups)}"
            )

    def cells(self, name: str) -> np.ndarray:
        """Local (owned and ghost) cell indices of a cell group."""
        return self.cell_tags.find(self.cell_tag(name))

    def facets(self, name: str) -> np.ndarray:
        return self.facet_tags.find(self.facet_tag(name))


def _lookup(groups: dict[str, int], name: str, what: str) -> int:
    try:
        return groups[name]
    except KeyError:
        raise MissingGroupError(
            f"no {what} group named '{name}'; available: {sorted(groups)}"
        ) from None


def require_positive(**values: float) -> None:
    """Raise :class:`GeometryError` naming the first parameter that is not a positive number."""
    for name, v in values.items():
        if not (isinstance(v, (int, float)) and np.isfinite(v) and v > 0):
            raise GeometryError(f"geometry parameter '{name}' must be positive, got {v!r}")


def require_at_least(minimum: float, **values: float) -> None:
    """Raise :class:`GeometryError` naming the first parameter that is not a number >= minimum."""
    for name, v in values.items():
        if not (isinstance(v, (int, float)) and np.isfinite(v) and v >= minimum):
            raise GeometryError(f"geometry parameter '{name}' must be >= {minimum:g}, got {v!r}")


def require_nonnegative(**values: float) -> None:
    require_at_least(0, **values)


def require_integer(minimum: int | None = None, **values) -> None:
    """Raise :class:`GeometryError` naming the first parameter that is not an integer (>= minimum)."""
    for name, v in values.items():
        if not (isinstance(v, (int, np.integer)) and (minimum is None or v >= minimum)):
            bound = "" if minimum is None else f" >= {minimum}"
            raise GeometryError(f"geometry parameter '{name}' must be an integer{bound}, got {v!r}")


def require_fraction(**values: float) -> None:
    """Porosities and fractions live in the open interval (0, 1)."""
    for name, v in values.items():
        if not (isinstance(v, (int, float)) and 0 < v < 1):
            raise GeometryError(f"geometry parameter '{name}' must lie in (0, 1), got {v!r}")


# --------------------------------------------------------------------------------------------
# Gmsh side (rank 0 of the communicator only)
# --------------------------------------------------------------------------------------------


def name_boundaries(
    dim: int,
    body_of: dict[int, str],
    order: list[str],
    exterior_side: Callable[[str, tuple[float, ...]], str | None],
) -> dict[str, list[int]]:
    """Group the (dim-1)-entities of a fragmented OCC model by the naming scheme above.

    ``body_of`` maps each dim-entity tag to its body name; ``exterior_side(body, bbox)`` names the
    side of an exterior piece from its bounding box (or returns None to leave it untagged).
    """
    groups: dict[str, list[int]] = {}
    for _, b in gmsh.model.getEntities(dim - 1):
        up, _ = gmsh.model.getAdjacencies(dim - 1, b)
        bodies = sorted({body_of[int(e)] for e in up if int(e) in body_of}, key=order.index)
        if len(bodies) == 2:
            name = f"{bodies[0]}_{bodies[1]}_interface"
        elif len(bodies) == 1:
            side = exterior_side(bodies[0], true_bbox(dim - 1, b))
            if side is None:
                continue
            name = side if side == "axis" else f"{bodies[0]}_{side}"
        else:
            continue  # an interface inside one body (fragment leftovers) carries no name
        groups.setdefault(name, []).append(b)
    return groups


def true_bbox(dim: int, tag: int, samples: int = 17) -> tuple[float, ...]:
    """Bounding box (xmin, ymin, zmin, xmax, ymax, zmax) from points sampled on the entity's curves.

    Gmsh pads its own boxes by 1e-7 (absolute), which is larger than a feature of a µm-scale pore.
    """
    if dim == 0:
        p = gmsh.model.getValue(0, tag, [])
        return (*p, *p)
    curves = [tag] if dim == 1 else sorted({abs(c[1]) for c in gmsh.model.getBoundary(
        [(dim, tag)], combined=False, oriented=False, recursive=False)} if dim == 2 else {
        abs(c[1]) for s in gmsh.model.getBoundary([(dim, tag)], combined=False, oriented=False)
        for c in gmsh.model.getBoundary([s], combined=False, oriented=False)})
    pts = []
    for c in curves:
        lo, hi = gmsh.model.getParametrizationBounds(1, c)
        t = np.linspace(lo[0], hi[0], samples)
        pts.append(np.asarray(gmsh.model.getValue(1, c, t)).reshape(-1, 3))
    pts = np.vstack(pts)
    return (*pts.min(axis=0), *pts.max(axis=0))


def add_physical_groups(
    dim: int, bodies: dict[str, list[int]], boundaries: dict[str, list[int]]
) -> tuple[dict[str, int], dict[str, int]]:
    """Create Gmsh physical groups with stable tags (bodies 1.., facets 101..) in sorted name order."""
    cell_groups, facet_groups = {}, {}
    for i, (name, ents) in enumerate(sorted(bodies.items()), start=1):
        gmsh.model.addPhysicalGroup(dim, ents, tag=i, name=name)
        cell_groups[name] = i
    for i, (name, ents) in enumerate(sorted(boundaries.items()), start=101):
        gmsh.model.addPhysicalGroup(dim - 1, ents, tag=i, name=name)
        facet_groups[name] = i
    return cell_groups, facet_groups


def build(
    comm: MPI.Comm,
    make_model: Callable[[], None],
    gdim: int,
    kind: str,
    info: dict,
    verbose: bool = False,
) -> TaggedMesh:
    """Run ``make_model`` (which builds, tags and meshes the current Gmsh model) on rank 0 of
    ``comm`` and distribute the result over ``comm``.

    Gmsh is process-global; each sub-communicator of a sweep builds its own model on its own
    rank 0, so ranks never share a model.
    """
    own_init = not gmsh.isInitialized()
    if own_init:
        gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 1 if verbose else 0)
        err = None
        if comm.rank == 0:
            gmsh.model.add(f"ssbx_{kind}")
            try:
                make_model()
            except Exception as e:  # report on every rank, not a hang on the others
                err = e
        err = comm.bcast(err, root=0)
        if err is not None:
            raise err
        # Ghost the cells across shared facets: interface terms (dS) on partition boundaries need
        # both neighbours, and the default partitioner builds no ghost cells.
        partitioner = dmesh.create_cell_partitioner(graph.partitioner(), dmesh.GhostMode.shared_facet, 2)
        md = dgmsh.model_to_mesh(gmsh.model, comm, rank=0, gdim=gdim, partitioner=partitioner)
        if comm.rank == 0:
            gmsh.model.remove()
    finally:
        if own_init:
            gmsh.finalize()
    groups = {name: (pg.dim, pg.tag) for name, pg in md.physical_groups.items()}
    tdim = md.mesh.topology.dim
    cell_groups = {n: t for n, (d, t) in groups.items() if d == tdim}
    facet_groups = {n: t for n, (d, t) in groups.items() if d == tdim - 1}
    md.mesh.topology.create_connectivity(tdim - 1, tdim)
    md.cell_tags.name, md.facet_tags.name = "cells", "facets"
    return TaggedMesh(md.mesh, md.cell_tags, md.facet_tags, cell_groups, facet_groups, kind, info)


def box_size_field(
    boxes: list[tuple[tuple[float, ...], tuple[float, ...], float]],
    size_max: float,
    transition: float,
) -> None:
    """Background size: ``size`` inside each (lo, hi) box, growing linearly to ``size_max`` over
    ``transition`` outside it. This is what resolves 25 um layers in a millimetre cell without
    refining the whole cell."""
    fields = []
    for lo, hi, size in boxes:
        f = gmsh.model.mesh.field.add("Box")
        lo3, hi3 = (tuple(lo) + (0.0,) * 3)[:3], (tuple(hi) + (0.0,) * 3)[:3]
        for key, val in zip(("XMin", "YMin", "ZMin", "XMax", "YMax", "ZMax"), lo3 + hi3, strict=True):
            gmsh.model.mesh.field.setNumber(f, key, val)
        gmsh.model.mesh.field.setNumber(f, "VIn", size)
        gmsh.model.mesh.field.setNumber(f, "VOut", size_max)
        gmsh.model.mesh.field.setNumber(f, "Thickness", transition)
        fields.append(f)
    if fields:
        fmin = gmsh.model.mesh.field.add("Min")
        gmsh.model.mesh.field.setNumbers(fmin, "FieldsList", fields)
        gmsh.model.mesh.field.setAsBackgroundMesh(fmin)
    gmsh.option.setNumber("Mesh.MeshSizeMax", size_max)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)


def group_volume(tm: TaggedMesh, name: str) -> float:
    """Volume of a cell group: area x 2 pi r for axisymmetric meshes, area for plane, volume in 3D."""
    import ufl
    from dolfinx import fem

    dx = ufl.Measure("dx", domain=tm.mesh, subdomain_data=tm.cell_tags)
    w = 2 * np.pi * ufl.SpatialCoordinate(tm.mesh)[0] if tm.kind == AXISYMMETRIC else 1.0
    local = fem.assemble_scalar(fem.form(w * dx(tm.cell_tag(name))))
    return tm.comm.allreduce(local, op=MPI.SUM)


def group_measure(tm: TaggedMesh, name: str) -> float:
    """Area of a facet group (2 pi r weighted for axisymmetric meshes)."""
    import ufl
    from dolfinx import fem

    ds = ufl.Measure("ds", domain=tm.mesh, subdomain_data=tm.facet_tags)
    dS = ufl.Measure("dS", domain=tm.mesh, subdomain_data=tm.facet_tags)
    x = ufl.SpatialCoordinate(tm.mesh)
    w = 2 * np.pi * x[0] if tm.kind == AXISYMMETRIC else 1.0
    tag = tm.facet_tag(name)
    ext = fem.assemble_scalar(fem.form(w * ds(tag)))
    wi = 2 * np.pi * ufl.avg(x[0]) if tm.kind == AXISYMMETRIC else 1.0
    inner = fem.assemble_scalar(fem.form(wi * dS(tag)))
    return tm.comm.allreduce(ext + inner, op=MPI.SUM)
