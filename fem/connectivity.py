"""Connected clusters of marked cells: dead Li and shorts in phase-field results.

A cluster is a set of marked cells joined through shared facets (cells touching only at a vertex
are not joined: a point contact carries no current). A cluster is *attached* if one of its cells
has a facet on the anode facets; marked cells in unattached clusters are dead Li. The cell is
*shorted* if one cluster touches both the anode and the counter facets.

Parallel: each rank sends its owned marked cells (global facet numbers, whether they touch the
anode/counter, volume) to rank 0, which labels the clusters (vectorised union-find, NumPy only)
and broadcasts the verdict. The global facet numbering makes the graph, and so every number returned,
independent of the partition. Gathering is fine for 2D meshes up to ~1e6 cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import ufl
from dolfinx import cpp, fem
from ssbx.fem import kinematics
from ssbx.geometries.tagged_mesh import TaggedMesh


@dataclass(frozen=True)
class LiConnectivity:
    """Cluster statistics (volumes in m^3; plane meshes m^2 per unit depth)."""

    clusters: int  # connected clusters of marked cells
    attached_volume: float  # in clusters touching the anode
    dead_volume: float  # in clusters not touching the anode
    dead_clusters: int
    shorted: bool  # a cluster touches both the anode and the counter facets


def cell_volumes(tm: TaggedMesh) -> np.ndarray:
    """Volumes of the owned cells (2 pi r weighted in axisymmetry)."""
    V = fem.functionspace(tm.mesh, ("DG", 0))
    w = kinematics.volume_weight(tm.mesh, tm.kind)
    b = fem.assemble_vector(fem.form(w * ufl.TestFunction(V) * ufl.dx))
    return b.array[: V.dofmap.index_map.size_local].copy()


def li_connectivity(tm: TaggedMesh, marked: np.ndarray, anode_facets: np.ndarray, counter_facets: np.ndarray,
                    volumes: np.ndarray | None = None) -> LiConnectivity:
    """Clusters of the owned cells flagged in ``marked`` (bool, length = owned cells); the facet
    arrays hold local facet indices (owned or ghost). Collective; every rank gets the result."""
    msh, comm = tm.mesh, tm.comm
    tdim = msh.topology.dim
    n_own = msh.topology.index_map(tdim).size_local
    marked = np.asarray(marked, dtype=bool)
    if marked.shape != (n_own,):
        raise ValueError(f"marked must flag the {n_own} owned cells, got shape {marked.shape}")
    if volumes is None:
        volumes = cell_volumes(tm)
    msh.topology.create_connectivity(tdim, tdim - 1)
    c2f = msh.topology.connectivity(tdim, tdim - 1)
    fmap = msh.topology.index_map(tdim - 1)
    n_facets = fmap.size_local + fmap.num_ghosts
    cells = np.flatnonzero(marked).astype(np.int32)
    per_cell = cpp.mesh.cell_num_entities(msh.topology.cell_type, tdim - 1)  # one cell type per mesh
    local_facets = c2f.array.reshape(-1, per_cell)[cells]
    on_anode = np.zeros(n_facets, dtype=bool)
    on_anode[np.asarray(anode_facets, dtype=np.int32)] = True
    on_counter = np.zeros(n_facets, dtype=bool)
    on_counter[np.asarray(counter_facets, dtype=np.int32)] = True
    glob = fmap.local_to_global(local_facets.reshape(-1)).reshape(local_facets.shape)
    mine = (glob, on_anode[local_facets].any(axis=1), on_counter[local_facets].any(axis=1), volumes[cells])
    parts = comm.gather(mine, root=0)
    result = None
    if comm.rank == 0:
        result = _label([np.concatenate(x) for x in zip(*parts, strict=True)])
    return comm.bcast(result, root=0)


def _components(n: int, a: np.ndarray, b: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components of the graph with edges (a[i], b[i]) on n nodes: (count, labels 0..).
    Vectorised hooking and pointer jumping (parent[x] <= x always, so no cycles can form)."""
    parent = np.arange(n)
    while True:
        while True:  # point every node at its root
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
        pa, pb = parent[a], parent[b]
        differ = pa != pb
        if not differ.any():
            break
        lo, hi = np.minimum(pa[differ], pb[differ]), np.maximum(pa[differ], pb[differ])
        np.minimum.at(parent, hi, lo)  # hook the larger root under the smaller
    roots, labels = np.unique(parent, return_inverse=True)
    return len(roots), labels


def _label(data) -> LiConnectivity:
    """Join cells sharing a global facet, then the cluster verdicts (rank 0)."""
    facets, anode, counter, vol = data
    n = len(vol)
    if n == 0:
        return LiConnectivity(0, 0.0, 0.0, 0, False)
    cell = np.repeat(np.arange(n), facets.shape[1])
    f = facets.reshape(-1)
    order = np.argsort(f, kind="stable")
    f, cell = f[order], cell[order]
    same = np.flatnonzero(f[1:] == f[:-1])  # a facet is shared by at most two cells
    k, labels = _components(n, cell[same], cell[same + 1])
    touches_anode = np.bincount(labels, weights=anode, minlength=k) > 0
    touches_counter = np.bincount(labels, weights=counter, minlength=k) > 0
    attached = touches_anode[labels]
    return LiConnectivity(
        clusters=int(k),
        attached_volume=float(np.sum(vol[attached])),
        dead_volume=float(np.sum(vol[~attached])),
        dead_clusters=int(np.count_nonzero(~touches_anode)),
        shorted=bool(np.any(touches_anode & touches_counter)),
    )


__all__ = ["LiConnectivity", "cell_volumes", "li_connectivity"]
