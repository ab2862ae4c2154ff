"""A single pore channel below a Li reservoir: Li creeping into a pore under stack pressure.

The reservoir ``reservoir`` fills y in [0, reservoir_height]; the channel ``channel`` hangs below
the mouth at y = 0 down to y = -pore_depth. ``kind="axisymmetric"``: x = r, a straight channel
r in [0, pore_diameter/2] and the reservoir r in [0, reservoir_width/2]. ``kind="plane"``: the
reservoir spans x in [-reservoir_width/2, reservoir_width/2]; the channel is straight (x in
[-d/2, d/2]) or a zig-zag of the given tortuosity (centre-line length / depth, exact; random legs
from ``seed``, rounded joints, mouth centred at x = 0, cut flat at the bottom) staying under the
reservoir. Defaults: 1.5 um pore, 25 um deep (an interlayer thickness), 10 um wide and 5 um high
reservoir (assumed).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from mpi4py import MPI

import gmsh
import numpy as np
from ssbx.geometries._micro import (
    UM,
    centreline_length,
    occ_stroke,
    scale_mesh_to_si,
    stroke_outline,
    uniform_size,
    zigzag_centreline,
)
from ssbx.geometries.tagged_mesh import (
    AXISYMMETRIC,
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

PORE_CHANNEL_BODY_ORDER = ["reservoir", "channel"]
SHAPES = ("straight", "tortuous")


@dataclass(frozen=True)
class PoreChannel:
    """Dimensions (m) of the reservoir + channel model. Validated on construction.

    ``tortuosity`` is used by ``shape="tortuous"`` only; ``wall_gap`` (None: half the pore
    diameter) is the least solid between non-adjacent legs of a tortuous channel and between the
    channel and the reservoir's lateral extent.
    """

    pore_diameter: float = 1.5e-6
    pore_depth: float = 25e-6
    reservoir_width: float = 10e-6
    reservoir_height: float = 5e-6
    shape: str = "straight"
    tortuosity: float = 1.5
    kind: str = AXISYMMETRIC
    seed: int = 0
    wall_gap: float | None = None

    def __post_init__(self):
        require_positive(pore_diameter=self.pore_diameter, pore_depth=self.pore_depth,
                         reservoir_width=self.reservoir_width, reservoir_height=self.reservoir_height)
        if self.wall_gap is not None:
            require_positive(wall_gap=self.wall_gap)
        if self.shape not in SHAPES:
            raise GeometryError(f"geometry parameter 'shape' must be one of {SHAPES}, got {self.shape!r}")
        if self.kind not in (AXISYMMETRIC, PLANE):
            raise GeometryError(f"geometry parameter 'kind' must be 'axisymmetric' or 'plane', got {self.kind!r}")
        if self.kind == AXISYMMETRIC and self.shape != "straight":
            raise GeometryError("geometry parameter 'shape' must be 'straight' for kind 'axisymmetric'")
        require_at_least(1, tortuosity=self.tortuosity)
        require_integer(seed=self.seed)
        room = self.pore_diameter * (self.tortuosity if self.shape == "tortuous" else 1.0)
        if self.reservoir_width <= room + (self.gap if self.shape == "tortuous" else 0.0):
            raise GeometryError(
                f"geometry parameter 'reservoir_width' ({self.reservoir_width}) must exceed the channel's "
                f"width at the mouth ({room:g} m{' plus wall_gap' if self.shape == 'tortuous' else ''})"
            )

    @property
    def gap(self) -> float:
        return 0.5 * self.pore_diameter if self.wall_gap is None else self.wall_gap

    def centreline(self) -> np.ndarray:
        """Centre-line vertices (m) from the mouth (0, 0) down to y = -pore_depth."""
        if self.shape == "straight":
            return np.array([[0.0, 0.0], [0.0, -self.pore_depth]])
        margin = self.pore_diameter / 2 * self.tortuosity + self.gap / 2
        half = self.reservoir_width / 2 - margin
        pts = zigzag_centreline(np.random.default_rng(self.seed), -half / UM, half / UM, 0.0,
                                self.pore_depth / UM, -1, self.tortuosity, self.pore_diameter / UM,
                                self.gap / UM, x0=0.0)
        return pts * UM


def build_pore_channel(comm: MPI.Comm, params: PoreChannel | None = None, mesh_size: float | None = None) -> TaggedMesh:
    """Mesh the reservoir and channel (kind from ``params.kind``).

    Cell groups ``reservoir``, ``channel``. Facet groups: ``reservoir_top`` (where the stack pressure
    acts), ``reservoir_channel_interface`` (pore mouth), ``reservoir_bottom`` (the reservoir's free
    lower face around the mouth), ``channel_wall``, ``channel_bottom``; axisymmetric: ``axis`` (r = 0,
    reservoir and channel) and ``reservoir_outer`` (r = reservoir_width/2); plane:
    ``reservoir_left``/``reservoir_right``.

    ``mesh_size`` (default pore diameter / 6) is used everywhere.
    """
    p = params or PoreChannel()
    h = p.pore_diameter / 6 if mesh_size is None else mesh_size
    require_positive(mesh_size=h)
    line = p.centreline()
    r = p.pore_diameter / 2
    if p.kind == AXISYMMETRIC:
        edges, volume = None, math.pi * r**2 * p.pore_depth
    else:
        edges, area = stroke_outline(line / UM, r / UM, "cut")
        volume = area * UM**2

    def make_model():
        occ = gmsh.model.occ
        w, hr, depth, r_um = p.reservoir_width / UM, p.reservoir_height / UM, p.pore_depth / UM, r / UM
        if p.kind == AXISYMMETRIC:
            res = occ.addRectangle(0, 0, 0, w / 2, hr)
            chan = occ.addRectangle(0, -depth, 0, r_um, depth)
        else:
            res = occ.addRectangle(-w / 2, 0, 0, w, hr)
            chan = occ_stroke(edges)
        _, fmap = occ.fragment([(2, res), (2, chan)], [])
        occ.synchronize()
        bodies = {"reservoir": [t for _, t in fmap[0]], "channel": [t for _, t in fmap[1]]}
        body_of = {t: n for n, ts in bodies.items() for t in ts}
        tol = 1e-6 * (depth + hr)
        x_out = w / 2

        def side(body, bb):
            x0, y0, _, x1, y1, _ = bb
            flat = y1 - y0 < tol
            if p.kind == AXISYMMETRIC and x1 < tol:
                return "axis"
            if body == "reservoir":
                if flat:
                    return "top" if abs(y0 - hr) < tol else "bottom"
                if p.kind == AXISYMMETRIC:
                    return "outer"
                return "left" if abs(x1 + x_out) < tol else "right" if abs(x0 - x_out) < tol else None
            return "bottom" if flat and abs(y0 + depth) < tol else "wall"

        boundaries = name_boundaries(2, body_of, PORE_CHANNEL_BODY_ORDER, side)
        add_physical_groups(2, bodies, boundaries)
        uniform_size(h / UM)
        gmsh.model.mesh.generate(2)
        scale_mesh_to_si()

    info = {
        "builder": "pore_channel",
        **asdict(p),
        "wall_gap": p.gap,
        "mesh_size": h,
        "centreline": line.tolist(),
        "centreline_length": p.pore_depth if p.shape == "straight" else centreline_length(line),
        "channel_volume": volume,  # axisymmetric: pi r^2 L (m3); plane: area per unit thickness (m2)
        "reservoir_volume": (math.pi * (p.reservoir_width / 2) ** 2 * p.reservoir_height if p.kind == AXISYMMETRIC
                             else p.reservoir_width * p.reservoir_height),
        "mouth_area": math.pi * r**2 if p.kind == AXISYMMETRIC else (
            p.pore_diameter * (p.tortuosity if p.shape == "tortuous" else 1.0)),
    }
    return build(comm, make_model, 2, p.kind, info)
