"""Porous graphite interlayer between Li and SE, with tortuous pores open to the Li (2D, plane).

Stack in y (bottom to top): Li, interlayer, SE; x in [0, width]. ``pore_count`` pores, one per
lateral lane of width ``width / pore_count``, start at the Li/interlayer interface and zig-zag up to
``pore_depth_fraction * interlayer_thickness`` (centre line; the pore ends in a half-disc, or is cut
flat at the SE if the fraction is 1). Each leg is inclined so the centre-line length over the
depth equals ``tortuosity`` exactly; leg heights and the left/right choice are random (``seed``).
Joints are rounded (a disc at each bend); the outline is built exactly, so its area is analytic.
Defaults: 25 um graphite, 1.5 um pores, tortuosity 1.5 (all assumed); 10 um Li and SE slabs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from mpi4py import MPI

import gmsh
import numpy as np
from ssbx.geometries._micro import (
    UM,
    background_min,
    box_side,
    centreline_length,
    distance_field,
    occ_stroke,
    scale_mesh_to_si,
    stroke_outline,
    zigzag_centreline,
)
from ssbx.geometries.tagged_mesh import (
    PLANE,
    GeometryError,
    TaggedMesh,
    add_physical_groups,
    build,
    name_boundaries,
    require_at_least,
    require_integer,
    require_positive,
)

INTERLAYER_BODY_ORDER = ["li", "interlayer", "se", "pore"]


@dataclass(frozen=True)
class Interlayer:
    """Dimensions (m) of the Li | graphite interlayer | SE section with tortuous pores.

    ``pore_gap`` (None: half the pore diameter) is the least solid between a pore and another pore,
    another leg of itself, its lane edge, and (for fraction < 1) the SE.
    """

    width: float = 20e-6
    li_thickness: float = 10e-6
    interlayer_thickness: float = 25e-6
    se_thickness: float = 10e-6
    pore_diameter: float = 1.5e-6
    pore_count: int = 2
    tortuosity: float = 1.5
    pore_depth_fraction: float = 0.9
    seed: int = 0
    pore_gap: float | None = None

    def __post_init__(self):
        require_positive(width=self.width, li_thickness=self.li_thickness,
                         interlayer_thickness=self.interlayer_thickness, se_thickness=self.se_thickness,
                         pore_diameter=self.pore_diameter)
        if self.pore_gap is not None:
            require_positive(pore_gap=self.pore_gap)
        require_integer(1, pore_count=self.pore_count)
        require_at_least(1, tortuosity=self.tortuosity)
        if not (isinstance(self.pore_depth_fraction, (int, float)) and 0 < self.pore_depth_fraction <= 1):
            raise GeometryError(
                f"geometry parameter 'pore_depth_fraction' must lie in (0, 1], got {self.pore_depth_fraction!r}"
            )
        require_integer(seed=self.seed)
        if self.pore_diameter * self.tortuosity + self.gap >= self.lane:
            raise GeometryError(
                f"geometry parameter 'pore_diameter' ({self.pore_diameter}) does not fit its lane: "
                f"width / pore_count = {self.lane:g} m must exceed pore_diameter * tortuosity + gap "
                f"({self.pore_diameter * self.tortuosity + self.gap:g} m)"
            )
        if self.pore_depth_fraction < 1 and self.depth + self.pore_diameter / 2 + self.gap > self.interlayer_thickness:
            raise GeometryError(
                f"geometry parameter 'pore_depth_fraction' ({self.pore_depth_fraction}): the pore tip would come "
                f"closer than {self.gap:g} m to the SE; use a smaller fraction or 1 (pores open to the SE)"
            )

    @property
    def gap(self) -> float:
        return 0.5 * self.pore_diameter if self.pore_gap is None else self.pore_gap

    @property
    def lane(self) -> float:
        return self.width / self.pore_count

    @property
    def depth(self) -> float:
        """Depth of the pore centre line into the interlayer."""
        return self.pore_depth_fraction * self.interlayer_thickness

    def centrelines(self) -> list[np.ndarray]:
        """Centre-line vertices (m) of every pore; deterministic in ``seed``."""
        rng = np.random.default_rng(self.seed)
        r, out = self.pore_diameter / 2, []
        margin = r * self.tortuosity + self.gap / 2  # the mouth is r*tortuosity wide either side
        for i in range(self.pore_count):
            lo, hi = i * self.lane + margin, (i + 1) * self.lane - margin
            pts = zigzag_centreline(rng, lo / UM, hi / UM, self.li_thickness / UM, self.depth / UM, 1,
                                    self.tortuosity, self.pore_diameter / UM, self.gap / UM)
            out.append(pts * UM)
        return out


def build_interlayer(comm: MPI.Comm, params: Interlayer | None = None, mesh_size: float | None = None) -> TaggedMesh:
    """Mesh the Li | interlayer | SE section with tortuous pores (``kind="plane"``).

    Cell groups ``li``, ``interlayer``, ``se``, ``pore``. Facet groups ``li_interlayer_interface``,
    ``interlayer_se_interface``, ``interlayer_pore_interface`` (pore walls), ``li_pore_interface``
    (pore mouths), ``se_pore_interface`` (only if ``pore_depth_fraction == 1``), and ``li_bottom``,
    ``se_top``, ``{li,interlayer,se}_{left,right}``.

    ``mesh_size`` (default pore diameter / 4) applies along the pores, growing to four times that
    over three pore diameters.
    """
    p = params or Interlayer()
    h = p.pore_diameter / 4 if mesh_size is None else mesh_size
    require_positive(mesh_size=h)
    lines = p.centrelines()
    end = "cut" if p.pore_depth_fraction == 1 else "round"
    outlines = [stroke_outline(c / UM, p.pore_diameter / 2 / UM, end) for c in lines]
    pore_areas = [a * UM**2 for _, a in outlines]
    y_li, y_il = p.li_thickness, p.li_thickness + p.interlayer_thickness
    y_top = y_il + p.se_thickness

    def make_model():
        occ = gmsh.model.occ
        w = p.width / UM
        ys = [0.0, y_li / UM, y_il / UM, y_top / UM]
        layers = {b: occ.addRectangle(0, ys[i], 0, w, ys[i + 1] - ys[i])
                  for i, b in enumerate(["li", "interlayer", "se"])}
        pores = [occ_stroke(e) for e, _ in outlines]
        inputs = list(layers.items()) + [("pore", t) for t in pores]
        _, fmap = occ.fragment([(2, t) for _, t in inputs], [])
        occ.synchronize()
        body_of = {}
        for (name, _), img in sorted(zip(inputs, fmap, strict=True), key=lambda x: x[0][0] == "pore"):
            for _, t in img:  # pores last: they override the interlayer's image
                body_of[t] = name
        bodies: dict[str, list[int]] = {}
        for t, name in sorted(body_of.items()):
            bodies.setdefault(name, []).append(t)
        box = {b: ((0.0, ys[i]), (w, ys[i + 1])) for i, b in enumerate(["li", "interlayer", "se"])}
        tol = 1e-6 * ys[-1]

        def side(body, bb):
            return box_side(bb, *box[body], tol) if body in box else None

        boundaries = name_boundaries(2, body_of, INTERLAYER_BODY_ORDER, side)
        add_physical_groups(2, bodies, boundaries)
        pore_curves = sorted({abs(c[1]) for t in bodies["pore"]
                              for c in gmsh.model.getBoundary([(2, t)], oriented=False)})
        h_um, d_um = h / UM, p.pore_diameter / UM
        background_min([distance_field(pore_curves, h_um, 4 * h_um, 0.25 * d_um, 3 * d_um)], 4 * h_um)
        gmsh.model.mesh.generate(2)
        scale_mesh_to_si()

    info = {
        "builder": "interlayer",
        "kind": PLANE,
        **asdict(p),
        "pore_gap": p.gap,
        "pore_spacing": p.lane,
        "pore_depth": p.depth,
        "mesh_size": h,
        "pore_end": end,
        "pore_centrelines": [c.tolist() for c in lines],
        "pore_areas": pore_areas,
        "pore_area": float(sum(pore_areas)),
        "tortuosity_realised": [centreline_length(c) / p.depth for c in lines],
    }
    return build(comm, make_model, 2, PLANE, info)
