"""Shared pieces of the micrometre-scale builders (porous SE, interlayer, pore channel).

The OCC model of these builders is built in micrometres and the mesh nodes are scaled to metres
after meshing (:func:`scale_mesh_to_si`): Gmsh's absolute tolerances (Geometry.Tolerance 1e-8,
bounding-box padding 1e-7) are then far below every feature. Also here: the zig-zag centre line
of a tortuous channel and the exact outline (and area) of a round-jointed channel around it.
"""

from __future__ import annotations

import math

import gmsh
import numpy as np
from ssbx.geometries.tagged_mesh import GeometryError

UM = 1e-6  # one micrometre in metres: model units -> SI
AXIS_SIDES = (("left", "right"), ("bottom", "top"), ("front", "back"))


def scale_mesh_to_si() -> None:
    """Scale every mesh node of the current model from micrometres to metres."""
    gmsh.model.mesh.affineTransform([UM, 0, 0, 0, 0, UM, 0, 0, 0, 0, UM, 0])


def box_side(bb: tuple[float, ...], lo: tuple[float, ...], hi: tuple[float, ...], tol: float) -> str | None:
    """Side of the box [lo, hi] an exterior piece with bounding box ``bb`` lies on.

    x -> left/right, y -> bottom/top, z -> front/back; None if the piece is on no box face.
    """
    dim = len(lo)
    for a in range(dim):
        if bb[a + 3] - bb[a] < tol:
            if abs(bb[a] - lo[a]) < tol:
                return AXIS_SIDES[a][0]
            if abs(bb[a] - hi[a]) < tol:
                return AXIS_SIDES[a][1]
    return None


def uniform_size(size: float) -> None:
    gmsh.option.setNumber("Mesh.MeshSizeMax", size)
    gmsh.option.setNumber("Mesh.MeshSizeMin", 0.0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)


def background_min(fields: list[int], size_max: float) -> None:
    """Use the minimum of ``fields`` (capped at ``size_max``) as the mesh size."""
    uniform_size(size_max)
    if fields:
        fmin = gmsh.model.mesh.field.add("Min")
        gmsh.model.mesh.field.setNumbers(fmin, "FieldsList", fields)
        gmsh.model.mesh.field.setAsBackgroundMesh(fmin)


def ball_field(centre, radius: float, size_in: float, size_out: float, thickness: float) -> int:
    f = gmsh.model.mesh.field.add("Ball")
    c = (tuple(centre) + (0.0, 0.0))[:3]
    for key, val in zip(("XCenter", "YCenter", "ZCenter"), c, strict=True):
        gmsh.model.mesh.field.setNumber(f, key, val)
    gmsh.model.mesh.field.setNumber(f, "Radius", radius)
    gmsh.model.mesh.field.setNumber(f, "VIn", size_in)
    gmsh.model.mesh.field.setNumber(f, "VOut", size_out)
    gmsh.model.mesh.field.setNumber(f, "Thickness", thickness)
    return f


def distance_field(curves: list[int], size_min: float, size_max: float, d_min: float, d_max: float) -> int:
    """Size ``size_min`` within ``d_min`` of the curves, growing linearly to ``size_max`` at ``d_max``."""
    dist = gmsh.model.mesh.field.add("Distance")
    gmsh.model.mesh.field.setNumbers(dist, "CurvesList", curves)
    gmsh.model.mesh.field.setNumber(dist, "Sampling", 100)
    th = gmsh.model.mesh.field.add("Threshold")
    gmsh.model.mesh.field.setNumber(th, "InField", dist)
    gmsh.model.mesh.field.setNumber(th, "SizeMin", size_min)
    gmsh.model.mesh.field.setNumber(th, "SizeMax", size_max)
    gmsh.model.mesh.field.setNumber(th, "DistMin", d_min)
    gmsh.model.mesh.field.setNumber(th, "DistMax", d_max)
    return th


# --------------------------------------------------------------------------------------------
# Tortuous channels
# --------------------------------------------------------------------------------------------


