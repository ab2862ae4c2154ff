"""Result folders, atomic files, field output (VTX .bp for ParaView), CSV series, checkpoints.

A run writes into ``<case>.partial/`` and only a finished run is renamed to ``<case>/``; a failed
run becomes ``<case>.failed/`` with its manifest saying why. So a folder without a suffix is always
complete. A run stopped from outside (a job's wall-time limit, a kill) leaves ``<case>.partial/``;
the next run of that case moves it to ``<case>.interrupted/`` rather than deleting it, so that its
checkpoints can restart the run. All collective calls are made on every rank; file system work happens on rank 0.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from pathlib import Path

from mpi4py import MPI

import numpy as np
from dolfinx import fem, io

PARTIAL, FAILED, INTERRUPTED = ".partial", ".failed", ".interrupted"


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary name and rename (POSIX-atomic)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json_atomic(path: Path, data) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False, default=_jsonable) + "\n")


def write_csv_atomic(path: Path, rows: list[dict]) -> None:
    """Rows with possibly different keys; the header is the union in first-seen order."""
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def write_npz_atomic(path: Path, **arrays) -> None:
    """``np.savez`` through a temporary name and rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def _jsonable(x):
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    return str(x)


class ResultDir:
    """``results/<study>/<case>`` written atomically.

    Use as a context manager on every rank of ``comm``. Inside, files go to :attr:`path` (the
    ``.partial`` folder). On normal exit the manifest is written with ``status = "complete"`` and
    the folder renamed to its final name (replacing an older complete run); on an exception the
    folder becomes ``<case>.failed`` with ``status = "failed"`` and the error. A ``.partial`` folder
    found on entry is an interrupted run: it becomes ``<case>.interrupted`` (replacing an older
    one), and a complete run removes it with the ``.failed`` one, as superseded.
    """

    def __init__(self, comm: MPI.Comm, root: Path, study: str, case: str, manifest: dict):
        self.comm = comm
        self.final = Path(root) / study / case
        self.path = self.final.with_name(self.final.name + PARTIAL)
        self.failed = self.final.with_name(self.final.name + FAILED)
        self.interrupted = self.final.with_name(self.final.name + INTERRUPTED)
        self.manifest = dict(manifest)
        self._t0 = time.perf_counter()
        self.timings: dict[str, float] = {}

    def __enter__(self) -> ResultDir:
        if self.comm.rank == 0:
            if self.path.exists():
                shutil.rmtree(self.interrupted, ignore_errors=True)
                os.replace(self.path, self.interrupted)
            self.path.mkdir(parents=True)
        self.comm.Barrier()
        return self

    def file(self, name: str) -> Path:
        return self.path / name

    def __exit__(self, exc_type, exc, tb):
        self.manifest["wall_time_s"] = time.perf_counter() - self._t0
        self.manifest["timings_s"] = self.timings
        self.comm.Barrier()
        if self.comm.rank == 0:
            if exc is None:
                self.manifest["status"] = "complete"
                write_json_atomic(self.path / "manifest.json", self.manifest)
                shutil.rmtree(self.failed, ignore_errors=True)
                shutil.rmtree(self.interrupted, ignore_errors=True)
                if self.final.exists():
                    shutil.rmtree(self.final)
                os.replace(self.path, self.final)
            else:
                self.manifest["status"] = "failed"
                self.manifest["error"] = f"{type(exc).__name__}: {exc}"
                write_json_atomic(self.path / "manifest.json", self.manifest)
                shutil.rmtree(self.failed, ignore_errors=True)
                os.replace(self.path, self.failed)
        self.comm.Barrier()
        return False

    def earlier_runs(self) -> list[Path]:
        """This case's earlier folders that exist: interrupted, failed, complete (their checkpoints
        can restart a run; read them before this run ends, which removes the first two)."""
        return [p for p in (self.interrupted, self.failed, self.final) if p.is_dir()]

    @property
    def result_path(self) -> Path:
        """Where the results are after the context has closed successfully."""
        return self.final


class TimeSeries:
    """Rows of scalars (same on every rank) appended during a run, rewritten atomically to CSV on
    each flush so a crash leaves the rows written so far."""

    def __init__(self, comm: MPI.Comm, path: Path):
        self.comm, self.path, self.rows = comm, Path(path), []

    def append(self, **row) -> None:
        self.rows.append({k: _jsonable(v) if isinstance(v, np.generic) else v for k, v in row.items()})

    def flush(self) -> None:
        if self.comm.rank == 0 and self.rows:
            write_csv_atomic(self.path, self.rows)


