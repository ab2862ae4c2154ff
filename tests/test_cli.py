"""The `ssbx` command line, run as users run it: in subprocesses, serial and under mpiexec."""

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "studies" / "configs" / "cell_elastic.toml"
COARSE = ["--set", "mesh.size_max=1.5mm", "--set", "mesh.cells_across=1", "--set", "figure=false"]

pytestmark = pytest.mark.serial  # each test launches its own MPI jobs


def ssbx(*args, ranks=1, cwd=None):
    cmd = [str(BIN / "ssbx"), *args]
    if ranks > 1:
        cmd = [str(BIN / "mpiexec"), "-n", str(ranks), *cmd]
    env = {**os.environ, "PYVISTA_OFF_SCREEN": "true"}
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def manifest(path):
    return json.loads((path / "manifest.json").read_text())


def test_run_serial_and_two_ranks_agree(tmp_path):
    p1 = ssbx("run", str(CONFIG), *COARSE, "--case", "one", "--out", str(tmp_path))
    assert p1.returncode == 0, p1.stderr
    p2 = ssbx("run", str(CONFIG), *COARSE, "--case", "two", "--out", str(tmp_path), ranks=2)
    assert p2.returncode == 0, p2.stderr
    m1, m2 = manifest(tmp_path / "cell_elastic" / "one"), manifest(tmp_path / "cell_elastic" / "two")
    assert m1["mpi_ranks"] == 1 and m2["mpi_ranks"] == 2
    assert m1["status"] == m2["status"] == "complete"
    u1, u2 = m1["results"]["rod_displacement_m"], m2["results"]["rod_displacement_m"]
    assert abs(u1 - u2) <= 1e-8 * abs(u1)
    assert m1["config_si"]["stack_pressure"] == 10e6  # resolved in SI


def test_sweep_two_cases_at_once_scales_linearly(tmp_path):
    p = ssbx("sweep", str(CONFIG), "--set", "stack_pressure=5MPa,10MPa", "--ranks-per-case", "1",
             "--fix", "mesh.size_max=1.5mm", "--fix", "figure=false", "--out", str(tmp_path), ranks=2)
    assert p.returncode == 0, p.stderr
    summary = tmp_path / "cell_elastic" / "default-sweep" / "summary.csv"
    rows = list(csv.DictReader(summary.open()))
    assert [r["status"] for r in rows] == ["complete", "complete"]
    u = {r["stack_pressure"]: float(r["rod_displacement_m"]) for r in rows}
    assert u["10MPa"] == pytest.approx(2 * u["5MPa"], rel=1e-10)
    # the two cases ran concurrently on separate one-rank communicators
    for r in rows:
        assert manifest(Path(r["path"]))["mpi_ranks"] == 1


def test_sweep_isolates_a_failing_case(tmp_path):
    # a penalty of 1e300 overflows the stiffness: that case fails, the other completes
    p = ssbx("sweep", str(CONFIG), "--set", "penalty=1000,1e300", "--fix", "mesh.size_max=1.5mm",
             "--fix", "figure=false", "--out", str(tmp_path), ranks=2)
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader((tmp_path / "cell_elastic" / "default-sweep" / "summary.csv").open()))
    status = {r["penalty"]: r["status"] for r in rows}
    assert status == {"1000": "complete", "1e300": "failed"}
    failed = [r for r in rows if r["status"] == "failed"][0]
    assert failed["error"] and failed["path"].endswith(".failed")
    # resubmitted with --skip-complete: the complete case is kept as it was, the failed one runs again
    done = Path([r for r in rows if r["status"] == "complete"][0]["path"])
    started = manifest(done)["started"]
    p = ssbx("sweep", str(CONFIG), "--set", "penalty=1000,1e300", "--fix", "mesh.size_max=1.5mm",
             "--fix", "figure=false", "--out", str(tmp_path), "--skip-complete", ranks=2)
    assert p.returncode == 0, p.stderr
    again = list(csv.DictReader((tmp_path / "cell_elastic" / "default-sweep" / "summary.csv").open()))
    assert {r["penalty"]: r["status"] for r in again} == status
    assert manifest(done)["started"] == started and "kept the complete case" in p.stderr
    kept = [r for r in again if r["status"] == "complete"][0]
    assert float(kept["rod_displacement_m"]) == float([r for r in rows if r["status"] == "complete"][0][
        "rod_displacement_m"])


@pytest.mark.parametrize("override, field", [
    ("geometry.li_thickness=-250um", "geometry.li_thickness"),
    ("materials.se=unobtainium", "materials.se"),
    ("stack_pressure=10um", "stack_pressure"),
    ("geometry.li_thicknes=1um", "geometry.li_thicknes"),
])
def test_bad_input_exits_nonzero_naming_field_and_leaves_nothing(tmp_path, override, field):
    p = ssbx("run", str(CONFIG), "--set", override, "--out", str(tmp_path))
    assert p.returncode == 2
    assert field in p.stderr
    assert not (tmp_path / "cell_elastic").exists()


def test_bad_config_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(CONFIG.read_text().replace('li_thickness = "250 um"', 'li_thickness = "-250 um"'))
    p = ssbx("run", str(bad), "--out", str(tmp_path))
    assert p.returncode == 2 and "geometry.li_thickness" in p.stderr
    bad.write_text(CONFIG.read_text().replace('li = "li"', 'li = "sodium"'))
    p = ssbx("run", str(bad), "--out", str(tmp_path))
    assert p.returncode == 2 and "materials.li" in p.stderr and "sodium" in p.stderr
    assert not (tmp_path / "cell_elastic").exists()


def test_list_and_info():
    p = ssbx("list")
    assert p.returncode == 0 and "cell_elastic" in p.stdout
    p = ssbx("info")
    assert p.returncode == 0 and "dolfinx" in p.stdout and "mumps" in p.stdout


@pytest.mark.serial
def test_exception_on_one_rank_aborts_instead_of_hanging(tmp_path):
    """DESIGN.md section 4: a run that fails on one rank fails on all. Rank 1 raises while rank 0
    waits in a collective that will never complete; fail_together aborts within its timeout."""
    script = tmp_path / "one_rank_fails.py"
    script.write_text(
        "import ssbx\n"
        "from mpi4py import MPI\n"
        "from ssbx.studies.runner import fail_together\n"
        "comm = MPI.COMM_WORLD\n"
        "with fail_together(comm, timeout=2.0):\n"
        "    if comm.rank == 1:\n"
        "        raise OSError('disk full on rank 1')\n"
        "    comm.bcast(None, root=1)\n"
    )
    t0 = time.monotonic()
    out = subprocess.run([str(BIN / "mpiexec"), "-n", "2", str(BIN / "python"), str(script)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode != 0
    assert time.monotonic() - t0 < 60
    assert "failed alone" in out.stderr and "disk full on rank 1" in out.stderr


def test_sweep_case_names_hold_only_what_varies():
    """Keys set to one value do not enter the folder name, and list values become safe names."""
    from ssbx.studies.sweep import case_name

    assert case_name("default", {"stack_pressure": "5 MPa"}) == "stack_pressure=5MPa"
    assert case_name("default", {"snapshot_times": '["1 s", "2 s"]'}) == "snapshot_times=1s___2s"
    assert case_name("default", {}) == "default"
