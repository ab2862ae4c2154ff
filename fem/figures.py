"""Off-screen figures of fields (pyvista), gathered from all ranks to rank 0.

Fields are sampled cell by cell (discontinuous P1 on the affine geometry), so the picture is the
same on any number of ranks and shows jumps across sliding interfaces honestly.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from dolfinx import fem

os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")


def gather_cells(displacement, scalar, mesh) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Vertex coordinates (cells, nv, 3), displacement at those vertices (cells, nv, gdim) and a
    cell scalar (cells,) of the owned cells of every rank, on rank 0 (None elsewhere).

    ``displacement`` and ``scalar`` are UFL expressions; they are interpolated into DG1 and DG0.
    """
    gdim, tdim = mesh.geometry.dim, mesh.topology.dim
    if mesh.geometry.cmaps[0].degree != 1:
        raise ValueError("figures need an affine (order 1) mesh")
    V1 = fem.functionspace(mesh, ("DG", 1, (gdim,)))
    V0 = fem.functionspace(mesh, ("DG", 0))
    u1, s0 = fem.Function(V1), fem.Function(V0)
    u1.interpolate(fem.Expression(displacement, V1.element.interpolation_points))
    s0.interpolate(fem.Expression(scalar, V0.element.interpolation_points))
    n = mesh.topology.index_map(tdim).size_local
    xdofs = mesh.geometry.dofmaps[0][:n]
    pts = mesh.geometry.x[xdofs]  # (n, nv, 3); DG1 dof i of a cell sits on its geometry node i
    disp = u1.x.array.reshape(-1, gdim)[V1.dofmap.list[:n]]
    vals = s0.x.array[V0.dofmap.list[:n, 0]]
    parts = mesh.comm.gather((pts, disp, vals), root=0)
    if mesh.comm.rank != 0:
        return None
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))


def gather_vertex_values(scalar, mesh, cells: np.ndarray | None = None):
    """Vertex coordinates (cells, nv, 3) and values (cells, nv) of a scalar UFL expression,
    sampled as discontinuous P1, on the owned cells of every rank (only ``cells``, local indices,
    if given); on rank 0 (None elsewhere). For maps and contour plots of one region."""
    if mesh.geometry.cmaps[0].degree != 1:
        raise ValueError("figures need an affine (order 1) mesh")
    V1 = fem.functionspace(mesh, ("DG", 1))
    f = fem.Function(V1)
    f.interpolate(fem.Expression(scalar, V1.element.interpolation_points))
    n = mesh.topology.index_map(mesh.topology.dim).size_local
    owned = np.arange(n) if cells is None else np.asarray(cells)[np.asarray(cells) < n]
    pts = mesh.geometry.x[mesh.geometry.dofmaps[0][owned]]
    vals = f.x.array[V1.dofmap.list[owned]]
    parts = mesh.comm.gather((pts, vals), root=0)
    if mesh.comm.rank != 0:
        return None
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(2))


def plot_deformed(data, path: Path, title: str, scalar_name: str, scale: float | None = None,
                  mirror: bool = True, length_unit: float = 1e-3) -> float:
    """PNG of the deformed section coloured by a cell scalar. Returns the magnification used.

    Axisymmetric (r, z) sections are mirrored about the axis to show the whole cell.
    """
    import pyvista as pv

    pts, disp, vals = data
    ncell, nv, _ = pts.shape
    umax = np.abs(disp).max()
    extent = np.ptp(pts.reshape(-1, 3), axis=0).max()
    if scale is None:
        scale = 0.04 * extent / umax if umax > 0 else 1.0
    d3 = np.zeros_like(pts)
    d3[..., : disp.shape[-1]] = disp
    xyz = (pts + scale * d3) / length_unit
    cells_type = {3: pv.CellType.TRIANGLE, 4: pv.CellType.TETRA}[nv]
    grids = []
    for sign in ((1, -1) if mirror else (1,)):
        p = xyz.reshape(-1, 3) * np.array([sign, 1, 1])
        conn = np.hstack([np.full((ncell, 1), nv), np.arange(ncell * nv).reshape(ncell, nv)]).ravel()
        g = pv.UnstructuredGrid(conn, np.full(ncell, cells_type, dtype=np.uint8), p)
        g.cell_data[scalar_name] = vals
        grids.append(g)
    grid = grids[0].merge(grids[1:]) if len(grids) > 1 else grids[0]
    pl = pv.Plotter(off_screen=True, window_size=(900, 1100))
    pl.add_mesh(grid, scalars=scalar_name, cmap="viridis", show_edges=False,
                scalar_bar_args={"title": scalar_name, "vertical": True, "position_x": 0.8, "width": 0.08})
    pl.add_text(f"{title}\ndisplacement x{scale:.3g}", font_size=10)
    pl.view_xy()
    pl.show_axes()
    pl.screenshot(str(path))
    pl.close()
    return scale
