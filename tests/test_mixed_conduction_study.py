"""Study mixed_conduction (MIEC graphite interlayer on charge): the trends DESIGN.md section 1 and
issue 5 ask for, on a coarse mesh, plus the chaining from li_extrusion and input errors."""

import csv
import json
from pathlib import Path

from mpi4py import MPI

import numpy as np
import pytest
from ssbx.studies.config import ConfigError
from ssbx.studies.mixed_conduction import arc_position, fill_from_extrusion
from ssbx.studies.runner import prepare, run_case

UM = 1e-6


def test_arc_position_on_a_polyline():
    line = np.array([[0.0, 0.0], [0.0, 2.0], [1.0, 2.0]])
    pts = np.array([[0.1, 1.0, 0.0], [0.5, 2.2, 0.0], [2.0, 2.0, 0.0]])
    dist, arc = arc_position(pts, line)
    assert np.allclose(dist, [0.1, 0.2, 1.0])
    assert np.allclose(arc, [1.0, 2.5, 3.0])


@pytest.mark.serial
def test_fill_from_li_extrusion_table(tmp_path):
    rows = [{"shape": "tortuous", "pore_diameter": 1.5e-6, "pressure": p, "depth": 0.0, "advance": a, "filled": False}
            for p, a in ((100e6, 3e-6), (300e6, 18e-6))]
    rows.append({"shape": "straight", "pore_diameter": 1.5e-6, "pressure": 300e6, "depth": 0, "advance": 24e-6,
                 "filled": True})
    with (tmp_path / "depth_after_hold.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    assert fill_from_extrusion(tmp_path, 1.5e-6, 200e6, "tortuous") == pytest.approx(10.5e-6)
    assert fill_from_extrusion(tmp_path, 1.5e-6, 300e6, "straight") == pytest.approx(24e-6)
    with pytest.raises(ValueError, match="pore_fill_from: no tortuous pore of 3e-06"):
        fill_from_extrusion(tmp_path, 3e-6, 200e6, "tortuous")
    with pytest.raises(ValueError, match="pore_fill_pressure"):
        fill_from_extrusion(tmp_path, 1.5e-6, 400e6, "tortuous")
    with pytest.raises(ValueError, match="pore_fill_from: .* not found"):
        fill_from_extrusion(tmp_path / "nowhere", 1.5e-6, 200e6, "tortuous")


@pytest.mark.serial
def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="section_width"):
        prepare({"study": "mixed_conduction", "section_width": "30 um"})
    with pytest.raises(ConfigError, match="snapshot_times"):
        prepare({"study": "mixed_conduction", "charge_time": "10 min", "snapshot_times": ["20 min"]})
    with pytest.raises(ConfigError, match="initial_fraction"):
        prepare({"study": "mixed_conduction", "initial_fraction": 1.2})
    with pytest.raises(ConfigError, match="current_density"):
        prepare({"study": "mixed_conduction", "current_density": "0.2 mA"})


@pytest.fixture(scope="module")
def coarse_run(tmp_path_factory):
    root = Path(MPI.COMM_WORLD.bcast(str(tmp_path_factory.mktemp("mc")), root=0))
    case = prepare({"study": "mixed_conduction", "mesh_size": "0.75 um", "rest_time": "6 h",
                    "charge_time": "30 min", "snapshot_times": ["2 min", "10 min", "30 min"], "figure": False})
    result = run_case(case, MPI.COMM_WORLD, root)
    with (result.path / "history.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    return json.loads((result.path / "manifest.json").read_text())["results"], rows, result.path


def test_interface_plating_takes_over_within_minutes(coarse_run):
    """Intercalation first; the graphite next to the SE fills, the Li+ it cannot take pays more
    than the barrier to go deeper, Li0 nucleates at the interlayer/SE interface and carries most
    of the current within minutes; plating on pore Li0 grows too."""
    res, rows, _ = coarse_run
    charge = [r for r in rows if r["phase"] == "charge"]
    assert float(charge[0]["share_intercalation"]) > 0.95
    assert res["interface_nucleation_s"] is not None and res["interface_nucleation_s"] < 20 * 60
    assert res["plating_overtakes_intercalation_s"] < 20 * 60
    assert res["final_share_nucleation_interface"] > 0.5
    assert res["final_share_plating_pores"] > 0.005
    for r in charge:  # attributed shares add up (both runs conserve charge)
        total = sum(float(r[f"share_{k}"]) for k in ("intercalation", "plating_pores", "plating_foil",
                                                     "nucleation_interface"))
        assert total == pytest.approx(1.0, abs=1e-6)
    assert res["max_charge_balance_rel"] < 1e-8


def test_intercalation_zone_shrinks_to_a_few_um(coarse_run):
    res, _, _ = coarse_run
    assert res["zone_thickness_start_um"] > 20.0
    assert res["zone_thickness_10min_um"] < 5.0


def test_pore_wall_plating_grows_toward_the_tip_and_spreads(coarse_run):
    res, _, path = coarse_run
    assert res["wall_tip_share_1800s"] > 0.8  # most of it on the half of the column nearer the tip
    assert res["wall_active_length_1800s_um"] > res["wall_active_length_120s_um"]
    with (path / "wall_current.csv").open() as fh:
        walls = list(csv.DictReader(fh))
    late = sum(float(r["plating_attributed"]) for r in walls if float(r["charge_time"]) == 1800)
    early = sum(float(r["plating_attributed"]) for r in walls if float(r["charge_time"]) == 120)
    assert late > early > 0


def test_li_content_is_highest_on_the_li_side_after_rest(coarse_run):
    _, rows, path = coarse_run
    rest = [r for r in rows if r["phase"] == "rest"][-1]
    x = [float(rest[f"x_section{k}"]) for k in range(5)]
    assert all(b >= a for a, b in zip(x, x[1:], strict=False))  # section 0 is next to the SE
    assert (path / "fields.pvd").is_file() and (path / "sections.csv").is_file()
