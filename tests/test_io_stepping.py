"""Checkpoints (restart on another number of ranks), atomic result folders, adaptive stepping."""

import json

from mpi4py import MPI

import numpy as np
import pytest
import ufl
from dolfinx import fem
from ssbx.fem.io import ResultDir, TimeSeries, load_checkpoint, save_checkpoint
from ssbx.fem.timestepping import SolveDivergedError, StepControl, run_adaptive
from ssbx.geometries import CellDimensions, CellMeshing, build_cell

MESH = CellMeshing(size_max=1.5e-3, cells_across=1, transition=2e-3)


def fields(tm):
    V = fem.functionspace(tm.mesh, ("Lagrange", 2, (2,)))
    Q = fem.functionspace(tm.mesh, ("DG", 0))
    u, q = fem.Function(V), fem.Function(Q)
    u.interpolate(lambda x: np.vstack([np.sin(300 * x[0]) * x[1], x[0] ** 2 + x[1]]))
    q.interpolate(lambda x: 1 + x[0] * x[1])
    return u, q


def norms(u, q):
    comm = u.function_space.mesh.comm
    return [comm.allreduce(fem.assemble_scalar(fem.form(e * ufl.dx)), op=MPI.SUM)
            for e in (ufl.inner(u, u), q * q)]


def test_checkpoint_roundtrip_across_partitions(shared_tmp_path):
    """Saved on COMM_WORLD, restored on COMM_SELF (and the reverse under 2 ranks): same fields."""
    path = shared_tmp_path / "state.npz"
    world = build_cell(MPI.COMM_WORLD, CellDimensions(), MESH)
    u, q = fields(world)
    save_checkpoint(path, {"u": u, "q": q}, {"t": 1.5})
    ref = norms(u, q)
    local = build_cell(MPI.COMM_SELF, CellDimensions(), MESH)
    u2, q2 = fields(local)
    u2.x.array[:] = 0
    q2.x.array[:] = 0
    meta = load_checkpoint(path, {"u": u2, "q": q2})
    assert meta["t"] == 1.5
    assert norms(u2, q2) == pytest.approx(ref, rel=1e-13)


def test_checkpoint_rejects_other_mesh(shared_tmp_path):
    path = shared_tmp_path / "state.npz"
    tm = build_cell(MPI.COMM_WORLD, CellDimensions(), MESH)
    u, q = fields(tm)
    save_checkpoint(path, {"u": u}, {})
    other = build_cell(MPI.COMM_WORLD, CellDimensions(li_thickness=300e-6), CellMeshing(size_max=1e-3))
    v, _ = fields(other)
    with pytest.raises((ValueError, IndexError)):
        load_checkpoint(path, {"u": v})
    # a mesh with fewer cells finds every one of its cell indices in the checkpoint: the cell count
    # must tell it apart
    coarse = build_cell(MPI.COMM_WORLD, CellDimensions(), CellMeshing(size_max=3e-3, cells_across=1, transition=2e-3))
    w, _ = fields(coarse)
    cells = coarse.mesh.topology.index_map(coarse.mesh.topology.dim).size_global
    assert cells < tm.mesh.topology.index_map(tm.mesh.topology.dim).size_global
    with pytest.raises(ValueError, match="does not match this mesh"):
        load_checkpoint(path, {"u": w})


def test_result_dir_complete_and_failed(shared_tmp_path):
    comm = MPI.COMM_WORLD
    with ResultDir(comm, shared_tmp_path, "s", "ok", {"a": 1}) as out:
        if comm.rank == 0:
            out.file("x.txt").write_text("x")
        assert out.path.name == "ok.partial"
    assert (shared_tmp_path / "s" / "ok" / "x.txt").exists()
    with pytest.raises(RuntimeError):
        with ResultDir(comm, shared_tmp_path, "s", "bad", {}):
            raise RuntimeError("boom")
    assert not (shared_tmp_path / "s" / "bad").exists()
    m = json.loads((shared_tmp_path / "s" / "bad.failed" / "manifest.json").read_text())
    assert m["status"] == "failed" and "boom" in m["error"]


