"""The experimental-cell builder: named groups, analytic volumes, parity across ranks, bad input."""

from mpi4py import MPI

import numpy as np
import pytest
from ssbx.geometries import (
    BODY_ORDER,
    CellDimensions,
    CellMeshing,
    GeometryError,
    MissingGroupError,
    build_cell,
    disc_thickness,
    group_measure,
    group_volume,
)

COARSE = CellMeshing(size_max=1.5e-3, cells_across=1, transition=2e-3)


@pytest.fixture(scope="module")
def cell_with_interlayer():
    dims = CellDimensions(interlayer_thickness=25e-6, rod_clearance=50e-6)
    return dims, build_cell(MPI.COMM_WORLD, dims, COARSE)


def test_pellet_thickness_from_mass():
    # 60 mg at 83 % of 1.64 g/cm3 in a 1/4 in bore: 60e-6 / (0.83 * 1640 * pi * 3.175e-3^2)
    assert disc_thickness(60e-6, 1640.0, 0.83, 3.175e-3) == pytest.approx(1.3918e-3, rel=1e-4)
    assert CellDimensions().se_thickness == pytest.approx(1.3918e-3, rel=1e-4)


def test_volumes_match_analytic(cell_with_interlayer):
    dims, tm = cell_with_interlayer
    assert set(tm.cell_groups) == set(BODY_ORDER)
    for body in BODY_ORDER:
        assert group_volume(tm, body) == pytest.approx(dims.analytic_volume(body), rel=1e-10), body


def test_interfaces_and_boundaries(cell_with_interlayer):
    dims, tm = cell_with_interlayer
    tm.require(facets=["axis", "rod_top_top", "rod_bottom_bottom", "li_interlayer_interface",
                       "interlayer_se_interface", "se_cathode_interface", "li_ptfe_interface",
                       "se_ptfe_interface", "ptfe_outer", "ptfe_inner", "rod_top_outer"])
    # rods thinner than the bore: no rod-tube contact, and Li's lower face is partly exposed
    assert "rod_bottom_ptfe_interface" not in tm.facet_groups
    a_bore = np.pi * dims.tube_inner_radius**2
    assert group_measure(tm, "li_interlayer_interface") == pytest.approx(a_bore, rel=1e-10)
    assert group_measure(tm, "rod_bottom_li_interface") == pytest.approx(np.pi * dims.rod_radius**2, rel=1e-10)
    assert group_measure(tm, "li_bottom") == pytest.approx(a_bore - np.pi * dims.rod_radius**2, rel=1e-8)
    with pytest.raises(MissingGroupError, match="facet group 'nonexistent'"):
        tm.require(facets=["nonexistent"])


def test_thin_layers_resolved_without_refining_everything(cell_with_interlayer):
    dims, tm = cell_with_interlayer
    ncells = tm.comm.allreduce(tm.mesh.topology.index_map(2).size_local, op=MPI.SUM)
    # a 25 um layer across a 3.2 mm radius, but the 2 cm cell stays coarse
    assert ncells < 20_000
    hl = tm.mesh.h(tm.mesh.topology.dim, tm.cells("interlayer"))
    hmax = tm.comm.allreduce(hl.max() if len(hl) else 0.0, op=MPI.MAX)
    assert hmax <= 2.5 * dims.interlayer_thickness


@pytest.mark.parametrize("field, value", [("li_thickness", -1e-6), ("se_thickness", 0.0),
                                          ("rod_clearance", -1e-6), ("tube_outer_radius", 1e-3)])
def test_invalid_dimensions_name_the_parameter(field, value):
    with pytest.raises(GeometryError, match=field):
        CellDimensions(**{field: value})


@pytest.mark.serial
def test_3d_cell_volumes():
    dims = CellDimensions(li_thickness=0.5e-3, rod_length=2e-3, rod_protrusion=0.5e-3,
                          se_thickness=1e-3, cathode_thickness=0.5e-3)
    tm = build_cell(MPI.COMM_SELF, dims, CellMeshing(size_max=1e-3, cells_across=1, transition=1e-3), kind="3d")
    assert tm.kind == "3d" and tm.mesh.topology.dim == 3
    for body in ("li", "se", "cathode", "rod_top", "ptfe"):
        # curved walls are faceted: volumes converge as O(h^2)
        assert group_volume(tm, body) == pytest.approx(dims.analytic_volume(body), rel=0.03), body
    tm.require(facets=["li_se_interface", "se_ptfe_interface", "rod_top_top", "ptfe_outer"])


@pytest.mark.mpi
def test_same_totals_on_one_and_two_ranks():
    dims = CellDimensions(interlayer_thickness=25e-6)
    world = build_cell(MPI.COMM_WORLD, dims, COARSE)
    local = build_cell(MPI.COMM_SELF, dims, COARSE)
    for body in world.cell_groups:
        assert group_volume(world, body) == pytest.approx(group_volume(local, body), rel=1e-12)
    for f in world.facet_groups:
        assert group_measure(world, f) == pytest.approx(group_measure(local, f), rel=1e-12, abs=1e-18)
