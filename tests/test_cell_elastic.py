"""cell_elastic against closed forms for the stack shortening.

Closed forms (layer i of thickness t_i, Young's modulus E_i, Poisson ratio nu_i, stack pressure p):
* laterally free layers (uniaxial stress): delta = sum_i t_i p / E_i;
* laterally confined layers (uniaxial strain, rigid frictionless die):
  delta = sum_i t_i p / M_i with M_i = E_i (1 - nu_i) / ((1 + nu_i)(1 - 2 nu_i)).
The confined field is linear in each layer, so P2 reproduces it to round-off; the free field is
exact only when no lateral mismatch exists between bonded layers (nu = 0). An elastic tube must
give a shortening between the two bounds (a statically admissible uniaxial stress field bounds
the compliance from above, the fully constrained field from below).
"""

from mpi4py import MPI

import pytest
from ssbx.studies.runner import prepare, run_case

COARSE = {"mesh.size_max": "1.5 mm", "mesh.cells_across": "1", "figure": "false"}


def run(tmp, comm=MPI.COMM_WORLD, **overrides):
    raw = {"study": "cell_elastic", "case": "t"}
    case = prepare(raw, {**COARSE, **overrides})
    res = run_case(case, comm, tmp)
    assert res.status == "complete", res.error
    return res.results


def test_rigid_die_gives_confined_limit(shared_tmp_path):
    r = run(shared_tmp_path, tube_wall="rigid")
    assert r["rod_displacement_m"] == pytest.approx(r["shortening_confined_m"], rel=1e-9)
    assert r["reaction_pressure_Pa"] == pytest.approx(10e6, rel=1e-9)


def test_free_layers_without_tube_and_poisson_mismatch(shared_tmp_path, monkeypatch):
    raw = {"study": "cell_elastic", "case": "free", "tube_wall": "none",
           "materials": {role: {"name": name, "poisson_ratio": 0.0} for role, name in
                         [("rods", "ss316"), ("li", "li"), ("se", "li6ps5cl"), ("cathode", "nmc811_composite")]}}
    res = run_case(prepare(raw, COARSE), MPI.COMM_WORLD, shared_tmp_path)
    r = res.results
    assert r["rod_displacement_m"] == pytest.approx(r["shortening_free_layers_m"], rel=1e-9)


def test_elastic_tube_between_bounds_and_linear_in_pressure(shared_tmp_path):
    r10 = run(shared_tmp_path, stack_pressure="10 MPa")
    r5 = run(shared_tmp_path, stack_pressure="5 MPa")
    d = -r10["rod_displacement_m"]
    assert -r10["shortening_confined_m"] < d < -r10["shortening_free_layers_m"]
    # boundary stress of a P2 field: equilibrium holds weakly, the face integral to O(h^2)
    assert r10["reaction_pressure_Pa"] == pytest.approx(10e6, rel=1e-5)
    assert r10["rod_displacement_m"] == pytest.approx(2 * r5["rod_displacement_m"], rel=1e-10)
    assert r10["tube_outer_radial_displacement_m"] > 0  # the stack pushes the tube out


def test_outputs_written(shared_tmp_path):
    raw = {"study": "cell_elastic", "case": "out"}
    res = run_case(prepare(raw, {**COARSE, "figure": "true"}), MPI.COMM_WORLD, shared_tmp_path)
    assert res.status == "complete"
    d = res.path
    for f in ("manifest.json", "layers.csv", "fields.bp", "fields.pvd", "cell.png"):
        assert (d / f).exists(), f
    if MPI.COMM_WORLD.rank == 0:  # what a user does: open the fields in pyvista
        import pyvista as pv

        grid = pv.read(d / "fields.pvd")
        grid = grid.combine() if isinstance(grid, pv.MultiBlock) else grid
        owned = grid.extract_cells(grid.cell_data["vtkGhostType"] == 0) if "vtkGhostType" in grid.cell_data else grid
        assert {"displacement", "von_mises", "stress_zz", "body"} <= set(owned.array_names)
        assert owned["von_mises"].max() > 1e6
    assert not d.with_name(d.name + ".partial").exists()


@pytest.mark.mpi
def test_parity_world_vs_self(shared_tmp_path):
    """Same rod displacement on COMM_WORLD (2 ranks) as on one rank, to 1e-8 relative."""
    a = run(shared_tmp_path / "world")
    b = run(shared_tmp_path / f"self{MPI.COMM_WORLD.rank}", comm=MPI.COMM_SELF)
    assert a["rod_displacement_m"] == pytest.approx(b["rod_displacement_m"], rel=1e-8)
    assert a["tube_outer_radial_displacement_m"] == pytest.approx(b["tube_outer_radial_displacement_m"], rel=1e-8)