def test_result_dir_keeps_an_interrupted_run(shared_tmp_path):
    """A killed job leaves <case>.partial: the next run of the case moves it to <case>.interrupted
    (its checkpoints can restart the run) and a complete run removes it as superseded."""
    comm = MPI.COMM_WORLD
    stale = shared_tmp_path / "s" / "job.partial"
    if comm.rank == 0:
        (stale / "checkpoints").mkdir(parents=True)
        (stale / "checkpoints" / "state.npz").write_text("x")
    comm.Barrier()
    seen = []
    with ResultDir(comm, shared_tmp_path, "s", "job", {}) as out:
        seen = out.earlier_runs()
        assert (out.interrupted / "checkpoints" / "state.npz").exists() and out.path.is_dir()
        assert not list(out.path.iterdir())
    assert seen == [shared_tmp_path / "s" / "job.interrupted"]
    assert not (shared_tmp_path / "s" / "job.interrupted").exists() and (shared_tmp_path / "s" / "job").is_dir()


def test_adaptive_stepper_resumes_with_the_step_it_reports():
    """after_step(t, dt) reports the step the stepper will try next; dt_start resumes with it, so
    a run cut in two takes the same steps as one run."""
    def steps(t0, t1, dt_start=None):
        seen = []
        run_adaptive(t0, t1, StepControl(dt0=0.1, dt_min=1e-3, dt_max=1.0), advance=lambda t, dt: True,
                     accept=lambda t: None, reject=lambda: None, checkpoint=lambda t: "", dt_start=dt_start,
                     after_step=lambda t, dt: seen.append((t, dt)))
        return seen

    whole = steps(0.0, 3.0)
    cut = 3  # resume after the third step with the step it reported
    assert whole[cut][1] > 0.1
    rest = steps(whole[cut][0], 3.0, dt_start=whole[cut][1])
    assert np.allclose(rest, whole[cut + 1:], rtol=1e-12)


def test_time_series_rewrites_csv_on_flush(shared_tmp_path):
    import csv

    ts = TimeSeries(MPI.COMM_WORLD, shared_tmp_path / "series.csv")
    ts.append(t=0.0, v=1.0)
    ts.flush()
    ts.append(t=1.0, v=2.0, extra=3)
    ts.flush()
    MPI.COMM_WORLD.Barrier()
    rows = list(csv.DictReader((shared_tmp_path / "series.csv").open()))
    assert [float(r["v"]) for r in rows] == [1.0, 2.0] and rows[1]["extra"] == "3"


def test_adaptive_stepper_integrates_and_cuts_back():
    """dy/dt = -y by implicit Euler; a step 'diverges' whenever dt > 0.3: the stepper must cut
    back, still reach t_end, and match the implicit-Euler product of the accepted steps."""
    state = {"y": 1.0, "y_try": 1.0, "steps": []}

    def advance(t, dt):
        if dt > 0.3:
            return False
        state["y_try"] = state["y"] / (1 + dt)
        state["steps"].append(dt)
        return True

    def accept(t):
        state["y"] = state["y_try"]

    stats = run_adaptive(0.0, 2.0, StepControl(dt0=0.5, dt_min=1e-3, dt_max=1.0), advance, accept,
                         reject=lambda: None, checkpoint=lambda t: "nowhere")
    assert stats["t"] == pytest.approx(2.0)
    assert stats["rejected_steps"] >= 1
    assert sum(state["steps"]) == pytest.approx(2.0)
    assert state["y"] == pytest.approx(np.prod([1 / (1 + d) for d in state["steps"]]))


def test_adaptive_stepper_gives_up_with_checkpoint():
    saved = []
    with pytest.raises(SolveDivergedError, match="checkpoint.npz"):
        run_adaptive(0.0, 1.0, StepControl(dt0=0.1, dt_min=1e-3, dt_max=1.0, max_cutbacks=3),
                     advance=lambda t, dt: False, accept=lambda t: None, reject=lambda: None,
                     checkpoint=lambda t: saved.append(t) or "checkpoint.npz")
    assert saved == [0.0]
