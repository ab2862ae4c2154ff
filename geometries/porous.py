"""Porous solid electrolyte: circular (2D) or spherical (3D) pores in an SE block, optional Li layer.

x is through the layer: Li fills x in [0, li_thickness] (if > 0), the SE x in
[li_thickness, li_thickness + width]; y in [0, height] (z in [0, depth] in 3D). Porosity is the pore
fraction of the SE block. Defaults: porosity 0.1625 (a pellet at 83.75 % relative density); mean
pore diameter 10 um and lognormal spread sigma 0.3 are assumed.

Pores are placed by random sequential addition (numpy ``default_rng(seed)``): diameters are drawn
from a lognormal with the given mean (truncated to [mean/3, 3 mean]) until their total reaches the
target; the last pore is shrunk so the analytic porosity equals the target exactly (if it would be
smaller than a quarter of the mean diameter its remainder is added to the previous pore instead).
The pores are then placed largest first at uniformly random positions, each at least
``min_ligament`` from the SE block faces and from every other pore.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from mpi4py import MPI

import gmsh
import numpy as np
from ssbx.geometries._micro import UM, background_min, ball_field, box_side, scale_mesh_to_si
from ssbx.geometries.tagged_mesh import (
    PLANE,
    SOLID,
    GeometryError,
    TaggedMesh,
    add_physical_groups,
    build,
    name_boundaries,
    require_fraction,
    require_integer,
    require_nonnegative,
    require_positive,
)

POROUS_BODY_ORDER = ["li", "se", "pore"]
MAX_PORES = 20_000
ATTEMPTS_PER_PORE = 20_000


@dataclass(frozen=True)
class PorousSE:
    """Dimensions (m) and pore statistics of a porous SE block. Validated on construction.

    ``depth`` is used in 3D only (None: equal to ``height``); ``min_ligament`` None means
    0.1 x ``mean_pore_diameter``.
    """

    width: float = 100e-6
    height: float = 50e-6
    depth: float | None = None
    porosity: float = 0.1625
    mean_pore_diameter: float = 10e-6
    diameter_spread: float = 0.3  # lognormal sigma (assumed)
    seed: int = 0
    min_ligament: float | None = None
    li_thickness: float = 0.0

    def __post_init__(self):
        require_positive(width=self.width, height=self.height, mean_pore_diameter=self.mean_pore_diameter)
        if self.depth is not None:
            require_positive(depth=self.depth)
        if self.min_ligament is not None:
            require_positive(min_ligament=self.min_ligament)
        require_fraction(porosity=self.porosity)
        require_nonnegative(diameter_spread=self.diameter_spread, li_thickness=self.li_thickness)
        require_integer(seed=self.seed)
        if self.mean_pore_diameter + 2 * self.ligament > min(self.width, self.height, self.depth or self.height):
            raise GeometryError(
                f"geometry parameter 'mean_pore_diameter' ({self.mean_pore_diameter}) plus two ligaments "
                f"({self.ligament}) does not fit in the SE block"
            )

    @property
    def ligament(self) -> float:
        return 0.1 * self.mean_pore_diameter if self.min_ligament is None else self.min_ligament

    def extent(self, dim: int) -> np.ndarray:
        """Size of the SE block along each axis."""
        return np.array([self.width, self.height, self.depth or self.height][:dim])

    def origin(self, dim: int) -> np.ndarray:
        return np.array([self.li_thickness, 0.0, 0.0][:dim])

    def pores(self, dim: int = 2) -> tuple[np.ndarray, np.ndarray]:
        """Pore centres (n, dim) and radii (n,) in metres; deterministic in ``seed``."""
        rng = np.random.default_rng(self.seed)
        ext, org, lig = self.extent(dim), self.origin(dim), self.ligament
        measure = (lambda r: math.pi * r**2) if dim == 2 else (lambda r: 4.0 / 3.0 * math.pi * r**3)
        inverse = (lambda v: math.sqrt(v / math.pi)) if dim == 2 else (lambda v: (3 * v / (4 * math.pi)) ** (1 / 3))
        target = self.porosity * float(np.prod(ext))
        if target / measure(self.mean_pore_diameter / 2) > MAX_PORES:
            raise GeometryError(
                f"geometry parameter 'mean_pore_diameter' ({self.mean_pore_diameter}) is too small for the "
                f"block: 'porosity' {self.porosity} would need more than {MAX_PORES} pores"
            )
        d_mean, sigma = self.mean_pore_diameter, self.diameter_spread
        d_lo, d_hi = d_mean / 3, min(3 * d_mean, float(ext.min()) - 2 * lig)
        mu = math.log(d_mean) - 0.5 * sigma**2  # lognormal with mean d_mean
        radii, total = [], 0.0
        while total < target:
            for _ in range(1000):
                d = float(rng.lognormal(mu, sigma))
                if d_lo <= d <= d_hi:
                    break
            d = min(max(d, d_lo), d_hi)
            v = measure(d / 2)
            if total + v >= target:  # last pore: shrink so the porosity is exact
                rest = target - total
                if inverse(rest) < d_mean / 8 and radii:
                    radii[-1] = inverse(measure(radii[-1]) + rest)
                else:
                    radii.append(inverse(rest))
                break
            radii.append(d / 2)
            total += v
        radii = np.array(sorted(radii, reverse=True))
        centres = np.zeros((0, dim))
        for i, r in enumerate(radii):
            lo, hi = org + r + lig, org + ext - r - lig
            if np.any(hi < lo):
                raise GeometryError(
                    f"geometry parameter 'porosity' ({self.porosity}): a pore of diameter {2 * r:g} m does not "
                    "fit in the SE block with its ligaments"
                )
            placed = False
            for _ in range(ATTEMPTS_PER_PORE // 500):
                cand = rng.uniform(lo, hi, size=(500, dim))
                if len(centres):
                    dist = np.linalg.norm(cand[:, None, :] - centres[None, :, :], axis=2)
                    ok = np.all(dist >= r + radii[:i][None, :] + lig, axis=1)
                else:
                    ok = np.ones(len(cand), dtype=bool)
                if ok.any():
                    centres = np.vstack([centres, cand[np.argmax(ok)]])
                    placed = True
                    break
            if not placed:
                raise GeometryError(
                    f"geometry parameter 'porosity' ({self.porosity}) could not be reached: no room for pore "
                    f"{i + 1} of {len(radii)} (diameter {2 * r:g} m) after {ATTEMPTS_PER_PORE} random "
                    "positions; lower 'porosity', 'min_ligament' or 'diameter_spread'"
                )
        return centres, radii

    def pore_volume(self, dim: int = 2) -> float:
        _, radii = self.pores(dim)
        return float(np.sum(np.pi * radii**2 if dim == 2 else 4 / 3 * np.pi * radii**3))


def build_porous_se(
    comm: MPI.Comm,
    params: PorousSE | None = None,
    mesh_size: float | None = None,
    kind: str = PLANE,
    segments_per_pore: int | None = None,
) -> TaggedMesh:
    """Mesh the porous SE (``kind="plane"`` with circles or ``"3d"`` with spheres).

    Cell groups ``se``, ``pore`` and ``li`` (if ``li_thickness > 0``). Facet groups
    ``se_pore_interface``, ``li_se_interface`` (with Li), and the block faces ``se_left`` (no Li),
    ``se_right``, ``se_bottom``/``se_top`` (y), ``li_left``/``li_bottom``/``li_top``, and in 3D
    ``*_front``/``*_back`` (z = 0 / z = depth).

    ``mesh_size`` (default mean pore diameter / 6) applies in and around the pores; each pore is
    further refined to at least ``segments_per_pore`` (default 24 in 2D, 12 in 3D) cells around its
    circumference, and the size grows to twice ``mesh_size`` away from the pores.
    """
    p = params or PorousSE()
    if kind not in (PLANE, SOLID):
        raise GeometryError(f"geometry parameter 'kind' must be 'plane' or '3d', got {kind!r}")
    dim = 2 if kind == PLANE else 3
    h = p.mean_pore_diameter / 6 if mesh_size is None else mesh_size
    require_positive(mesh_size=h)
    nseg = segments_per_pore or (24 if dim == 2 else 12)
    centres, radii = p.pores(dim)
    ext, org = p.extent(dim), p.origin(dim)
    pore_volume = float(np.sum(np.pi * radii**2 if dim == 2 else 4 / 3 * np.pi * radii**3))

    def make_model():
        occ = gmsh.model.occ
        e, o, li = ext / UM, org / UM, p.li_thickness / UM
        c_um, r_um, h_um = centres / UM, radii / UM, h / UM
        if dim == 2:
            se = occ.addRectangle(o[0], 0, 0, e[0], e[1])
            li_tag = occ.addRectangle(0, 0, 0, li, e[1]) if li > 0 else None
            pores = [occ.addDisk(c[0], c[1], 0, r, r) for c, r in zip(c_um, r_um, strict=True)]
        else:
            se = occ.addBox(o[0], 0, 0, e[0], e[1], e[2])
            li_tag = occ.addBox(0, 0, 0, li, e[1], e[2]) if li > 0 else None
            pores = [occ.addSphere(c[0], c[1], c[2], r) for c, r in zip(c_um, r_um, strict=True)]
        inputs = [("se", se)] + ([("li", li_tag)] if li_tag else []) + [("pore", t) for t in pores]
        _, fmap = occ.fragment([(dim, t) for _, t in inputs], [])
        occ.synchronize()
        body_of = {}
        for (name, _), img in sorted(zip(inputs, fmap, strict=True), key=lambda x: x[0][0] == "pore"):
            for _, t in img:  # pores last: they override the SE block's image
                body_of[t] = name
        bodies: dict[str, list[int]] = {}
        for t, name in sorted(body_of.items()):
            bodies.setdefault(name, []).append(t)
        box = {"se": (tuple(o), tuple(o + e))}
        if li > 0:
            box["li"] = ((0.0,) + tuple(o[1:]), (li,) + tuple(e[1:]))
        tol = 1e-6 * float(e.max())

        def side(body, bb):
            return box_side(bb, *box[body], tol) if body in box else None

        boundaries = name_boundaries(dim, body_of, POROUS_BODY_ORDER, side)
        add_physical_groups(dim, bodies, boundaries)
        fields = [ball_field(c, r + 0.5 * h_um, min(h_um, 2 * math.pi * r / nseg), 2 * h_um, h_um)
                  for c, r in zip(c_um, r_um, strict=True)]
        background_min(fields, 2 * h_um)
        gmsh.model.mesh.generate(dim)
        scale_mesh_to_si()

    info = {
        "builder": "porous_se",
        "kind": kind,
        **asdict(p),
        "min_ligament": p.ligament,
        "depth": float(ext[2]) if dim == 3 else None,
        "mesh_size": h,
        "pore_centres": centres.tolist(),
        "pore_radii": radii.tolist(),
        "pore_count": len(radii),
        "pore_volume": pore_volume,
        "se_block_volume": float(np.prod(ext)),
        "porosity_analytic": pore_volume / float(np.prod(ext)),
    }
    return build(comm, make_model, dim, kind, info)
