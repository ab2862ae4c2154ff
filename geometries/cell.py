"""The experimental cell: PTFE die tube, two stainless-steel rods, and the stack between them.

Stack, bottom to top (z upward, axis at r = 0)::

    rod_top      (SS, length rod_length)
    cathode      (NMC811 composite)
    se           (argyrodite pellet)
    interlayer   (optional porous graphite, homogenised here; micro-geometry in interlayer.py)
    li           (Li foil, pressed onto the bottom rod)
    rod_bottom   (SS)

``ptfe`` surrounds the stack from ``rod_protrusion`` above the bottom rod's lower end to
``rod_protrusion`` below the top rod's upper end. The pellet, cathode and foil fill the bore
(radius ``tube_inner_radius``); the rods may be thinner by ``rod_clearance``, which leaves the
annular gap into which Li creeps in the experiments.

Defaults (DESIGN.md section 1): 1/4 in bore; 250 um Li foil; pellet thickness from 60 mg of powder at
83 % of 1.64 g/cm3 (Singh 2022); cathode from 8 mg of composite at 80 % of 3.03 g/cm3 (70:30 wt
NMC811:Li6PS5Cl, rule of mixtures with 4.75 and 1.64 g/cm3; relative density assumed). Tube wall,
tube and rod lengths are assumed (not given in the experiments) and configurable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from mpi4py import MPI

import gmsh
import numpy as np
from ssbx.geometries.tagged_mesh import (
    AXISYMMETRIC,
    SOLID,
    GeometryError,
    TaggedMesh,
    add_physical_groups,
    box_size_field,
    build,
    name_boundaries,
    require_nonnegative,
    require_positive,
)

INCH = 0.0254
BODY_ORDER = ["rod_bottom", "li", "interlayer", "se", "cathode", "rod_top", "ptfe"]
STACK = ["rod_bottom", "li", "interlayer", "se", "cathode", "rod_top"]


def disc_thickness(mass: float, density: float, relative_density: float, radius: float) -> float:
    """Thickness (m) of a disc of ``mass`` (kg) of powder pressed to ``relative_density`` of the
    theoretical ``density`` (kg/m3) in a bore of ``radius`` (m)."""
    require_positive(mass=mass, density=density, radius=radius)
    if not 0 < relative_density <= 1:
        raise GeometryError(f"geometry parameter 'relative_density' must lie in (0, 1], got {relative_density}")
    return mass / (relative_density * density * np.pi * radius**2)


@dataclass(frozen=True)
class CellDimensions:
    """Dimensions of the experimental cell (m). Validated on construction."""

    tube_inner_radius: float = 0.125 * INCH  # 1/4 in bore (DESIGN.md section 1)
    tube_outer_radius: float = 0.25 * INCH  # 1/2 in OD tube (assumed)
    rod_length: float = 10e-3  # (assumed)
    rod_protrusion: float = 3e-3  # rod length outside the tube at each end (assumed)
    rod_clearance: float = 0.0  # radial rod/tube clearance (0 = rods fill the bore)
    li_thickness: float = 250e-6  # ~250 um foil (DESIGN.md section 1)
    interlayer_thickness: float = 0.0  # 0 = no interlayer; 25-30 um graphite when present
    se_thickness: float = disc_thickness(60e-6, 1640.0, 0.83, 0.125 * INCH)  # 60 mg, 83 % dense
    cathode_thickness: float = disc_thickness(8e-6, 3030.0, 0.80, 0.125 * INCH)  # 8 mg, 80 % dense

    def __post_init__(self):
        require_positive(
            tube_inner_radius=self.tube_inner_radius,
            tube_outer_radius=self.tube_outer_radius,
            rod_length=self.rod_length,
            li_thickness=self.li_thickness,
            se_thickness=self.se_thickness,
            cathode_thickness=self.cathode_thickness,
        )
        require_nonnegative(
            rod_protrusion=self.rod_protrusion,
            rod_clearance=self.rod_clearance,
            interlayer_thickness=self.interlayer_thickness,
        )
        if self.tube_outer_radius <= self.tube_inner_radius:
            raise GeometryError(
                f"geometry parameter 'tube_outer_radius' ({self.tube_outer_radius}) must exceed "
                f"'tube_inner_radius' ({self.tube_inner_radius})"
            )
        if self.rod_clearance >= self.tube_inner_radius:
            raise GeometryError(
                f"geometry parameter 'rod_clearance' ({self.rod_clearance}) must be smaller than "
                f"'tube_inner_radius' ({self.tube_inner_radius})"
            )
        if self.rod_protrusion >= self.rod_length:
            raise GeometryError(
                f"geometry parameter 'rod_protrusion' ({self.rod_protrusion}) must be shorter than "
                f"'rod_length' ({self.rod_length}): the rods would not reach into the tube"
            )

    @property
    def rod_radius(self) -> float:
        return self.tube_inner_radius - self.rod_clearance

    def thickness(self, body: str) -> float:
        return {
            "rod_bottom": self.rod_length,
            "li": self.li_thickness,
            "interlayer": self.interlayer_thickness,
            "se": self.se_thickness,
            "cathode": self.cathode_thickness,
            "rod_top": self.rod_length,
        }[body]

    def bodies(self) -> list[str]:
        """Stack bodies present (the interlayer only if it has a thickness)."""
        return [b for b in STACK if self.thickness(b) > 0]

    def z_ranges(self) -> dict[str, tuple[float, float]]:
        """(z_bottom, z_top) of every stack body and of the tube."""
        z, out = 0.0, {}
        for b in self.bodies():
            out[b] = (z, z + self.thickness(b))
            z += self.thickness(b)
        out["ptfe"] = (self.rod_protrusion, z - self.rod_protrusion)
        return out

    def radius(self, body: str) -> float:
        return self.rod_radius if body.startswith("rod") else self.tube_inner_radius

    def analytic_volume(self, body: str) -> float:
        z0, z1 = self.z_ranges()[body]
        if body == "ptfe":
            return np.pi * (self.tube_outer_radius**2 - self.tube_inner_radius**2) * (z1 - z0)
        return np.pi * self.radius(body) ** 2 * (z1 - z0)


@dataclass(frozen=True)
class CellMeshing:
    """Mesh sizes (m). Thin layers get ``cells_across`` elements through their thickness; the size
    grows linearly to ``size_max`` over ``transition`` away from each layer."""

    size_max: float = 0.5e-3
    cells_across: float = 2.0
    transition: float = 1.5e-3
    order: int = 1  # geometry order of the Gmsh mesh

    def __post_init__(self):
        require_positive(size_max=self.size_max, cells_across=self.cells_across, transition=self.transition)

    @classmethod
    def solid(cls) -> CellMeshing:
        """3D default: one tetrahedron across thin layers and a short transition (~180k cells for
        the default cell, ~5 s). Two across with the 2D transition gives ~1.6M cells. A 25 um
        interlayer in 3D at one cell across is ~1e5 triangles per layer face: prefer the
        axisymmetric model for layer-resolved work."""
        return cls(size_max=0.8e-3, cells_across=1.0, transition=0.5e-3)


def build_cell(
    comm: MPI.Comm,
    dims: CellDimensions | None = None,
    meshing: CellMeshing | None = None,
    kind: str = AXISYMMETRIC,
    parts: str = "all",
) -> TaggedMesh:
    """Mesh the cell in (r, z) (``kind="axisymmetric"``) or in 3D (``kind="3d"``).

    ``parts``: ``"all"`` (default), ``"stack"`` (rods and layers only: their radial boundary is
    ``<body>_outer``) or ``"tube"`` (the PTFE tube only: ``ptfe_inner`` is its bore), for models
    that mesh the tube and its contents separately (two bodies in contact). The size field is the
    same, so the tube is refined next to the thin layers of the stack.

    Cell groups: one per body of :data:`BODY_ORDER` present. Facet groups follow the scheme of
    :mod:`ssbx.geometries.tagged_mesh`, e.g. ``li_se_interface``, ``li_ptfe_interface`` (foil
    against the tube wall), ``rod_top_top`` (loaded end), ``rod_bottom_bottom`` (frame), ``axis``.
    """
    dims = dims or CellDimensions()
    meshing = meshing or (CellMeshing.solid() if kind == SOLID else CellMeshing())
    if kind not in (AXISYMMETRIC, SOLID):
        raise GeometryError(f"geometry parameter 'kind' must be 'axisymmetric' or '3d', got {kind!r}")
    if parts not in ("all", "stack", "tube"):
        raise GeometryError(f"geometry parameter 'parts' must be 'all', 'stack' or 'tube', got {parts!r}")
    zr = dims.z_ranges()

    def make_model():
        occ = gmsh.model.occ
        tags = {}
        for b in dims.bodies() if parts != "tube" else ():
            z0, z1 = zr[b]
            if kind == AXISYMMETRIC:
                tags[b] = occ.addRectangle(0, z0, 0, dims.radius(b), z1 - z0)
            else:
                tags[b] = occ.addCylinder(0, 0, z0, 0, 0, z1 - z0, dims.radius(b))
        z0, z1 = zr["ptfe"]
        if parts == "stack":
            pass
        elif kind == AXISYMMETRIC:
            tags["ptfe"] = occ.addRectangle(dims.tube_inner_radius, z0, 0,
                                            dims.tube_outer_radius - dims.tube_inner_radius, z1 - z0)
        else:
            outer = occ.addCylinder(0, 0, z0, 0, 0, z1 - z0, dims.tube_outer_radius)
            inner = occ.addCylinder(0, 0, z0, 0, 0, z1 - z0, dims.tube_inner_radius)
            tags["ptfe"] = occ.cut([(3, outer)], [(3, inner)])[0][0][1]
        dim = 2 if kind == AXISYMMETRIC else 3
        names = list(tags)
        if len(names) > 1:
            _, fmap = occ.fragment([(dim, tags[n]) for n in names], [])
        else:  # the tube alone: nothing to fragment
            fmap = [[(dim, tags[names[0]])]]
        occ.synchronize()
        bodies = {n: [e[1] for e in fmap[i]] for i, n in enumerate(names)}
        body_of = {t: n for n, ts in bodies.items() for t in ts}
        # sampled (exact) boxes: a millionth of the thinnest layer separates "flat" from "not"
        tol = 1e-6 * min(dims.thickness(b) for b in dims.bodies())

        def side(body, bb):
            x0, y0, zlo, x1, y1, zhi = bb
            if kind == AXISYMMETRIC:  # curves live in (x=r, y=z)
                rhi, lo, hi = x1, y0, y1
            else:
                rhi, lo, hi = max(abs(x0), abs(x1), abs(y0), abs(y1)), zlo, zhi
            zb, zt = zr[body]
            if hi - lo < tol:
                return "top" if abs(lo - zt) < tol else "bottom" if abs(lo - zb) < tol else None
            if kind == AXISYMMETRIC and rhi < tol:
                return "axis"
            outer_r = dims.tube_outer_radius if body == "ptfe" else dims.radius(body)
            return "outer" if abs(rhi - outer_r) < 1e-7 * outer_r + tol else "inner"

        boundaries = name_boundaries(dim, body_of, BODY_ORDER, side)
        groups = add_physical_groups(dim, bodies, boundaries)
        boxes = []
        for b in dims.bodies():
            t = dims.thickness(b)
            h = t / meshing.cells_across
            if h < meshing.size_max:
                lo = (-dims.tube_outer_radius,) * (dim - 1) + (zr[b][0],)
                hi = (dims.tube_outer_radius,) * (dim - 1) + (zr[b][1],)
                if dim == 2:
                    lo, hi = (0.0, zr[b][0]), (dims.tube_outer_radius, zr[b][1])
                boxes.append((lo, hi, h))
        box_size_field(boxes, meshing.size_max, meshing.transition)
        gmsh.model.mesh.generate(dim)
        gmsh.model.mesh.setOrder(meshing.order)
        return groups

    info = {"builder": "cell", "kind": kind, "parts": parts, **asdict(dims),
            **{f"mesh_{k}": v for k, v in asdict(meshing).items()}}
    gdim = 2 if kind == AXISYMMETRIC else 3
    return build(comm, make_model, gdim, kind, info)