def zigzag_centreline(
    rng: np.random.Generator,
    x_lo: float,
    x_hi: float,
    y0: float,
    depth: float,
    direction: int,
    tortuosity: float,
    diameter: float,
    gap: float,
    x0: float | None = None,
    tries: int = 200,
) -> np.ndarray:
    """Vertices (n+1, 2) of a zig-zag centre line from y0 to y0 + direction*depth.

    Every segment rises (or falls) monotonically at the fixed angle acos(1/tortuosity) from the
    vertical, so the centre-line length is exactly ``tortuosity * depth``; segment heights and the
    left/right choice are random (``rng``), as is the start x unless ``x0`` is given; the centre line
    stays in [x_lo, x_hi]. Segments are long enough that a channel of ``diameter`` around it keeps a
    wall-to-wall ``gap`` between non-adjacent legs and that the round-jointed outline of
    :func:`stroke_outline` is simple.
    Collinear consecutive segments are merged. Raises GeometryError naming 'tortuosity' if no such
    line fits.
    """
    if x_hi < x_lo:
        raise GeometryError(
            f"geometry parameter 'pore_diameter' ({diameter * UM:g} m) leaves no lateral room for a channel"
        )
    k = math.sqrt(max(tortuosity**2 - 1.0, 0.0))
    if k < 1e-12:
        x = float(rng.uniform(x_lo, x_hi)) if x0 is None else x0
        return np.array([[x, y0], [x, y0 + direction * depth]])
    band = x_hi - x_lo
    dy_min = max((diameter + gap) * tortuosity / (2 * k), 1.05 * diameter * k / tortuosity)
    n_max = max(1, int(depth // dy_min))
    n = max(1, min(n_max, math.ceil(depth * k / (0.5 * band)))) if band > 0 else n_max
    if k * depth / n_max > band + 1e-12:
        raise GeometryError(
            f"geometry parameter 'tortuosity' ({tortuosity}) is too large for the lateral room of the "
            f"channel ({band * UM:g} m for the centre line): legs of a {diameter * UM:g} m channel cannot "
            "zig-zag that steeply; lower 'tortuosity' or 'pore_diameter' or widen the domain"
        )
    for attempt in range(tries):
        m = n + attempt % (n_max - n + 1)  # more, shorter legs on later attempts
        if m == 1:
            dys = np.array([depth])
        else:
            dys = dy_min + (depth - m * dy_min) * rng.dirichlet(np.full(m, 4.0))
        x = float(rng.uniform(x_lo, x_hi)) if x0 is None else x0  # a new start on every attempt
        y, pts, ok = y0, [(x, y0)], True
        for dy in dys:
            dx = k * dy
            options = [s for s in (1.0, -1.0) if x_lo - 1e-12 <= x + s * dx <= x_hi + 1e-12]
            if not options:
                ok = False
                break
            x += options[int(rng.integers(len(options)))] * dx
            y += direction * dy
            pts.append((x, y))
        if not ok:
            continue
        pts = np.asarray(pts)
        pts[-1, 1] = y0 + direction * depth
        pts = _merge_collinear(pts)
        if _legs_separated(pts, diameter + gap):
            return pts
    raise GeometryError(
        f"geometry parameter 'tortuosity' ({tortuosity}): no zig-zag channel of diameter "
        f"{diameter * UM:g} m fits the lateral room ({band * UM:g} m) after {tries} attempts; lower "
        "'tortuosity' or 'pore_diameter' or widen the domain"
    )


def _merge_collinear(pts: np.ndarray) -> np.ndarray:
    keep = [0]
    for i in range(1, len(pts) - 1):
        a, b = pts[i] - pts[keep[-1]], pts[i + 1] - pts[i]
        if abs(a[0] * b[1] - a[1] * b[0]) > 1e-9 * np.linalg.norm(a) * np.linalg.norm(b):
            keep.append(i)
    keep.append(len(pts) - 1)
    return pts[keep]


def _point_segment(p, a, b) -> float:
    ab = b - a
    t = np.clip(np.dot(p - a, ab) / np.dot(ab, ab), 0.0, 1.0)
    return float(np.linalg.norm(p - (a + t * ab)))


def _legs_separated(pts: np.ndarray, clearance: float) -> bool:
    """Non-adjacent legs (disjoint y-ranges, so they cannot cross) are at least ``clearance`` apart."""
    n = len(pts) - 1
    for i in range(n):
        for j in range(i + 2, n):
            a, b, c, d = pts[i], pts[i + 1], pts[j], pts[j + 1]
            dist = min(_point_segment(a, c, d), _point_segment(b, c, d),
                       _point_segment(c, a, b), _point_segment(d, a, b))
            if dist < clearance:
                return False
    return True


def centreline_length(pts: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())


def stroke_outline(pts: np.ndarray, radius: float, end: str) -> tuple[list, float]:
    """Outline of a channel of half-width ``radius`` around the centre line ``pts``.

    The start is cut by the horizontal line through pts[0] (the pore mouth); the end is a
    half-disc (``end="round"``) or cut by the horizontal line through pts[-1] (``end="cut"``).
    Joints are rounded on their outer side (a disc at each vertex). Returns the closed loop as
    edges ``(a, b, centre)`` (``centre`` None for a straight edge, else the arc's centre) and its
    exact area (shoelace of the vertices plus the circular segments of the arcs).
    """
    pts = np.asarray(pts, dtype=float)
    u = np.diff(pts, axis=0)
    u /= np.linalg.norm(u, axis=1)[:, None]
    nl = np.column_stack([-u[:, 1], u[:, 0]])  # left normals
    r = radius

    def cut(p, ui, ni):
        q = p + r * ni - (r * ni[1] / ui[1]) * ui
        return np.array([q[0], p[1]])

    def chain(sign):
        """Vertices on one side (sign=+1 left, -1 right) with the arc centre towards the next."""
        out = [[cut(pts[0], u[0], sign * nl[0]), None]]
        for j in range(1, len(pts) - 1):
            a, b = sign * nl[j - 1], sign * nl[j]
            turn = u[j - 1, 0] * u[j, 1] - u[j - 1, 1] * u[j, 0]
            if sign * turn > 0:  # this side is the inner side of the turn: the walls meet (miter)
                out.append([pts[j] + r * (a + b) / (1.0 + a @ b), None])
            else:  # outer side: arc of the joint disc between the two wall ends
                out.append([pts[j] + r * a, pts[j]])
                out.append([pts[j] + r * b, None])
        return out

    left, right = chain(1.0), chain(-1.0)
    p_end = pts[-1]
    if end == "round":
        left.append([p_end + r * nl[-1], p_end])
        left.append([p_end + r * u[-1], p_end])
        right.append([p_end - r * nl[-1], None])
    elif end == "cut":
        left.append([cut(p_end, u[-1], nl[-1]), None])
        right.append([cut(p_end, u[-1], -nl[-1]), None])
    else:
        raise ValueError(end)
    # walk forward along the left, back along the right (arcs move to their other end point)
    loop = [list(v) for v in left]
    for i in range(len(right) - 1, -1, -1):
        loop.append([right[i][0], right[i - 1][1] if i > 0 else None])
    verts = np.array([v[0] for v in loop])
    edges = [(loop[i][0], loop[(i + 1) % len(loop)][0], loop[i][1]) for i in range(len(loop))]
    x, y = verts[:, 0], verts[:, 1]
    area = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    for a, b, c in edges:
        if c is not None:
            alpha = math.acos(np.clip((a - c) @ (b - c) / r**2, -1.0, 1.0))
            area += 0.5 * r**2 * (alpha - math.sin(alpha))
    return edges, float(area)


def occ_stroke(edges: list) -> int:
    """An OCC plane surface bounded by the outline of :func:`stroke_outline`."""
    occ = gmsh.model.occ
    first = occ.addPoint(*edges[0][0], 0.0)
    prev, curves = first, []
    for i, (_, b, c) in enumerate(edges):
        nxt = first if i == len(edges) - 1 else occ.addPoint(*b, 0.0)
        if c is None:
            curves.append(occ.addLine(prev, nxt))
        else:
            centre = occ.addPoint(*c, 0.0)
            curves.append(occ.addCircleArc(prev, centre, nxt))
        prev = nxt
    return occ.addPlaneSurface([occ.addCurveLoop(curves)])
