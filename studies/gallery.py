"""Figure of the 2D geometry builders, cells coloured by physical group, for the README.

    python -m ssbx.studies.gallery [OUTPUT.png]
"""

from __future__ import annotations

import sys
from pathlib import Path

from mpi4py import MPI

import numpy as np
from ssbx.geometries import (
    CellDimensions,
    Interlayer,
    PoreChannel,
    PorousSE,
    build_cell,
    build_interlayer,
    build_pore_channel,
    build_porous_se,
)


def _triangles(tm):
    """Owned triangles (coordinates) and their group names, gathered on rank 0."""
    msh = tm.mesh
    n = msh.topology.index_map(2).size_local
    pts = msh.geometry.x[msh.geometry.dofmaps[0][:n]][:, :3, :2]
    name_of = {t: g for g, t in tm.cell_groups.items()}
    groups = np.array([name_of.get(v, "") for v in _cell_values(tm, n)])
    parts = msh.comm.gather((pts, groups), root=0)
    if msh.comm.rank:
        return None
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _cell_values(tm, n):
    vals = np.zeros(n, dtype=np.int32)
    owned = tm.cell_tags.indices < n
    vals[tm.cell_tags.indices[owned]] = tm.cell_tags.values[owned]
    return vals


def geometry_gallery(path: Path, comm: MPI.Comm = MPI.COMM_WORLD) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    cases = [
        ("cell (r, z), 25 um interlayer, 50 um rod clearance", 1e3, "mm",
         build_cell(comm, CellDimensions(interlayer_thickness=25e-6, rod_clearance=50e-6))),
        ("porous SE with Li anode (16.25 %, 10 um pores)", 1e6, "um",
         build_porous_se(comm, PorousSE(width=100e-6, height=50e-6, li_thickness=20e-6, seed=1))),
        ("graphite interlayer with tortuous pores", 1e6, "um", build_interlayer(comm, Interlayer())),
        ("pore channel fed by a Li reservoir (r, z)", 1e6, "um", build_pore_channel(comm, PoreChannel())),
    ]
    data = [(title, scale, unit, _triangles(tm)) for title, scale, unit, tm in cases]
    if comm.rank:
        return
    colours = {"li": "#9e9e9e", "se": "#f2c14e", "pore": "#ffffff", "ptfe": "#c7e9f1", "rod_top": "#5d6d7e",
               "rod_bottom": "#5d6d7e", "interlayer": "#2b2b2b", "cathode": "#7d3c98", "reservoir": "#9e9e9e",
               "channel": "#cfcfcf"}
    fig, axes = plt.subplots(1, 4, figsize=(18, 5.5))
    for ax, (title, scale, unit, (tri, groups)) in zip(axes, data, strict=True):
        ax.add_collection(PolyCollection(tri * scale, facecolors=[colours.get(g, "#e74c3c") for g in groups],
                                         edgecolors="k", linewidths=0.05))
        ax.autoscale()
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(unit)
        present = sorted(set(groups))
        ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, fc=colours.get(g, "#e74c3c"), ec="k") for g in present],
                  labels=present, fontsize=7, loc="upper right")
    axes[0].set_ylim(8.5, 13.5)
    axes[0].set_xlim(0, 6.5)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


if __name__ == "__main__":
    geometry_gallery(Path(sys.argv[1] if len(sys.argv) > 1 else "geometries.png"))