class FieldWriter:
    """Field output under one stem: ``<stem>.bp`` (ADIOS2 VTX, for ParaView's ADIOS2VTXReader) and
    ``<stem>.pvd`` (VTK XML, which pyvista reads: ``pyvista.read("fields.pvd")``; the PyPI VTK has
    no ADIOS2 reader).

    All functions must share one element (e.g. discontinuous P2) plus any number of DG0 fields.
    """

    def __init__(self, comm: MPI.Comm, stem: Path, functions: list[fem.Function]):
        stem = Path(stem)
        self._functions = functions
        self._vtx = io.VTXWriter(comm, str(stem.with_suffix(".bp")), functions, engine="BP4")
        self._vtk = io.VTKFile(comm, str(stem.with_suffix(".pvd")), "w")

    def write(self, t: float) -> None:
        self._vtx.write(float(t))
        self._vtk.write_function(self._functions, float(t))

    def close(self) -> None:
        self._vtx.close()
        self._vtk.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# ------------------------------------------------------------------------------------------------
# Checkpoints
# ------------------------------------------------------------------------------------------------
#
# A checkpoint must restart on any number of ranks. Dof numbers depend on the partition, but the
# input (Gmsh) cell index of each cell does not, and a cell's local dofs are laid out from its input
# vertex order. So each function is stored as (input cell index -> values of that cell's dofs);
# restoring scatters them back cell by cell. Meshes are rebuilt from the (deterministic) builder.


def _cell_dof_values(f: fem.Function) -> tuple[np.ndarray, np.ndarray]:
    V = f.function_space
    msh = V.mesh
    tdim = msh.topology.dim
    n_owned = msh.topology.index_map(tdim).size_local
    bs = V.dofmap.bs
    dofs = V.dofmap.list[:n_owned]  # (cells, dofs per cell), block indices
    vals = f.x.array.reshape(-1, bs)[dofs].reshape(n_owned, -1)
    orig = np.asarray(msh.topology.original_cell_index[:n_owned], dtype=np.int64)
    return orig, vals


def save_checkpoint(path: Path, functions: dict[str, fem.Function], meta: dict) -> None:
    """Gather ``functions`` to rank 0 and write one .npz (through a temporary name) with ``meta``
    (JSON, :func:`checkpoint_meta`)."""
    comm = next(iter(functions.values())).function_space.mesh.comm
    data = {}
    for name, f in functions.items():
        orig, vals = _cell_dof_values(f)
        parts = comm.gather((orig, vals), root=0)
        if comm.rank == 0:
            o = np.concatenate([p[0] for p in parts])
            v = np.concatenate([p[1] for p in parts])
            order = np.argsort(o)
            data[f"{name}__cells"], data[f"{name}__values"] = o[order], v[order]
    if comm.rank == 0:
        write_npz_atomic(path, __meta__=json.dumps(meta, default=_jsonable), **data)
    comm.Barrier()


def checkpoint_meta(path: Path) -> dict:
    """The ``meta`` of a :func:`save_checkpoint` file, without its fields."""
    with np.load(path) as d:
        return json.loads(str(d["__meta__"]))


def load_checkpoint(path: Path, functions: dict[str, fem.Function]) -> dict:
    """Fill ``functions`` (on the rebuilt mesh, any partition) from :func:`save_checkpoint` output."""
    with np.load(path) as d:
        meta = json.loads(str(d["__meta__"]))
        for name, f in functions.items():
            if f"{name}__cells" not in d:
                raise KeyError(f"checkpoint {path} has no function '{name}'")
            cells, vals = d[f"{name}__cells"], d[f"{name}__values"]
            V = f.function_space
            msh = V.mesh
            tdim = msh.topology.dim
            n_all = msh.topology.index_map(tdim).size_local + msh.topology.index_map(tdim).num_ghosts
            orig = np.asarray(msh.topology.original_cell_index[:n_all], dtype=np.int64)
            rows = np.searchsorted(cells, orig)
            # every saved cell must be one of ours: a smaller mesh would find all its indices
            if len(cells) != msh.topology.index_map(tdim).size_global or np.any(rows >= len(cells)) \
                    or np.any(cells[np.minimum(rows, len(cells) - 1)] != orig):
                raise ValueError(f"checkpoint {path} does not match this mesh (function '{name}')")
            bs = V.dofmap.bs
            dofs = V.dofmap.list[:n_all]
            arr = f.x.array.reshape(-1, bs)
            arr[dofs] = vals[rows].reshape(n_all, dofs.shape[1], bs)
            f.x.scatter_forward()
    return meta
